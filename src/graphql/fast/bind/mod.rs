//! A validated operation bound to one request's variables: `@skip`/`@include` applied,
//! fragments inlined, fields of one response key merged (the specification's CollectFields),
//! and every argument coerced to its Rust type. What the plan cannot express is
//! [`Uncovered`], and the request goes to async-graphql instead.

mod arguments;

use std::cell::Cell;

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet},
};

use super::{
    input::{self, Uncovered},
    plan::{
        ConnectionField, CustomerField, ENTRY_BYTES, EdgeField, Entry, Key, PageInfoField, Plan,
        ProductField, Root, RootField, Selected, customer_text, product_scalar, raw_field,
    },
};
use crate::graphql::{connection::DEFAULT_PAGE_SIZE, page::PageWanted};

/// Binds `operation` of `document` to `variables`.
pub(super) fn bind(
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
) -> Result<Plan, Uncovered> {
    let binder = Binder {
        document,
        operation,
        variables,
        weight: Cell::new(0),
    };
    for definition in &operation.variable_definitions {
        if let Some(value) = variables.get(&definition.node.name.node) {
            input::check_variable(&definition.node.var_type.node, value)?;
        }
    }
    let groups = binder.collect([&operation.selection_set.node])?;
    let roots = groups
        .iter()
        .map(|group| binder.root(group))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        roots,
        weight: binder.weight.get(),
    })
}

/// The response keys of `operation`'s root fields run with `variables`, in the order the
/// answer lists them; `None` when a selection's directive cannot be evaluated.
pub(crate) fn root_keys(
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
) -> Option<Vec<Name>> {
    let binder = Binder {
        document,
        operation,
        variables,
        weight: Cell::new(0),
    };
    let groups = binder.collect([&operation.selection_set.node]).ok()?;
    Some(groups.into_iter().map(|group| group.key.clone()).collect())
}

/// The fields answered under one response key, in document order.
struct Group<'d> {
    key: &'d Name,
    fields: Vec<&'d Positioned<Field>>,
}

impl<'d> Group<'d> {
    fn first(&self) -> &'d Field {
        &self.fields[0].node
    }

    /// Every sub-selection of the group's fields, to merge.
    fn sets(&self) -> impl Iterator<Item = &'d SelectionSet> + '_ {
        self.fields
            .iter()
            .map(|field| &field.node.selection_set.node)
    }
}

struct Binder<'d> {
    document: &'d ExecutableDocument,
    operation: &'d OperationDefinition,
    variables: &'d Variables,
    /// The plan's weight so far ([`Plan::weight`]).
    weight: Cell<usize>,
}

impl<'d> Binder<'d> {
    /// The response key `name`, counted into the plan's weight.
    fn key(&self, name: &Name) -> Key {
        let key = Key::new(name);
        self.weight
            .set(self.weight.get() + ENTRY_BYTES + key.held());
        key
    }

