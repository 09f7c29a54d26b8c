//! What a query may cost, checked on the parsed document before anything executes.
//!
//! One walk over the chosen operation, fragments expanded, measures its depth, its complexity,
//! its root fields and its aliases, and checks the `customers` paging arguments (`first`,
//! `after`) wherever their values are known (literals, variables, variable defaults), so a bad
//! cursor is refused as bad input before any upstream work. A refused request is answered like
//! any other GraphQL request error.
//!
//! Complexity counts each field once, except that under `customers(first: n)` every field
//! counts n times (at least once, at most [`MAX_PAGE_SIZE`]; 100 when `first` is not given),
//! the number of customers it may be resolved for. The walk stops as soon as a limit is passed,
//! so a document built to explode when its fragments are expanded costs no more than the limit.

use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

use super::{
    connection::decode_cursor,
    error::QueryError,
    query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, check_page_size},
};

/// The limits a document is held to (from `GATEWAY_LIMITS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest field nesting.
    pub depth: usize,
    /// Highest complexity (see the module docs).
    pub complexity: usize,
    /// Most root fields.
    pub root_fields: usize,
    /// Most aliased fields.
    pub aliases: usize,
}

impl From<&crate::config::Limits> for QueryLimits {
    fn from(limits: &crate::config::Limits) -> Self {
        Self {
            depth: limits.depth,
            complexity: limits.complexity,
            root_fields: limits.root_fields,
            aliases: limits.aliases,
        }
    }
}

/// Why a document was refused before execution.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Fields nest deeper than allowed.
    #[error(
        "the query nests fields {found} deep, more than the limit of {limit} (GATEWAY_LIMITS_DEPTH)"
    )]
    Depth {
        /// The limit.
        limit: usize,
        /// How deep the query goes (counted until the limit was passed).
        found: usize,
    },
    /// The query would resolve too many fields.
    #[error(
        "the query's complexity is over the limit of {limit} (GATEWAY_LIMITS_COMPLEXITY): each field counts once, and `first` times under `customers(first:)`"
    )]
    Complexity {
        /// The limit.
        limit: usize,
    },
    /// The operation has too many root fields.
    #[error(
        "the operation has {found} root fields, more than the limit of {limit} (GATEWAY_LIMITS_ROOT_FIELDS)"
    )]
    RootFields {
        /// The limit.
        limit: usize,
        /// How many it has.
        found: usize,
    },
    /// The operation uses too many aliases.
    #[error(
        "the operation has more than {limit} aliased fields, the limit (GATEWAY_LIMITS_ALIASES)"
    )]
    Aliases {
        /// The limit.
        limit: usize,
    },
    /// An argument's value can be seen to be wrong before execution.
    #[error(transparent)]
    BadArgument(#[from] QueryError),
}

impl Refusal {
    /// The `extensions.code` of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Depth { .. } => "QUERY_TOO_DEEP",
            Self::Complexity { .. } => "QUERY_TOO_COMPLEX",
            Self::RootFields { .. } => "TOO_MANY_ROOT_FIELDS",
            Self::Aliases { .. } => "TOO_MANY_ALIASES",
            Self::BadArgument(error) => error.code(),
        }
    }

    /// A stable word for the refusal metric.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Depth { .. } => "depth",
            Self::Complexity { .. } => "complexity",
            Self::RootFields { .. } => "root_fields",
            Self::Aliases { .. } => "aliases",
            Self::BadArgument(_) => "bad_argument",
        }
    }
}

