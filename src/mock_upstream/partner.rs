//! The rest of the partner API the mock serves: `customers/batch`, a customer's backup jobs,
//! its tenants' seats (the current paged path and the older bare-list one) and its Microsoft
//! 365 backup overview, over the data of [`super::partner_data`]. Each endpoint takes the
//! mock's token, latency and faults (by its own [`FaultScope`](super::FaultScope) too), and
//! answers 403 while its permission is denied ([`MockUpstream::deny`]).

// A handler's refusal is the answer itself, so `Result<_, Response>` is the natural shape.
#![allow(clippy::result_large_err)]

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::Deserialize;

use super::{
    InFlight, MockState, MockUpstream, RequestKind,
    dataset::MockCustomer,
    partner_data,
    routes::{authorized, injected, page, problem},
};

/// Where the partner endpoints live below the base URL.
pub const GENERAL: &str = "/partner/external/v3/general";

/// What the partner endpoints have been asked.
#[derive(Debug, Default)]
pub(super) struct PartnerLog {
    /// Requests by kind.
    requests: Mutex<HashMap<&'static str, u64>>,
    /// Every customer id a request named (in its path or its `customerIds`), in order.
    customers: Mutex<Vec<String>>,
    /// Permissions the app registration is denied.
    denied: Mutex<HashSet<String>>,
    /// The seats path answers in the older documents' form (a bare list).
    bare_seats: AtomicBool,
}

impl PartnerLog {
    /// The permissions denied, to read or change.
    fn denied(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.denied.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The permission each kind of request needs.
fn permission(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Details => "elements.customers.read.all",
        RequestKind::Jobs => "elements.jobs.read.all",
        RequestKind::Coverage => "elements.cbprotected.read.all",
        _ => "elements.license.read.all",
    }
}

fn name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Details => "details",
        RequestKind::Jobs => "jobs",
        RequestKind::Seats => "seats",
        RequestKind::Coverage => "coverage",
        RequestKind::Listing => "listing",
        RequestKind::Ids => "ids",
    }
}

/// The partner endpoints beside `services/batch`, each at its documented path and method.
pub(super) fn routes() -> Router<Arc<MockState>> {
    Router::new()
        .route(&format!("{GENERAL}/customers/batch"), post(details))
        .route(
            &format!("{GENERAL}/customers/{{id}}/avpt-products/jobs/batch"),
            post(jobs),
        )
        .route(
            &format!(
                "{GENERAL}/customers/{{id}}/3rd-party-products/type/{{platform}}/tenants/batch"
            ),
            post(seats_paged),
        )
        .route(
            &format!("{GENERAL}/customers/{{id}}/3rd-party-products/type/{{platform}}/users"),
            post(seats_bare),
        )
        .route(
            &format!("{GENERAL}/customers/{{id}}/cloud-backup-m365/overview"),
            get(coverage),
        )
        .route("/__mock/denied", put(set_denied))
}

/// `PUT /__mock/denied` with a JSON list of permissions: the ones the app lacks from now on.
async fn set_denied(
    State(state): State<Arc<MockState>>,
    Json(denied): Json<Vec<String>>,
) -> StatusCode {
    *state
        .partner
        .denied
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = denied.into_iter().collect();
    StatusCode::NO_CONTENT
}

/// `pageIndex` and `pageSize` as asked (1 and 50 when not given).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    #[serde(default = "first")]
    page_index: u64,
    #[serde(default = "fifty")]
    page_size: u64,
}

fn first() -> u64 {
    1
}

fn fifty() -> u64 {
    50
}

/// What every partner request goes through before its answer: counting, latency, the token,
/// the permission and faults. `Err` is the answer instead.
async fn admit(
    state: &MockState,
    kind: RequestKind,
    headers: &HeaderMap,
    paging: &Paging,
    customers: &[&str],
) -> Result<(), Response> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let log = &state.partner;
    *log.requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(name(kind))
        .or_default() += 1;
    log.customers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(customers.iter().map(|id| (*id).to_owned()));
    let latency = state.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if !authorized(state, headers) {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "invalid or missing bearer token",
        ));
    }
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if log.denied().contains(permission(kind)) || state.identity.lacks(token, permission(kind)) {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "the app lacks the permission",
        ));
    }
    if paging.page_index == 0 || paging.page_size == 0 {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "pageIndex and pageSize start at 1",
        ));
    }
    let fault = state
        .fault
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take(kind, paging.page_index);
    injected(fault).map_or(Ok(()), Err)
}

/// The customer of a per-customer path; 404 for one the mock does not know.
fn customer<'a>(state: &'a MockState, id: &str) -> Result<&'a MockCustomer, Response> {
    state
        .positions
        .get(id)
        .map(|&position| &state.customers[position])
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no such customer"))
}

/// `customers/batch`'s body: `{}` or `{"customerIds": [...]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chosen {
    customer_ids: Option<Vec<String>>,
}

