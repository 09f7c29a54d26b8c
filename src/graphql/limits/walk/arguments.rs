//! Reading a field's arguments for the walk (literals, variables and their defaults), and the
//! per-customer upstream reads a field causes.

use async_graphql::{InputType, Name, Value, parser::types::Field};

use super::Walk;
use crate::{
    cache::Read,
    domain::{ProductFilter, job_owner},
    graphql::{
        connection::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageArgs, check_page_size, check_size},
        limits::{
            Refusal,
            fanout::{Customers, FanOut, Site},
            shape::{self, Items, SiteKind},
        },
        partner::{
            BackupService, CustomerFilterInput, DEFAULT_JOBS, Platform, check_jobs_first, jobs_read,
        },
        types::ProductFilterInput,
    },
};

impl<'a> Walk<'a> {
    /// The per-customer reads of `field` (on `parent`, bringing `items`) whose selection reads
    /// `sub`: the field's own read on a `Customer`, and its selection's, tied to the customers
    /// they are for where the field says which.
    pub(super) fn fan_out(
        &self,
        field: &'a Field,
        parent: Option<&'static str>,
        items: Items,
        sub: &FanOut,
    ) -> Result<FanOut, Refusal> {
        let name = field.name.node.as_str();
        let mut fan = FanOut::default();
        match (parent, name) {
            (Some("Query" | "Subscription"), "customers") => {
                fan.tie(sub, Customers::Page(self.page_args(field)?), &[]);
            }
            (Some("Query" | "Subscription"), "customer") => {
                let ids = match self.argument(field, "id") {
                    Some(Value::String(id)) => vec![id],
                    _ => Vec::new(),
                };
                fan.tie(sub, Customers::Ids(ids), &[]);
            }
            (Some("Query"), "node" | "nodes") => {
                let ids = match (self.argument(field, "id"), self.argument(field, "ids")) {
                    (Some(Value::String(id)), _) => vec![id],
                    (_, Some(Value::List(ids))) => ids
                        .into_iter()
                        .filter_map(|id| match id {
                            Value::String(id) => Some(id),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let jobs: Vec<String> = ids
                    .iter()
                    .filter_map(|id| job_owner(id))
                    .map(|(customer, _)| customer)
                    .collect();
                if !jobs.is_empty() {
                    fan.tie(
                        &FanOut::default(),
                        Customers::Ids(jobs),
                        &[Site::Read(jobs_read(None))],
                    );
                }
                fan.tie(sub, Customers::Ids(ids), &[]);
            }
            (Some("Product"), "customer") => fan.tie(sub, Customers::Any, &[]),
            _ if items == Items::Page => fan.items(sub),
            (Some("Customer"), _) => {
                fan.add(sub);
                if let Some(kind) = shape::site(name) {
                    let site = self.site(field, kind);
                    fan.open.push(site);
                }
            }
            _ => fan.add(sub),
        }
        Ok(fan)
    }

    /// The read a `Customer` field of `kind` makes, its arguments applied.
    fn site(&self, field: &'a Field, kind: SiteKind) -> Site {
        match kind {
            SiteKind::Details => Site::Details,
            SiteKind::Jobs => {
                let service = self
                    .argument(field, "service")
                    .and_then(|value| <Option<BackupService> as InputType>::parse(Some(value)).ok())
                    .flatten();
                Site::Read(jobs_read(service.map(Into::into)))
            }
            SiteKind::Seats => {
                let platform = self
                    .argument(field, "platform")
                    .and_then(|value| <Platform as InputType>::parse(Some(value)).ok())
                    .unwrap_or(Platform::Microsoft365);
                Site::Read(Read::Seats(platform.into()))
            }
            SiteKind::Coverage => Site::Read(Read::Coverage),
        }
    }

    /// A `customers` field's page, as far as its arguments' values are known.
    fn page_args(&self, field: &'a Field) -> Result<PageArgs, Refusal> {
        let text = |name: &str| match self.argument(field, name) {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let last = self
            .argument(field, "last")
            .is_some_and(|value| value != Value::Null);
        let size = self.customers_arguments(field)?;
        Ok(PageArgs {
            first: (!last).then_some(size),
            last: last.then_some(size),
            after: text("after"),
            before: text("before"),
            search: text("search"),
            filter: self
                .argument(field, "filter")
                .and_then(|value| {
                    <Option<CustomerFilterInput> as InputType>::parse(Some(value)).ok()
                })
                .flatten()
                .map(Into::into),
        })
    }

    /// `backupJobs`' `first`, checked where its value is known.
    pub(super) fn jobs_first(&self, field: &'a Field) -> Result<u64, Refusal> {
        let first = match self.argument(field, "first") {
            Some(Value::Number(number)) => number.as_i64().unwrap_or(i64::MAX),
            _ => i64::from(DEFAULT_JOBS),
        };
        check_jobs_first(first)?;
        Ok(first.max(0) as u64)
    }
    /// Checks `first` and `last` of a `customers` field where their values are known;
    /// returns the page size for the cost. Cursors are left to the field itself: a bad one
    /// is an error of that field (its non-null connection nulls up to `data`), not of the
    /// request.
    pub(super) fn customers_arguments(&self, field: &'a Field) -> Result<u64, Refusal> {
        let mut first = DEFAULT_PAGE_SIZE as u64;
        if let Some(Value::Number(number)) = self.argument(field, "first") {
            let requested = number
                .as_i64()
                .map_or(i32::MAX, |n| i32::try_from(n).unwrap_or(i32::MAX));
            check_page_size(requested)?;
            first = requested.max(0) as u64;
        }
        if let Some(Value::Number(number)) = self.argument(field, "last") {
            let requested = number
                .as_i64()
                .map_or(i32::MAX, |n| i32::try_from(n).unwrap_or(i32::MAX));
            check_size("last", requested)?;
            first = requested.max(0) as u64;
        }
        Ok(first.min(MAX_PAGE_SIZE as u64))
    }

    /// Whether root `products` is given a filter whose value does not fit its type.
    pub(super) fn bad_filter(&self, field: &'a Field) -> bool {
        self.argument(field, "filter").is_some_and(|value| {
            <Option<ProductFilterInput> as InputType>::parse(Some(value)).is_err()
        })
    }

    /// Root `products`' filter, when its value is known and well formed (validation refuses
    /// one that is not; the cost then assumes no filter).
    pub(super) fn product_filter(&self, field: &'a Field) -> Option<ProductFilter> {
        let value = self.argument(field, "filter")?;
        let input = <Option<ProductFilterInput> as InputType>::parse(Some(value)).ok()??;
        Some(ProductFilter::from(input))
    }

    /// An argument's value with variables replaced by what the request (or the variable's
    /// default) gives; `None` when it is not given or a variable it uses has no value.
    pub(super) fn argument(&self, field: &'a Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?;
        value
            .node
            .clone()
            .into_const_with(|name| self.variable(&name))
            .ok()
    }

    /// A variable's value from the request, or its default.
    fn variable(&self, name: &Name) -> Result<Value, ()> {
        self.variables
            .get(name)
            .cloned()
            .or_else(|| {
                self.operation
                    .variable_definitions
                    .iter()
                    .find(|definition| definition.node.name.node == *name)
                    .and_then(|definition| definition.node.default_value())
                    .cloned()
            })
            .ok_or(())
    }
}
