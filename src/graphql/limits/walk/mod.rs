//! The walk behind [`super::check`]: one pass over the operation, each fragment summarised
//! once (keyed by name) and its summary reused at every spread, so the work is linear in the
//! document's size however often a fragment is spread.

use std::collections::HashMap;

mod arguments;

use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet},
};

use super::{
    QueryLimits, Refusal,
    fanout::FanOut,
    shape::{self, Items, ListSizes},
};
use crate::graphql::connection::MAX_PAGE_SIZE;

/// How much deeper than `GATEWAY_LIMITS_DEPTH` selections may nest through inline fragments
/// and spreads: enough for any real client, and a bound on the walk's own recursion.
pub(super) const NESTING_ALLOWANCE: usize = 64;

/// What a selection set costs, measured relative to where it stands.
#[derive(Debug, Clone, Default)]
pub(super) struct Summary {
    /// Cost outside any page of an enclosing connection.
    fixed: u64,
    /// Cost per item of the enclosing connection's page (what `edges` and `nodes` select).
    per_item: u64,
    /// Deepest field nesting below (a field alone is 1).
    pub(super) depth: usize,
    /// Aliased fields, once per place they stand (spreads included).
    pub(super) aliases: u64,
    /// Fields at this level, through fragments: an operation's root fields.
    pub(super) fields: u64,
    /// `__schema` or `__type` is selected.
    pub(super) introspection: bool,
    /// A list sized by the snapshot (`products`, root or per customer) is selected: its
    /// price needs the data.
    pub(super) sized_by_data: bool,
    /// A `customers` page is selected: priced by its `first` without the data, by the
    /// customers there are (when fewer) with them.
    pub(super) paged: bool,
    /// An argument's value is known not to fit its type: validation refuses the document.
    pub(super) invalid: bool,
    /// The per-customer upstream reads it selects.
    pub(super) fan: FanOut,
}

impl Summary {
    /// The whole cost where no connection encloses it; a page outside a connection (only in
    /// a document validation refuses) counts at the largest page size.
    pub(super) fn total(&self) -> u64 {
        self.fixed
            .saturating_add(self.per_item.saturating_mul(MAX_PAGE_SIZE as u64))
    }

    fn add(&mut self, other: &Self) {
        self.fixed = self.fixed.saturating_add(other.fixed);
        self.per_item = self.per_item.saturating_add(other.per_item);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.fields = self.fields.saturating_add(other.fields);
        self.sized_by_data |= other.sized_by_data;
        self.paged |= other.paged;
        self.invalid |= other.invalid;
        self.introspection |= other.introspection;
        self.fan.add(&other.fan);
    }
}

/// One operation's walk.
pub(super) struct Walk<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    limits: QueryLimits,
    sizes: ListSizes<'a>,
    /// Fragments summarised so far; `None` while one is being summarised (a cycle, if met).
    fragments: HashMap<&'a str, Option<Summary>>,
}

impl<'a> Walk<'a> {
    /// A walk of `operation` in `document` under `limits`, no fragment summarised yet.
    pub(super) fn new(
        document: &'a ExecutableDocument,
        operation: &'a OperationDefinition,
        variables: &'a Variables,
        limits: QueryLimits,
        sizes: ListSizes<'a>,
    ) -> Self {
        Self {
            document,
            operation,
            variables,
            limits,
            sizes,
            fragments: HashMap::new(),
        }
    }

    /// The operation's summary.
    pub(super) fn run(mut self) -> Result<Summary, Refusal> {
        let root = match self.operation.ty {
            async_graphql::parser::types::OperationType::Query => Some("Query"),
            async_graphql::parser::types::OperationType::Subscription => Some("Subscription"),
            async_graphql::parser::types::OperationType::Mutation => None,
        };
        self.set(&self.operation.selection_set.node, root, 1, 0)
    }

