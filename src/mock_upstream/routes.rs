//! The mock's HTTP surface: the batch endpoint with its faults, and the `/__mock/*` controls.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    ActiveFault, Fault, FaultScope, InFlight, MockState, MockStats, RequestKind, TOKEN_PATH,
    dataset::MockCustomer, identity,
};
use crate::upstream::BATCH_PATH;

/// The `services/batch` endpoint, the token endpoint and the controls, for the state the
/// caller gives.
pub(super) fn router() -> Router<Arc<MockState>> {
    Router::new()
        .route(BATCH_PATH, post(batch))
        .route(TOKEN_PATH, post(identity::token))
        .route("/__mock/stats", get(stats))
        .route("/__mock/fault", get(current_fault).put(set_fault))
        .route("/__mock/customers/{id}/organization", put(rename))
}

/// `PUT /__mock/customers/{id}/organization` with the new name as the body.
async fn rename(
    State(state): State<Arc<MockState>>,
    Path(id): Path<String>,
    organization: String,
) -> StatusCode {
    state.rename(&id, &organization);
    StatusCode::NO_CONTENT
}

async fn stats(State(state): State<Arc<MockState>>) -> Json<MockStats> {
    Json(state.stats())
}

async fn current_fault(State(state): State<Arc<MockState>>) -> Json<Fault> {
    Json(
        state
            .fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fault
            .clone(),
    )
}

/// `PUT /__mock/fault[?only=listing|ids|later_pages][&times=N]` with a [`Fault`] as the body.
#[derive(Debug, Deserialize)]
struct FaultParams {
    #[serde(default)]
    only: FaultScope,
    times: Option<u64>,
}

async fn set_fault(
    State(state): State<Arc<MockState>>,
    Query(params): Query<FaultParams>,
    Json(fault): Json<Fault>,
) -> StatusCode {
    *state.fault.lock().unwrap_or_else(|p| p.into_inner()) = ActiveFault {
        fault,
        scope: params.only,
        remaining: params.times.filter(|times| *times > 0),
    };
    StatusCode::NO_CONTENT
}

/// The body forms the upstream accepts: `{}`, `{"customerIds": [...]}` and the older
/// `{"customerId": "..."}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selection {
    customer_ids: Option<Vec<String>>,
    customer_id: Option<String>,
}

/// The mock's error answer: `status`, and `{"error": message}`.
pub(super) fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn batch(
    State(state): State<Arc<MockState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(&state);
    let latency = state.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if !authorized(&state, &headers) {
        return problem(StatusCode::UNAUTHORIZED, "invalid or missing bearer token");
    }
    let number = |name: &str, default: u64| match params.get(name) {
        None => Some(default),
        Some(text) => text.parse::<u64>().ok().filter(|value| *value >= 1),
    };
    let (Some(page_index), Some(page_size)) = (number("pageIndex", 1), number("pageSize", 50))
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "pageIndex and pageSize must be whole numbers from 1",
        );
    };
    let selection: Selection = if body.iter().all(u8::is_ascii_whitespace) {
        Selection::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(selection) => selection,
            Err(_) => return problem(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
        }
    };
    let wanted: Option<HashSet<String>> = match (selection.customer_ids, selection.customer_id) {
        (Some(ids), _) => Some(ids.into_iter().collect()),
        (None, Some(id)) => Some(HashSet::from([id])),
        (None, None) => None,
    };
    let fault = state.fault.lock().unwrap_or_else(|p| p.into_inner()).take(
        if wanted.is_none() {
            RequestKind::Listing
        } else {
            RequestKind::Ids
        },
        page_index,
    );
    if let Some(injected) = injected(fault) {
        return injected;
    }
    let chosen: Vec<&MockCustomer> = match &wanted {
        None => {
            state.listing_requests.fetch_add(1, Ordering::SeqCst);
            state.customers.iter().collect()
        }
        Some(ids) => {
            state.id_requests.fetch_add(1, Ordering::SeqCst);
            let mut positions: Vec<usize> = ids
                .iter()
                .filter_map(|id| state.positions.get(id).copied())
                .collect();
            positions.sort_unstable();
            positions.iter().map(|&p| &state.customers[p]).collect()
        }
    };
    if wanted.is_some() && chosen.is_empty() && state.missing_ids_as_404.load(Ordering::SeqCst) {
        return problem(StatusCode::NOT_FOUND, "no such customer");
    }
    let renamed = state
        .renamed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if renamed.is_empty() {
        return page(&state, &chosen, page_index, page_size);
    }
    let changed: Vec<MockCustomer> = chosen
        .into_iter()
        .map(|customer| {
            let mut customer = customer.clone();
            if let Some(organization) = renamed.get(&customer.customer_id) {
                customer.organization.clone_from(organization);
            }
            customer
        })
        .collect();
    page(&state, &changed, page_index, page_size)
}

/// Records the caller's `Authorization` and says whether it holds a token this mock accepts.
pub(super) fn authorized(state: &MockState, headers: &HeaderMap) -> bool {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !authorization.is_empty() {
        state
            .authorizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(authorization.to_owned());
    }
    authorization
        .strip_prefix("Bearer ")
        .is_some_and(|token| token == state.token || state.identity.accepts(token))
}

/// The answer a fault injects instead of a page, if it does.
pub(super) fn injected(fault: Fault) -> Option<Response> {
    let response = match fault {
        Fault::None => return None,
        Fault::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            problem(status, "injected server error")
        }
        Fault::RateLimited { retry_after_secs } => {
            let mut response = problem(StatusCode::TOO_MANY_REQUESTS, "too many requests");
            if let Some(seconds) = retry_after_secs {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
            }
            response
        }
        Fault::InvalidJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"data\": [{\"customerId\": ",
        )
            .into_response(),
        Fault::WrongShape => {
            Json(json!({ "items": [], "paging": { "total": "many" } })).into_response()
        }
        Fault::Unauthorized => problem(StatusCode::UNAUTHORIZED, "token refused"),
    };
    Some(response)
}

/// Page `page_index` of `chosen`, at most `page_size` long (and the mock's cap), overlapping
/// the previous page by one when the mock shifts its pages.
pub(super) fn page<T: serde::Serialize>(
    state: &MockState,
    chosen: &[T],
    page_index: u64,
    page_size: u64,
) -> Response {
    let size = page_size.min(state.page_cap);
    let stride = if state.duplicate_across_pages.load(Ordering::SeqCst) && size > 1 {
        size - 1
    } else {
        size
    };
    let start = ((page_index - 1).saturating_mul(stride)).min(chosen.len() as u64) as usize;
    let end = (start + size as usize).min(chosen.len());
    Json(json!({
        "data": &chosen[start..end],
        "metadata": {
            "pageIndex": page_index,
            "pageSize": size,
            "totalCount": chosen.len(),
        }
    }))
    .into_response()
}
