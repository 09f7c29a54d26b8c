//! Reading the rest of the partner API: `customers/batch` (every customer, or chosen ones in
//! batches of [`MAX_IDS_PER_REQUEST`]), and a customer's backup jobs, tenants' seats and
//! Microsoft 365 backup overview. Every page goes through the same stack as the services
//! listing (app token, retries, breaker, the one concurrency budget, capped reads). Page 1
//! says how many pages there are; the rest are asked at once (the budget bounds how many are
//! in flight), at most `GATEWAY_UPSTREAM_MAX_PAGES`, and an item seen twice keeps its first
//! copy. A missing permission is [`UpstreamError::Forbidden`] naming it, a 401 that survived
//! a fresh token included.

use std::{collections::HashSet, time::Instant};

use futures::future;
use serde_json::{Value, json};

use super::{
    Endpoint, MAX_IDS_PER_REQUEST, UpstreamClient,
    stack::{Exchange, PageRequest},
};
use crate::{
    domain::partner::{Platform, RawCoverage, RawCustomerDetails, RawJob, RawSeats},
    upstream::{
        UpstreamError,
        wire::{Page, PartnerItems, PartnerKind, PartnerPage},
    },
};

/// Below the base URL, where the partner endpoints live.
const GENERAL: &str = "/partner/external/v3/general";

/// One read of a partner endpoint: where, with what body, and the permission it needs.
#[derive(Debug, Clone)]
pub(crate) struct PartnerRead {
    pub(crate) kind: PartnerKind,
    pub(crate) path: String,
    /// The JSON body of a POST; `None` reads by GET.
    pub(crate) body: Option<Value>,
    /// How many customer ids the body names (for the log; a 404 is then "none of these").
    pub(crate) ids: Option<usize>,
    pub(crate) permission: &'static str,
}

/// What a jobs read asks for (`jobType`, `jobModule`); all of a customer's jobs when empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct JobFilter {
    /// Only jobs of this service's number.
    pub(crate) job_type: Option<i64>,
    /// Only jobs of this module's number.
    pub(crate) job_module: Option<i64>,
}

impl PartnerKind {
    /// The endpoint's name, for logs and metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Details => "customers",
            Self::Jobs => "jobs",
            Self::Seats => "seats",
            Self::Coverage => "coverage",
        }
    }

    /// The permission the endpoint needs.
    pub(crate) fn permission(self) -> &'static str {
        match self {
            Self::Details => "elements.customers.read.all",
            Self::Jobs => "elements.jobs.read.all",
            Self::Seats => "elements.license.read.all",
            Self::Coverage => "elements.cbprotected.read.all",
        }
    }
}

impl PartnerRead {
    fn new(kind: PartnerKind, path: String, body: Option<Value>, ids: Option<usize>) -> Self {
        Self {
            kind,
            path: format!("{GENERAL}{path}"),
            body,
            ids,
            permission: kind.permission(),
        }
    }
}