    /// Summarises `set`, whose fields are of type `parent` (when known) and stand `depth` deep;
    /// `nesting` counts every level the walk has descended, fragments included.
    fn set(
        &mut self,
        set: &'a SelectionSet,
        parent: Option<&'static str>,
        depth: usize,
        nesting: usize,
    ) -> Result<Summary, Refusal> {
        let limit = self.limits.depth.saturating_add(NESTING_ALLOWANCE);
        if nesting > limit {
            return Err(Refusal::Nesting { limit });
        }
        let mut summary = Summary::default();
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => {
                    if depth > self.limits.depth {
                        return Err(Refusal::Depth {
                            limit: self.limits.depth,
                            found: depth,
                        });
                    }
                    self.field(&field.node, parent, depth, nesting)?
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let inner = match &fragment.type_condition {
                        Some(condition) => shape::known_type(&condition.node.on.node),
                        None => parent,
                    };
                    self.set(&fragment.selection_set.node, inner, depth, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(&spread.node.fragment_name.node, depth, nesting + 1)?
                }
            };
            summary.add(&part);
        }
        Ok(summary)
    }

    /// One field: 1, plus its selection once per item it brings.
    fn field(
        &mut self,
        field: &'a Field,
        parent: Option<&'static str>,
        depth: usize,
        nesting: usize,
    ) -> Result<Summary, Refusal> {
        let (inner, items) = parent.map_or((None, Items::One), |parent| {
            shape::field(parent, &field.name.node)
        });
        let sub = self.set(&field.selection_set.node, inner, depth + 1, nesting + 1)?;
        let fan = self.fan_out(field, parent, items, &sub.fan)?;
        let mut summary = Summary {
            fixed: 1,
            per_item: 0,
            depth: sub.depth + 1,
            aliases: sub.aliases + u64::from(field.alias.is_some()),
            fields: 1,
            introspection: sub.introspection
                || (parent == Some("Query")
                    && matches!(field.name.node.as_str(), "__schema" | "__type")),
            sized_by_data: sub.sized_by_data
                || matches!(items, Items::RootProducts | Items::CustomerProducts),
            paged: sub.paged || items == Items::Connection,
            invalid: sub.invalid || (items == Items::RootProducts && self.bad_filter(field)),
            fan,
        };
        let each = |count: u64| count.saturating_mul(sub.total());
        match items {
            Items::One => {
                summary.fixed = summary.fixed.saturating_add(sub.fixed);
                summary.per_item = sub.per_item;
            }
            Items::Page => summary.per_item = sub.total(),
            Items::Connection => {
                let first = self.sizes.page(self.customers_arguments(field)?);
                let page = sub.per_item.saturating_mul(first);
                summary.fixed = summary.fixed.saturating_add(sub.fixed).saturating_add(page);
            }
            Items::Fixed(count) => summary.fixed = summary.fixed.saturating_add(each(count)),
            Items::Jobs => {
                let count = self.jobs_first(field)?;
                summary.fixed = summary.fixed.saturating_add(each(count));
            }
            Items::RootProducts => {
                let count = self
                    .sizes
                    .root_products(self.product_filter(field).as_ref());
                summary.fixed = summary.fixed.saturating_add(each(count));
            }
            Items::CustomerProducts => {
                let count = self.sizes.customer_products();
                summary.fixed = summary.fixed.saturating_add(each(count));
            }
            Items::Ids => {
                let count = match self.argument(field, "ids") {
                    Some(Value::List(ids)) => ids.len() as u64,
                    _ => 1,
                };
                summary.fixed = summary.fixed.saturating_add(each(count));
            }
        }
        Ok(summary)
    }

    /// A spread: the fragment's summary, walked the first time it is met.
    fn fragment(
        &mut self,
        name: &'a Name,
        depth: usize,
        nesting: usize,
    ) -> Result<Summary, Refusal> {
        match self.fragments.get(name.as_str()) {
            Some(Some(summary)) => return Ok(summary.clone()),
            Some(None) => return Err(Refusal::FragmentCycle(name.to_string())),
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Err(Refusal::UnknownFragment(name.to_string()));
        };
        self.fragments.insert(name.as_str(), None);
        let fragment = &fragment.node;
        let on = shape::known_type(&fragment.type_condition.node.on.node);
        let summary = self.set(&fragment.selection_set.node, on, depth, nesting)?;
        self.fragments.insert(name.as_str(), Some(summary.clone()));
        Ok(summary)
    }
}
