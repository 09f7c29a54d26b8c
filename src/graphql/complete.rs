//! async-graphql's answers brought to the GraphQL specification, so that its executor and
//! the fast one give the same bytes.
//!
//! - Partial answers ("Handling Execution Errors"): a field that raised an error is `null`
//!   with its error, and a non-null field's null goes up to the nearest nullable ancestor, up
//!   to `data: null`. async-graphql 7 leaves a failed field out of its parent object instead,
//!   and never propagates a non-null field's failure. So each error's path is followed through
//!   the operation (aliases and fragments as written) to learn the type of every step; the
//!   failed key is set to `null`, and while the step is non-null, its parent is nulled in turn.
//! - Order: async-graphql writes root fields and their errors in the order they finish; the
//!   specification orders the fields as the selection set does. Errors follow their root
//!   field's place, and a field merged from several selections reports one error, not one
//!   per selection.

use async_graphql::{
    Name, PathSegment, ServerError, Value, Variables,
    parser::types::{BaseType, ExecutableDocument, Selection, SelectionSet, Type},
};

/// Brings async-graphql's `data` and `errors` for `operation_name` of `document`, run with
/// `variables`, to the specification (see the module docs).
pub(crate) fn complete(
    data: &mut Value,
    errors: &mut Vec<ServerError>,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) {
    let Some((_, operation)) = super::operation::chosen(document, operation_name) else {
        return;
    };
    let roots = super::fast::root_keys(document, &operation.node, variables);
    if let Some(roots) = &roots {
        order_errors(errors, roots);
    }
    null_failed(data, errors, document, &operation.node.selection_set.node);
    if let (Some(roots), Value::Object(fields)) = (&roots, &mut *data) {
        fields.sort_by_cached_key(|key, _| {
            roots
                .iter()
                .position(|root| root == key)
                .unwrap_or(usize::MAX)
        });
    }
}

/// Sorts `errors` by their root field's place among `roots` (then by location), keeping one
/// error per path.
fn order_errors(errors: &mut Vec<ServerError>, roots: &[Name]) {
    errors.sort_by_cached_key(|error| {
        let place = match error.path.first() {
            Some(PathSegment::Field(key)) => roots.iter().position(|root| root == key.as_str()),
            _ => None,
        };
        (place.unwrap_or(usize::MAX), error.locations.clone())
    });
    errors.dedup_by(|later, earlier| !later.path.is_empty() && later.path == earlier.path);
}

/// Nulls every failed field of `data`, and propagates the nulls of non-null fields.
fn null_failed(
    data: &mut Value,
    errors: &[ServerError],
    document: &ExecutableDocument,
    operation: &SelectionSet,
) {
    // async-graphql answers null for a root with no field to give (all skipped): that is `{}`.
    if *data == Value::Null && errors.is_empty() {
        *data = Value::Object(Default::default());
        return;
    }
    let failed: Vec<&[PathSegment]> = errors
        .iter()
        .map(|error| error.path.as_slice())
        .filter(|path| !path.is_empty())
        .collect();
    if failed.is_empty() {
        return;
    }
    // async-graphql gives an object whose every field failed as null: first make each object
    // on the way to a failure an object again, so that nulls are placed only where they belong.
    if *data == Value::Null {
        *data = Value::Object(Default::default());
    }
    for path in &failed {
        reopen(data, path);
    }
    for path in &failed {
        let nullable = steps(document, operation, path);
        null_upwards(data, path, &nullable);
    }
}

/// Turns every null (or missing) object on the way to `path`'s last step into an empty one.
fn reopen(data: &mut Value, path: &[PathSegment]) {
    let mut at = data;
    for (segment, next) in path.iter().zip(path.iter().skip(1)) {
        let child = match (at, segment) {
            (Value::Object(object), PathSegment::Field(key)) => {
                Some(object.entry(Name::new(key)).or_insert(Value::Null))
            }
            (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index),
            _ => None,
        };
        let Some(child) = child else {
            return;
        };
        if *child == Value::Null && matches!(next, PathSegment::Field(_)) {
            *child = Value::Object(Default::default());
        }
        at = child;
    }
}

