//! Which operation of a document a request runs: the one rule every part of the gateway uses
//! (the limits, partial answers, the GET mutation check, the metrics' operation name), and the
//! one async-graphql applies when it executes.

use async_graphql::{
    Name, Positioned,
    parser::types::{ExecutableDocument, OperationDefinition, OperationType},
};

/// The operation named `name`, or the only one when `name` is `None`; `None` when there is no
/// such operation, or several and no name (execution then reports why).
pub(crate) fn chosen<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a Positioned<OperationDefinition>)> {
    let mut operations = document.operations.iter();
    match name {
        Some(wanted) => operations.find(|(name, _)| name.is_some_and(|name| name == wanted)),
        None => match (operations.next(), operations.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        },
    }
}

/// Whether the operation the request runs is a mutation.
pub(crate) fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    chosen(document, name)
        .is_some_and(|(_, operation)| operation.node.ty == OperationType::Mutation)
}

/// Whether the operation the request runs is a subscription.
pub(crate) fn is_subscription(document: &ExecutableDocument, name: Option<&str>) -> bool {
    chosen(document, name)
        .is_some_and(|(_, operation)| operation.node.ty == OperationType::Subscription)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn by_name_or_the_only_one() {
        let one = parse_query("query A { __typename }").unwrap();
        assert_eq!(chosen(&one, None).unwrap().0.unwrap().as_str(), "A");
        assert!(chosen(&one, Some("B")).is_none());
        let two = parse_query("query A { __typename } mutation B { __typename }").unwrap();
        assert!(chosen(&two, None).is_none(), "two operations and no name");
        assert!(is_mutation(&two, Some("B")) && !is_mutation(&two, Some("A")));
        let live = parse_query("subscription C { customers { totalCount } }").unwrap();
        assert!(is_subscription(&live, None) && !is_subscription(&one, None));
        let anonymous = parse_query("{ __typename }").unwrap();
        assert!(chosen(&anonymous, None).unwrap().0.is_none());
    }
}