    /// CollectFields over `sets`: included selections, fragments inlined (each spread once),
    /// grouped by response key in the order first met.
    fn collect(
        &self,
        sets: impl IntoIterator<Item = &'d SelectionSet>,
    ) -> Result<Vec<Group<'d>>, Uncovered> {
        let mut groups: Vec<Group<'d>> = Vec::new();
        let mut visited: Vec<&'d Name> = Vec::new();
        for set in sets {
            self.visit(set, &mut groups, &mut visited)?;
        }
        Ok(groups)
    }

    /// The merged sub-selections of `group`. async-graphql runs each of several selections
    /// under one key on its own and merges the values; one whose fields are all skipped
    /// comes out null and hides the others' fields, so such a group is left to it.
    fn merged(&self, group: &Group<'d>) -> Result<Vec<Group<'d>>, Uncovered> {
        if group.fields.len() > 1 {
            for set in group.sets() {
                if self.collect([set])?.is_empty() {
                    return Err(Uncovered);
                }
            }
        }
        self.collect(group.sets())
    }

    fn visit(
        &self,
        set: &'d SelectionSet,
        groups: &mut Vec<Group<'d>>,
        visited: &mut Vec<&'d Name>,
    ) -> Result<(), Uncovered> {
        for selection in &set.items {
            if !self.included(selection.node.directives())? {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    match groups.iter_mut().find(|group| group.key == key) {
                        // A conflict validation should have refused: async-graphql lets
                        // some through across fragments, and answers them as it answers them.
                        Some(group) if !same_field(group.first(), &field.node) => {
                            return Err(Uncovered);
                        }
                        Some(group) => group.fields.push(field),
                        None => groups.push(Group {
                            key,
                            fields: vec![field],
                        }),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.visit(&fragment.node.selection_set.node, groups, visited)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if visited.contains(&name) {
                        continue;
                    }
                    visited.push(name);
                    let fragment = self.document.fragments.get(name).ok_or(Uncovered)?;
                    self.visit(&fragment.node.selection_set.node, groups, visited)?;
                }
            }
        }
        Ok(())
    }

    fn root(&self, group: &Group<'d>) -> Result<Root, Uncovered> {
        let field = group.first();
        let bound = match field.name.node.as_str() {
            "__typename" => None,
            "customers" => {
                // Backward paging, and filtering by details (read from `customers/batch`), are
                // left to async-graphql.
                let left = ["last", "before", "filter"];
                if left.iter().any(|name| field.get_argument(name).is_some()) {
                    return Err(Uncovered);
                }
                let sub = self.merged(group)?;
                let wanted = PageWanted {
                    first: Some(
                        match self.argument(field, "first")? {
                            Some(value) => input::int(&value)?,
                            None => None,
                        }
                        .unwrap_or(DEFAULT_PAGE_SIZE),
                    ),
                    last: None,
                    before: None,
                    after: self.optional(field, "after", input::string)?,
                    search: self.optional(field, "search", input::string)?,
                    filter: None,
                    total: selects(&sub, "totalCount"),
                    next: self.selects_next(&sub)?,
                };
                self.weigh(wanted.after.as_deref());
                self.weigh(wanted.search.as_deref());
                Some(RootField::Customers(wanted, self.connection(&sub)?))
            }
            "customer" => {
                let id = self.optional(field, "id", input::id)?.ok_or(Uncovered)?;
                self.weigh(Some(&id));
                Some(RootField::Customer(id, self.customer(group)?))
            }
            "products" => Some(RootField::Products(
                self.filter(field)?,
                self.product(group)?,
            )),
            _ => return Err(Uncovered),
        };
        Ok(Root {
            key: self.key(group.key),
            pos: group.fields[0].pos,
            field: bound,
        })
    }

    /// Whether `pageInfo { hasNextPage }` is selected among a connection's fields.
    fn selects_next(&self, connection: &[Group<'d>]) -> Result<bool, Uncovered> {
        for group in connection {
            if group.first().name.node == "pageInfo"
                && selects(&self.collect(group.sets())?, "hasNextPage")
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn connection(&self, groups: &[Group<'d>]) -> Result<Selected<ConnectionField>, Uncovered> {
        self.entries(groups, |group, name| {
            Ok(match name {
                "totalCount" => ConnectionField::TotalCount,
                "pageInfo" => ConnectionField::PageInfo(self.page_info(group)?),
                "edges" => ConnectionField::Edges(self.edge(group)?),
                "nodes" => ConnectionField::Nodes(self.customer(group)?),
                _ => return Err(Uncovered),
            })
        })
    }

    fn page_info(&self, group: &Group<'d>) -> Result<Selected<PageInfoField>, Uncovered> {
        self.entries(&self.merged(group)?, |_, name| {
            Ok(match name {
                "hasNextPage" => PageInfoField::HasNextPage,
                "hasPreviousPage" => PageInfoField::HasPreviousPage,
                "startCursor" => PageInfoField::StartCursor,
                "endCursor" => PageInfoField::EndCursor,
                _ => return Err(Uncovered),
            })
        })
    }

    fn edge(&self, group: &Group<'d>) -> Result<Selected<EdgeField>, Uncovered> {
        self.entries(&self.merged(group)?, |group, name| {
            Ok(match name {
                "cursor" => EdgeField::Cursor,
                "node" => EdgeField::Node(self.customer(group)?),
                _ => return Err(Uncovered),
            })
        })
    }

    fn customer(&self, group: &Group<'d>) -> Result<Selected<CustomerField>, Uncovered> {
        self.entries(&self.merged(group)?, |group, name| {
            Ok(match name {
                "id" => CustomerField::Id,
                "products" => {
                    CustomerField::Products(self.filter(group.first())?, self.product(group)?)
                }
                _ => CustomerField::Text(customer_text(name).ok_or(Uncovered)?),
            })
        })
    }

    fn product(&self, group: &Group<'d>) -> Result<Selected<ProductField>, Uncovered> {
        self.entries(&self.merged(group)?, |group, name| {
            Ok(match name {
                "id" => ProductField::Id,
                "customerId" => ProductField::CustomerId,
                "customer" => ProductField::Customer(self.customer(group)?),
                "service" => ProductField::Service,
                "expirationDate" => ProductField::ExpirationDate,
                "contractEndDate" => ProductField::ContractEndDate,
                "raw" => ProductField::Raw(self.entries(&self.merged(group)?, |_, name| {
                    raw_field(name).ok_or(Uncovered)
                })?),
                _ => product_scalar(name).ok_or(Uncovered)?,
            })
        })
    }

    /// One entry per group: `__typename`, or the field `bind` makes of it. An object whose
    /// every field is skipped is left to async-graphql, which answers it with null (the
    /// specification says `{}`).
    fn entries<F>(
        &self,
        groups: &[Group<'d>],
        mut bind: impl FnMut(&Group<'d>, &str) -> Result<F, Uncovered>,
    ) -> Result<Selected<F>, Uncovered> {
        if groups.is_empty() {
            return Err(Uncovered);
        }
        groups
            .iter()
            .map(|group| {
                let name = group.first().name.node.as_str();
                let field = match name {
                    "__typename" => None,
                    _ => Some(bind(group, name)?),
                };
                Ok(Entry {
                    key: self.key(group.key),
                    field,
                })
            })
            .collect()
    }
}

/// Whether two selections under one response key are the same field with the same arguments,
/// so that they merge.
fn same_field(a: &Field, b: &Field) -> bool {
    a.name.node == b.name.node
        && a.arguments.len() == b.arguments.len()
        && a.arguments
            .iter()
            .all(|argument| b.arguments.contains(argument))
}

/// Whether a field of this name is among `groups` (under any key), as async-graphql's
/// look-ahead sees it.
fn selects(groups: &[Group<'_>], name: &str) -> bool {
    groups.iter().any(|group| {
        group
            .fields
            .iter()
            .any(|field| field.node.name.node == name)
    })
}