/// Whether each step of `path` may be null (a step the walk cannot place counts as nullable,
/// so nothing is nulled beyond what is known).
fn steps(document: &ExecutableDocument, root: &SelectionSet, path: &[PathSegment]) -> Vec<bool> {
    let mut nullable = Vec::with_capacity(path.len());
    let mut sets: Vec<&SelectionSet> = vec![root];
    let mut parent: Option<String> = Some("Query".to_owned());
    let mut pending: Option<&Type> = None;
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let fields = fields_named(document, &sets, key);
                let ty = parent
                    .as_deref()
                    .zip(fields.first())
                    .and_then(|(parent, field)| {
                        super::fields::field_type(parent, field.name.node.as_str())
                    });
                sets = fields
                    .iter()
                    .map(|field| &field.selection_set.node)
                    .collect();
                nullable.push(ty.is_none_or(|ty| ty.nullable));
                pending = ty;
            }
            PathSegment::Index(_) => {
                let item = pending.and_then(|ty| match &ty.base {
                    BaseType::List(item) => Some(item.as_ref()),
                    BaseType::Named(_) => None,
                });
                nullable.push(item.is_none_or(|item| item.nullable));
                pending = item;
            }
        }
        // An index keeps the selections: they apply to every item of the list.
        parent = pending.map(|ty| named(ty).to_string());
    }
    nullable
}

/// The type a (list of a) named type comes down to.
fn named(ty: &Type) -> &Name {
    match &ty.base {
        BaseType::Named(name) => name,
        BaseType::List(item) => named(item),
    }
}

