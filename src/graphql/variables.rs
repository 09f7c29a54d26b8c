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

/// The most a request's variables may weigh (by [`weight_within`]) for a plan or a walk made
/// with them to be kept with its document: each keeps its own copy.
pub(super) const KEPT_VARIABLES_BYTES: usize = 4 * 1024;

/// About how many bytes `variables` hold (each value's text, and 32 for each value and name),
/// or `None` once that passes `limit`: the count stops there, so it costs no more than
/// `limit` bytes' worth of values however large the variables are.
pub(super) fn weight_within(variables: &Variables, limit: usize) -> Option<usize> {
    use async_graphql::Value;
    let mut weight = 0;
    let mut pending: Vec<&Value> = Vec::new();
    for (name, value) in variables.iter() {
        weight += 32 + name.len();
        if weight > limit {
            return None;
        }
        pending.push(value);
    }
    while let Some(value) = pending.pop() {
        weight += 32;
        match value {
            Value::String(text) => weight += text.len(),
            Value::Enum(name) => weight += name.len(),
            Value::Binary(bytes) => weight += bytes.len(),
            Value::List(items) => pending.extend(items.iter().take(limit / 32 + 1)),
            Value::Object(fields) => {
                for (name, value) in fields.iter().take(limit / 32 + 1) {
                    weight += 32 + name.len();
                    pending.push(value);
                }
            }
            Value::Null | Value::Number(_) | Value::Boolean(_) => {}
        }
        if weight > limit {
            return None;
        }
    }
    Some(weight)
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
    fn variables_are_weighed_up_to_the_limit() {
        let weigh = |value: serde_json::Value| weight_within(&Variables::from_json(value), 1024);
        assert_eq!(weigh(serde_json::json!({})), Some(0));
        // The name and its value: 32 + 1, then 32 + 3.
        assert_eq!(weigh(serde_json::json!({ "a": "xyz" })), Some(68));
        assert_eq!(weigh(serde_json::json!({ "a": [1, 2] })), Some(33 + 32 * 3));
        assert_eq!(
            weigh(serde_json::json!({ "a": { "bc": null } })),
            Some(33 + 32 + 34 + 32)
        );
        assert_eq!(weigh(serde_json::json!({ "a": "x".repeat(2000) })), None);
        assert_eq!(weigh(serde_json::json!({ "a": vec![0; 100_000] })), None);
        let many: serde_json::Map<String, serde_json::Value> = (0..100)
            .map(|n| (format!("v{n}"), serde_json::Value::Null))
            .collect();
        assert_eq!(weigh(serde_json::Value::Object(many)), None);
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