/// Checks the operation `operation_name` picks (the only one when `None`) against `limits`.
/// A document whose operation cannot be chosen is left to execution, which reports that.
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: QueryLimits,
) -> Result<(), Refusal> {
    let mut operations = document.operations.iter();
    let chosen = match operation_name {
        Some(wanted) => operations.find(|(name, _)| name.is_some_and(|name| name == wanted)),
        None => operations
            .next()
            .filter(|_| document.operations.iter().count() == 1),
    };
    let Some((_, operation)) = chosen else {
        return Ok(());
    };
    let mut walk = Walk {
        document,
        operation: &operation.node,
        variables,
        limits,
        complexity: 0,
        aliases: 0,
        fragments: Vec::new(),
    };
    let roots = walk.count_roots(&operation.node.selection_set.node, 0)?;
    if roots > limits.root_fields {
        return Err(Refusal::RootFields {
            limit: limits.root_fields,
            found: roots,
        });
    }
    walk.selections(&operation.node.selection_set.node, 1, 1)
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    limits: QueryLimits,
    complexity: usize,
    aliases: usize,
    /// Fragments being expanded, to stop at a cycle (validation reports it).
    fragments: Vec<&'a Name>,
}

impl<'a> Walk<'a> {
    /// Root fields, fragments expanded (bounded by the root-field limit).
    fn count_roots(&mut self, set: &'a SelectionSet, so_far: usize) -> Result<usize, Refusal> {
        let mut count = so_far;
        for selection in &set.items {
            count = match &selection.node {
                Selection::Field(_) => count + 1,
                Selection::InlineFragment(fragment) => {
                    self.count_roots(&fragment.node.selection_set.node, count)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.document.fragments.get(name) {
                        Some(fragment) if !self.fragments.contains(&name) => {
                            self.fragments.push(name);
                            let count =
                                self.count_roots(&fragment.node.selection_set.node, count)?;
                            self.fragments.pop();
                            count
                        }
                        _ => count,
                    }
                }
            };
            if count > self.limits.root_fields {
                return Ok(count);
            }
        }
        Ok(count)
    }