async fn details(
    State(state): State<Arc<MockState>>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    let chosen: Chosen = if body.iter().all(u8::is_ascii_whitespace) {
        Chosen::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(chosen) => chosen,
            Err(_) => return problem(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
        }
    };
    let named: Vec<&str> = chosen
        .customer_ids
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if let Err(refused) = admit(&state, RequestKind::Details, &headers, &paging, &named).await {
        return refused;
    }
    let wanted: Option<HashSet<&str>> = chosen
        .customer_ids
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let records: Vec<Details<'_>> = state
        .customers
        .iter()
        .filter(|customer| {
            wanted
                .as_ref()
                .is_none_or(|wanted| wanted.contains(customer.customer_id.as_str()))
        })
        .map(Details)
        .collect();
    page(&state, &records, paging.page_index, paging.page_size)
}

/// A customer's `customers/batch` record, made when it is written: a page serialises only
/// its own customers' records, not the whole listing's.
struct Details<'a>(&'a MockCustomer);

impl serde::Serialize for Details<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        partner_data::details(self.0).serialize(serializer)
    }
}

/// A jobs request's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobFilter {
    job_type: Option<i64>,
    job_module: Option<i64>,
}

async fn jobs(
    State(state): State<Arc<MockState>>,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    if let Err(refused) = admit(&state, RequestKind::Jobs, &headers, &paging, &[&id]).await {
        return refused;
    }
    let customer = match customer(&state, &id) {
        Ok(customer) => customer,
        Err(missing) => return missing,
    };
    let filter: JobFilter = serde_json::from_slice(&body).unwrap_or_default();
    let matches = |value: &Option<Box<str>>, wanted: Option<i64>| {
        wanted.is_none_or(|wanted| value.as_deref() == Some(wanted.to_string().as_str()))
    };
    let records: Vec<_> = partner_data::jobs(customer)
        .into_iter()
        .filter(|job| {
            matches(&job.job_type, filter.job_type) && matches(&job.job_module, filter.job_module)
        })
        .collect();
    page(&state, &records, paging.page_index, paging.page_size)
}

/// The seats of a per-customer path, or the answer instead.
async fn seats(
    state: &MockState,
    id: &str,
    platform: u8,
    paging: &Paging,
    headers: &HeaderMap,
) -> Result<Vec<crate::domain::partner::RawSeats>, Response> {
    admit(state, RequestKind::Seats, headers, paging, &[id]).await?;
    if platform > 3 {
        return Err(problem(StatusCode::BAD_REQUEST, "type is 0 to 3"));
    }
    Ok(partner_data::seats(customer(state, id)?, platform))
}

async fn seats_paged(
    State(state): State<Arc<MockState>>,
    Path((id, platform)): Path<(String, u8)>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    match seats(&state, &id, platform, &paging, &headers).await {
        Ok(records) if state.partner.bare_seats.load(Ordering::Relaxed) => bare(&records),
        Ok(records) => page(&state, &records, paging.page_index, paging.page_size),
        Err(refused) => refused,
    }
}

/// The older documents' form: a bare JSON list, with `tenantId` and `tenantName`.
async fn seats_bare(
    State(state): State<Arc<MockState>>,
    Path((id, platform)): Path<(String, u8)>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    match seats(&state, &id, platform, &paging, &headers).await {
        Ok(records) => bare(&records),
        Err(refused) => refused,
    }
}

/// Seats in the older documents' form: a bare JSON list, with `tenantId` and `tenantName`.
fn bare(records: &[crate::domain::partner::RawSeats]) -> Response {
    let renamed: Vec<_> = records
        .iter()
        .map(|seat| {
            serde_json::json!({
                "tenantId": seat.id,
                "tenantName": seat.name,
                "availableUserSeat": seat.available_user_seat,
                "assignedUserSeat": seat.assigned_user_seat,
            })
        })
        .collect();
    Json(renamed).into_response()
}

async fn coverage(
    State(state): State<Arc<MockState>>,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    let _in_flight = InFlight::enter(&state);
    if let Err(refused) = admit(&state, RequestKind::Coverage, &headers, &paging, &[&id]).await {
        return refused;
    }
    match customer(&state, &id) {
        Ok(customer) => page(
            &state,
            &partner_data::coverage(customer),
            paging.page_index,
            paging.page_size,
        ),
        Err(missing) => missing,
    }
}

impl MockUpstream {
    /// Answers 403 to every request that needs `permission` (e.g. `elements.jobs.read.all`)
    /// until [`MockUpstream::allow`].
    pub fn deny(&self, permission: &str) {
        self.state.partner.denied().insert(permission.to_owned());
    }

    /// Makes the current seats path answer in the older documents' form (a bare list with
    /// `tenantId` and `tenantName`), as an upstream of that version would.
    pub fn set_bare_seats(&self, on: bool) {
        self.state.partner.bare_seats.store(on, Ordering::Relaxed);
    }

    /// Grants `permission` again.
    pub fn allow(&self, permission: &str) {
        self.state.partner.denied().remove(permission);
    }

    /// Requests to one partner endpoint so far: `details`, `jobs`, `seats` or `coverage`.
    pub fn partner_requests(&self, endpoint: &str) -> u64 {
        self.state
            .partner
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(endpoint)
            .copied()
            .unwrap_or_default()
    }

    /// Every customer id the partner endpoints were asked about, in order.
    pub fn partner_customers_asked(&self) -> Vec<String> {
        self.state
            .partner
            .customers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