/// Every field of `sets` answered under the response key `key`, through fragments.
fn fields_named<'a>(
    document: &'a ExecutableDocument,
    sets: &[&'a SelectionSet],
    key: &str,
) -> Vec<&'a async_graphql::parser::types::Field> {
    let mut found = Vec::new();
    let mut stack: Vec<&SelectionSet> = sets.to_vec();
    // Fragments already looked in: a spread cycle (refused before execution anyway) ends here.
    let mut seen: Vec<&Name> = Vec::new();
    while let Some(set) = stack.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) if field.node.response_key().node == key => {
                    found.push(&field.node);
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(fragment) => {
                    stack.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = document.fragments.get(name)
                        && !seen.contains(&name)
                    {
                        seen.push(name);
                        stack.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    found
}

/// Sets the value at `path` to null, then each parent in turn while the step just nulled is
/// non-null; past the first step, `data` itself becomes null.
fn null_upwards(data: &mut Value, path: &[PathSegment], nullable: &[bool]) {
    let mut depth = path.len();
    while depth > 0 {
        if !set_null(data, &path[..depth]) {
            return; // an ancestor is already null: nothing is left to null
        }
        if nullable.get(depth - 1).copied().unwrap_or(true) {
            return;
        }
        depth -= 1;
    }
    *data = Value::Null;
}

/// Nulls the value at `path` (adding the key when it is missing); false when the way there is
/// gone (an ancestor is null or not there).
fn set_null(data: &mut Value, path: &[PathSegment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = data;
    for segment in parents {
        let next = match (at, segment) {
            (Value::Object(object), PathSegment::Field(key)) => object.get_mut(key.as_str()),
            (Value::List(items), PathSegment::Index(index)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(value) if *value != Value::Null => at = value,
            _ => return false,
        }
    }
    match (at, last) {
        (Value::Object(object), PathSegment::Field(key)) => {
            object.insert(Name::new(key), Value::Null);
            true
        }
        (Value::List(items), PathSegment::Index(index)) => match items.get_mut(*index) {
            Some(item) => {
                *item = Value::Null;
                true
            }
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Pos;

    use super::*;

    fn error(path: &[&str]) -> ServerError {
        let mut error = ServerError::new("the upstream is unavailable", Some(Pos::default()));
        error.path = path
            .iter()
            .map(|segment| PathSegment::Field((*segment).to_owned()))
            .collect();
        error
    }

    /// Completes `data` and `errors` of the unnamed operation `query`, run without variables.
    fn complete_query(query: &str, data: &mut Value, errors: &mut Vec<ServerError>) {
        let document = async_graphql::parser::parse_query(query).unwrap();
        complete(data, errors, &document, None, &Variables::default());
    }

    fn completed(query: &str, data: serde_json::Value, paths: &[&[&str]]) -> serde_json::Value {
        let mut data = Value::from_json(data).unwrap();
        let mut errors: Vec<ServerError> = paths.iter().map(|path| error(path)).collect();
        complete_query(query, &mut data, &mut errors);
        data.into_json().unwrap()
    }

    #[test]
    fn a_failed_nullable_field_is_null_beside_the_others() {
        let data = completed(
            r#"{ __typename customer(id: "c1") { id } }"#,
            serde_json::json!({ "__typename": "Query" }),
            &[&["customer"]],
        );
        assert_eq!(
            data,
            serde_json::json!({ "__typename": "Query", "customer": null })
        );
    }

    #[test]
    fn a_failed_non_null_root_field_nulls_data() {
        let data = completed(
            r#"{ __typename a: customer(id: "c1") { id } products { service } }"#,
            serde_json::json!({ "__typename": "Query" }),
            &[&["products"], &["a"]],
        );
        assert_eq!(data, serde_json::Value::Null);
    }

    #[test]
    fn aliases_and_fragments_are_followed_to_the_field_they_name() {
        let query = r#"query Q { ...F all: customers { totalCount } }
            fragment F on Query { ... on Query { mine: customer(id: "c1") { id } } }"#;
        let data = completed(query, serde_json::json!({}), &[&["mine"]]);
        assert_eq!(data, serde_json::json!({ "mine": null }));
        // `customers` is non-null: its failure nulls everything.
        let data = completed(query, serde_json::json!({ "mine": null }), &[&["all"]]);
        assert_eq!(data, serde_json::Value::Null);
    }

    #[test]
    fn nested_failures_stop_at_the_nearest_nullable_ancestor() {
        let mut data = Value::from_json(serde_json::json!({
            "customer": { "id": "c1", "products": [ { "service": "a" }, { "service": "b" } ] }
        }))
        .unwrap();
        let mut failed = error(&["customer", "products"]);
        failed.path.push(PathSegment::Index(1));
        failed.path.push(PathSegment::Field("customer".into()));
        complete_query(
            r#"{ customer(id: "c1") { id products { service customer { id } } } }"#,
            &mut data,
            &mut vec![failed],
        );
        // Product.customer, Product and the list are non-null: the nullable `customer` root
        // field takes the null.
        assert_eq!(
            data.into_json().unwrap(),
            serde_json::json!({ "customer": null })
        );
    }

    #[test]
    fn an_answer_whose_every_field_failed_still_has_each_key() {
        // async-graphql answers `data: null` when no root field succeeded.
        let data = completed(
            r#"{ a: customer(id: "1") { id } b: customer(id: "2") { id } }"#,
            serde_json::Value::Null,
            &[&["a"], &["b"]],
        );
        assert_eq!(data, serde_json::json!({ "a": null, "b": null }));
    }

    #[test]
    fn an_operation_whose_every_field_is_skipped_answers_an_empty_object() {
        let data = completed(
            "{ __typename @skip(if: true) }",
            serde_json::Value::Null,
            &[],
        );
        assert_eq!(data, serde_json::json!({}));
    }

    #[test]
    fn root_fields_and_their_errors_follow_the_selection_set() {
        let query = r#"{ b: customer(id: "2") { id } __typename a: customer(id: "1") { id } }"#;
        let mut data = Value::from_json(serde_json::json!({ "__typename": "Query" })).unwrap();
        // Finished in another order, and `a` reported twice (merged from two selections).
        let mut errors = vec![error(&["a"]), error(&["b"]), error(&["a"])];
        complete_query(query, &mut data, &mut errors);
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"b":null,"__typename":"Query","a":null}"#
        );
        let paths: Vec<_> = errors.iter().map(|error| error.path.clone()).collect();
        assert_eq!(
            paths,
            [
                vec![PathSegment::Field("b".into())],
                vec![PathSegment::Field("a".into())]
            ]
        );
    }

    #[test]
    fn answers_without_field_errors_are_left_alone() {
        let data = completed(
            "{ __typename }",
            serde_json::json!({ "__typename": "Query" }),
            &[],
        );
        assert_eq!(data, serde_json::json!({ "__typename": "Query" }));
    }
}