    /// Walks a selection set whose fields sit at `depth` and count `weight` times each.
    fn selections(
        &mut self,
        set: &'a SelectionSet,
        depth: usize,
        weight: usize,
    ) -> Result<(), Refusal> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if depth > self.limits.depth {
                        return Err(Refusal::Depth {
                            limit: self.limits.depth,
                            found: depth,
                        });
                    }
                    self.complexity = self.complexity.saturating_add(weight);
                    if self.complexity > self.limits.complexity {
                        return Err(Refusal::Complexity {
                            limit: self.limits.complexity,
                        });
                    }
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.limits.aliases {
                            return Err(Refusal::Aliases {
                                limit: self.limits.aliases,
                            });
                        }
                    }
                    let mut inner = weight;
                    if depth == 1 && field.name.node == "customers" {
                        let first = self.customers_arguments(field)?;
                        inner = weight.saturating_mul(first.max(1));
                    }
                    self.selections(&field.selection_set.node, depth + 1, inner)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.selections(&fragment.node.selection_set.node, depth, weight)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name)
                        && !self.fragments.contains(&name)
                    {
                        self.fragments.push(name);
                        self.selections(&fragment.node.selection_set.node, depth, weight)?;
                        self.fragments.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks `first` and `after` of a root `customers` field where their values are known;
    /// returns the page size for the complexity count.
    fn customers_arguments(
        &self,
        field: &'a async_graphql::parser::types::Field,
    ) -> Result<usize, Refusal> {
        let mut first = DEFAULT_PAGE_SIZE as usize;
        for (name, value) in &field.arguments {
            // Variables are replaced by what the request (or the variable's default) gives;
            // a value that cannot be known yet is left to execution.
            let Ok(value) = value
                .node
                .clone()
                .into_const_with(|name| self.variable(&name))
            else {
                continue;
            };
            match (name.node.as_str(), value) {
                ("first", Value::Number(number)) => {
                    let requested = number
                        .as_i64()
                        .map_or(i32::MAX, |n| i32::try_from(n).unwrap_or(i32::MAX));
                    check_page_size(requested)?;
                    first = requested as usize;
                }
                ("after", Value::String(cursor)) => {
                    decode_cursor(&cursor)?;
                }
                _ => {}
            }
        }
        Ok(first.min(MAX_PAGE_SIZE as usize))
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

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    const LIMITS: QueryLimits = QueryLimits {
        depth: 5,
        complexity: 1_000,
        root_fields: 3,
        aliases: 2,
    };

    fn checked(query: &str) -> Result<(), Refusal> {
        check(
            &parse_query(query).unwrap(),
            None,
            &Variables::default(),
            LIMITS,
        )
    }

    #[test]
    fn depth_counts_nested_fields_through_fragments() {
        assert!(checked("{ products { customer { products { customer { id } } } } }").is_ok());
        let deep = "{ products { customer { products { customer { products { id } } } } } }";
        assert!(matches!(
            checked(deep),
            Err(Refusal::Depth { limit: 5, found: 6 })
        ));
        let through_fragment = "{ products { ...P } } fragment P on Product { customer { products { customer { products { id } } } } }";
        assert!(matches!(
            checked(through_fragment),
            Err(Refusal::Depth { .. })
        ));
    }

    #[test]
    fn complexity_multiplies_under_customers_first() {
        assert!(checked("{ customers(first: 100) { nodes { id email } } }").is_ok());
        let wide = "{ customers(first: 500) { nodes { id email } } }";
        assert!(matches!(checked(wide), Err(Refusal::Complexity { .. })));
        // The default page size (100) counts when `first` is left out.
        assert!(matches!(
            checked(
                "{ customers { totalCount nodes { id email organization products { service source } } pageInfo { hasNextPage endCursor } } }"
            ),
            Err(Refusal::Complexity { .. })
        ));
    }

    #[test]
    fn a_fragment_bomb_stops_at_the_limit() {
        let mut query = String::from("{ products { ...F0 } }");
        for level in 0..30 {
            query.push_str(&format!(
                " fragment F{level} on Product {{ ...F{next} ...F{next} }}",
                next = level + 1
            ));
        }
        query.push_str(" fragment F30 on Product { service }");
        assert!(matches!(checked(&query), Err(Refusal::Complexity { .. })));
    }

    #[test]
    fn root_fields_and_aliases_are_counted() {
        assert!(checked("{ a: customer(id: \"1\") { id } b: customer(id: \"2\") { id } }").is_ok());
        assert!(matches!(
            checked(
                "{ products { id: customerId } a: customer(id: \"1\") { id } b: customer(id: \"2\") { id } }"
            ),
            Err(Refusal::Aliases { limit: 2 })
        ));
        assert!(matches!(
            checked(
                "{ products { service } customers { totalCount } __typename ...R } fragment R on Query { __typename }"
            ),
            Err(Refusal::RootFields { limit: 3, found: 4 })
        ));
    }

    #[test]
    fn paging_arguments_are_checked_from_literals_variables_and_defaults() {
        assert!(matches!(
            checked("{ customers(first: 5000) { totalCount } }"),
            Err(Refusal::BadArgument(_))
        ));
        assert!(matches!(
            checked("{ customers(after: \"bogus\") { totalCount } }"),
            Err(Refusal::BadArgument(_))
        ));
        assert!(matches!(
            checked("query ($n: Int = -1) { customers(first: $n) { totalCount } }"),
            Err(Refusal::BadArgument(_))
        ));
        let document = parse_query(
            "query ($after: String) { customers(first: 1, after: $after) { totalCount } }",
        )
        .unwrap();
        let mut variables = Variables::default();
        variables.insert(Name::new("after"), Value::String("nope".into()));
        assert!(check(&document, None, &variables, LIMITS).is_err());
        assert!(check(&document, None, &Variables::default(), LIMITS).is_ok());
    }

    #[test]
    fn an_operation_that_cannot_be_chosen_is_left_to_execution() {
        let document = parse_query("query A { __typename } query B { __typename }").unwrap();
        assert!(check(&document, None, &Variables::default(), LIMITS).is_ok());
        assert!(check(&document, Some("C"), &Variables::default(), LIMITS).is_ok());
    }
}