/// A customer id as one path segment: anything but unreserved characters escaped, so an id
/// can never reach another path.
fn segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl UpstreamClient {
    /// Every customer's details as the upstream sent them, a customer seen twice kept once.
    pub(crate) async fn all_details(&self) -> Result<Vec<RawCustomerDetails>, UpstreamError> {
        self.details_records(None).await
    }

    /// The records of every customer (`ids` `None`) or of these customers, deduplicated.
    pub(crate) async fn details_records(
        &self,
        ids: Option<&[String]>,
    ) -> Result<Vec<RawCustomerDetails>, UpstreamError> {
        let reads: Vec<PartnerRead> = match ids {
            None => vec![PartnerRead::new(
                PartnerKind::Details,
                "/customers/batch".into(),
                Some(json!({})),
                None,
            )],
            Some(ids) => ids
                .chunks(MAX_IDS_PER_REQUEST)
                .map(|chunk| {
                    PartnerRead::new(
                        PartnerKind::Details,
                        "/customers/batch".into(),
                        Some(json!({ "customerIds": chunk })),
                        Some(chunk.len()),
                    )
                })
                .collect(),
        };
        let mut seen = HashSet::new();
        let mut details = Vec::new();
        for items in future::try_join_all(reads.iter().map(|read| self.read_all(read))).await? {
            let PartnerItems::Details(records) = items else {
                continue;
            };
            details.extend(
                records
                    .into_iter()
                    .filter(|record| seen.insert(record.id.clone())),
            );
        }
        Ok(details)
    }

    /// A customer's backup jobs as the upstream sent them, as `filter` narrows them; a job
    /// seen twice keeps its first copy.
    pub(crate) async fn jobs(
        &self,
        customer: &str,
        filter: JobFilter,
    ) -> Result<Vec<RawJob>, UpstreamError> {
        let mut body = serde_json::Map::new();
        if let Some(job_type) = filter.job_type {
            body.insert("jobType".into(), job_type.into());
        }
        if let Some(job_module) = filter.job_module {
            body.insert("jobModule".into(), job_module.into());
        }
        let path = format!("/customers/{}/avpt-products/jobs/batch", segment(customer));
        let read = PartnerRead::new(PartnerKind::Jobs, path, Some(Value::Object(body)), None);
        let PartnerItems::Jobs(mut records) = self.read_all(&read).await? else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        records.retain(|job| job.job_id.is_none() || seen.insert(job.job_id.clone()));
        Ok(records)
    }

    /// A customer's tenants' seats on `platform` as the upstream sent them (either shape).
    pub(crate) async fn seats(
        &self,
        customer: &str,
        platform: Platform,
    ) -> Result<Vec<RawSeats>, UpstreamError> {
        let path = format!(
            "/customers/{}/3rd-party-products/type/{}/tenants/batch",
            segment(customer),
            platform.code()
        );
        let read = PartnerRead::new(PartnerKind::Seats, path, Some(json!({})), None);
        let PartnerItems::Seats(mut records) = self.read_all(&read).await? else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        records.retain(|seats| seats.id.is_none() || seen.insert(seats.id.clone()));
        Ok(records)
    }

    /// A customer's Microsoft 365 backup overview as the upstream sent it, one record per
    /// protected module.
    pub(crate) async fn coverage(&self, customer: &str) -> Result<Vec<RawCoverage>, UpstreamError> {
        let path = format!(
            "/customers/{}/cloud-backup-m365/overview",
            segment(customer)
        );
        let read = PartnerRead::new(PartnerKind::Coverage, path, None, None);
        let PartnerItems::Coverage(mut records) = self.read_all(&read).await? else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        records.retain(|module| {
            seen.insert((module.tenant_id.clone(), module.service_module.clone()))
        });
        Ok(records)
    }

    /// Every page of `read`, in order, as one list of its records.
    async fn read_all(&self, read: &PartnerRead) -> Result<PartnerItems, UpstreamError> {
        let deadline = Instant::now() + self.deadline;
        let Some(first) = self.partner_page(read, 1, deadline).await? else {
            return Ok(empty(read.kind));
        };
        let mut items = first.items;
        let Some(metadata) = first.metadata else {
            return Ok(items);
        };
        let page_size = metadata.page_size.max(1);
        let last = metadata.total_count.div_ceil(page_size).min(self.max_pages);
        let rest = (2..=last).map(|index| self.partner_page(read, index, deadline));
        for page in future::try_join_all(rest).await?.into_iter().flatten() {
            extend(&mut items, page.items);
        }
        Ok(items)
    }

    /// Page `index` of `read`; `None` when the upstream answers 404 (no such customer).
    async fn partner_page(
        &self,
        read: &PartnerRead,
        index: u64,
        deadline: Instant,
    ) -> Result<Option<PartnerPage>, UpstreamError> {
        let request = PageRequest::of(Endpoint::Partner(read), index, self.page_size, deadline);
        match self.stack.call(request).await {
            Ok(Some(Page::Partner(page))) => Ok(Some(page)),
            Ok(Some(Page::Services(_))) => Err(UpstreamError::BadResponse(
                "a page of another endpoint came back".into(),
            )),
            Ok(None) => Ok(None),
            // Refused again with a fresh token: this registration may not read the endpoint.
            Err(UpstreamError::Unauthorized(_)) => Err(UpstreamError::Forbidden {
                permission: read.permission,
            }),
            Err(error) => Err(error),
        }
    }
}

/// No records of `kind`.
fn empty(kind: PartnerKind) -> PartnerItems {
    match kind {
        PartnerKind::Details => PartnerItems::Details(Vec::new()),
        PartnerKind::Jobs => PartnerItems::Jobs(Vec::new()),
        PartnerKind::Seats => PartnerItems::Seats(Vec::new()),
        PartnerKind::Coverage => PartnerItems::Coverage(Vec::new()),
    }
}

/// `more` after `items`, when both are records of one endpoint.
fn extend(items: &mut PartnerItems, more: PartnerItems) {
    match (items, more) {
        (PartnerItems::Details(items), PartnerItems::Details(more)) => items.extend(more),
        (PartnerItems::Jobs(items), PartnerItems::Jobs(more)) => items.extend(more),
        (PartnerItems::Seats(items), PartnerItems::Seats(more)) => items.extend(more),
        (PartnerItems::Coverage(items), PartnerItems::Coverage(more)) => items.extend(more),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
