//! Variable values coerced as the specification's CoerceVariableValues says: a required
//! variable left out, a null for a non-null one, or a value that does not fit its type is a
//! request error naming the variable. async-graphql checks only the values an argument reads
//! (during validation) and reports the rest, such as a list given for an input object or a
//! missing required variable, as a failed field, which the gateway would mask as internal.

use async_graphql::{ServerError, Variables, parser::types::OperationDefinition};

use super::fast::check_variable;

/// The most characters of a caller's value quoted back in an error.
const QUOTED_CHARS: usize = 80;

/// The errors of `variables` for `operation`, in the order the variables are declared.
pub(super) fn errors(operation: &OperationDefinition, variables: &Variables) -> Vec<ServerError> {
    let mut errors = Vec::new();
    for definition in &operation.variable_definitions {
        let name = &definition.node.name.node;
        let ty = &definition.node.var_type.node;
        let message = match variables.get(name) {
            None if ty.nullable || definition.node.default_value.is_some() => continue,
            None => format!(r#"Variable "${name}" of required type "{ty}" was not provided."#),
            Some(async_graphql::Value::Null) if !ty.nullable => {
                format!(r#"Variable "${name}" of non-null type "{ty}" must not be null."#)
            }
            Some(value) if check_variable(ty, value).is_err() => {
                let mut quoted = value.to_string();
                if quoted.chars().count() > QUOTED_CHARS {
                    quoted = quoted.chars().take(QUOTED_CHARS).collect::<String>() + "…";
                }
                format!(r#"Variable "${name}" got invalid value {quoted}; expected type "{ty}"."#)
            }
            Some(_) => continue,
        };
        errors.push(ServerError::new(message, Some(definition.pos)));
    }
    errors
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn errors_of(query: &str, variables: serde_json::Value) -> Vec<String> {
        let document = parse_query(query).unwrap();
        let (_, operation) = document.operations.iter().next().unwrap();
        errors(&operation.node, &Variables::from_json(variables))
            .into_iter()
            .map(|error| error.message)
            .collect()
    }

    #[test]
    fn each_bad_variable_is_named_with_its_type() {
        let query = "query Q($f: ProductFilter, $id: ID!, $n: Int!, $ok: Int = 3, $s: String) {
            products(filter: $f) { service } customer(id: $id) { id }
            customers(first: $n) { totalCount } b: customers(first: $ok, search: $s) { totalCount } }";
        let found = errors_of(
            query,
            serde_json::json!({ "f": ["x"], "n": null, "s": "fine" }),
        );
        assert_eq!(
            found,
            [
                r#"Variable "$f" got invalid value ["x"]; expected type "ProductFilter"."#,
                r#"Variable "$id" of required type "ID!" was not provided."#,
                r#"Variable "$n" of non-null type "Int!" must not be null."#,
            ]
        );
        let fine = serde_json::json!({ "f": { "service": "x" }, "id": 7, "n": 2 });
        assert!(errors_of(query, fine).is_empty(), "an ID may be an integer");
    }

    #[test]
    fn lists_take_lists_of_fitting_items_or_one_item() {
        let query = "query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }";
        assert!(errors_of(query, serde_json::json!({ "ids": ["a", 7] })).is_empty());
        assert!(
            errors_of(query, serde_json::json!({ "ids": "a" })).is_empty(),
            "one item"
        );
        assert_eq!(
            errors_of(query, serde_json::json!({ "ids": ["a", null] })).len(),
            1
        );
        assert_eq!(
            errors_of(query, serde_json::json!({ "ids": [["a"]] })).len(),
            1
        );
    }

    #[test]
    fn a_long_value_is_quoted_in_part() {
        let long = "y".repeat(500);
        let found = errors_of(
            "query Q($n: Int) { customers(first: $n) { totalCount } }",
            serde_json::json!({ "n": long }),
        );
        assert!(found[0].chars().count() < 200, "{}", found[0]);
    }
}
