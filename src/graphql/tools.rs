//! What an agent sees of the graph (the MCP endpoint's tools): each named query of the
//! persisted documents' manifest as a tool, its variables as the tool's JSON Schema input
//! (non-null types required, enums as enums, input objects as objects, custom scalars as
//! strings), its leading `#` comment as the description; and the schema as SDL, whole or one
//! type with its fields and descriptions.

use std::{collections::HashMap, sync::LazyLock};

use async_graphql::parser::{
    parse_query, parse_schema,
    types::{BaseType, DocumentOperations, OperationType, Type, TypeKind, TypeSystemDefinition},
};
use serde_json::{Map, Value, json};

/// A named query of the manifest, as a tool.
#[derive(Debug, Clone)]
pub(crate) struct OperationTool {
    /// The operation's name.
    pub name: String,
    /// The comment before the operation, or a line naming it.
    pub description: String,
    /// The JSON Schema of its variables.
    pub input_schema: Map<String, Value>,
    /// The manifest document holding it (`sha256:…`).
    pub document: String,
}

/// The schema's SDL and its types' definitions, by name.
struct Types {
    sdl: String,
    definitions: HashMap<String, TypeKind>,
    /// Each type's definition in the SDL, as text.
    texts: HashMap<String, String>,
}

static TYPES: LazyLock<Types> = LazyLock::new(|| {
    let sdl = super::sdl();
    let mut definitions = HashMap::new();
    if let Ok(document) = parse_schema(&sdl) {
        for definition in document.definitions {
            if let TypeSystemDefinition::Type(definition) = definition {
                let node = definition.node;
                definitions.insert(node.name.node.to_string(), node.kind);
            }
        }
    }
    let texts = type_texts(&sdl);
    Types {
        sdl,
        definitions,
        texts,
    }
});

/// Each type's block of `sdl` (its description and definition), by type name.
fn type_texts(sdl: &str) -> HashMap<String, String> {
    let mut texts = HashMap::new();
    for block in sdl.split("\n\n") {
        let name = block.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let keyword = words.next()?;
            matches!(
                keyword,
                "type" | "input" | "enum" | "interface" | "scalar" | "union"
            )
            .then(|| words.next())
            .flatten()
        });
        if let Some(name) = name {
            texts.insert(name.to_owned(), block.trim().to_owned());
        }
    }
    texts
}

/// The schema as SDL: whole, or the definition of type `name` (`None`: no such type).
pub(crate) fn schema_text(name: Option<&str>) -> Option<String> {
    match name {
        None => Some(TYPES.sdl.clone()),
        Some(name) => TYPES.texts.get(name).cloned(),
    }
}

/// The tools of the manifest `documents` (`(id, text)` pairs): one per named query.
pub(crate) fn operation_tools<'a>(
    documents: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<OperationTool> {
    let mut tools = Vec::new();
    for (id, text) in documents {
        let Ok(document) = parse_query(text) else {
            continue;
        };
        let DocumentOperations::Multiple(operations) = &document.operations else {
            continue;
        };
        for (name, operation) in operations {
            if operation.node.ty != OperationType::Query {
                continue;
            }
            let mut properties = Map::new();
            let mut required = Vec::new();
            for variable in &operation.node.variable_definitions {
                let variable = &variable.node;
                let ty = &variable.var_type.node;
                if !ty.nullable && variable.default_value.is_none() {
                    required.push(Value::from(variable.name.node.as_str()));
                }
                properties.insert(variable.name.node.to_string(), json_schema(ty, 0));
            }
            tools.push(OperationTool {
                name: name.to_string(),
                description: leading_comment(text, name.as_str())
                    .unwrap_or_else(|| format!("Runs the persisted query {name}.")),
                input_schema: object_schema(properties, required),
                document: format!("sha256:{}", id.trim_start_matches("sha256:")),
            });
        }
    }
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools
}

/// A JSON Schema object with `properties`, of which `required` must be given (listed only
/// when there are some).
pub(crate) fn object_schema(
    properties: Map<String, Value>,
    required: Vec<Value>,
) -> Map<String, Value> {
    let mut schema = Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema
}

/// The `#` lines just above `query <name>` in `text`, joined.
fn leading_comment(text: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|line| {
        let mut words = line.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
        words.next() == Some("query") && words.next() == Some(name)
    })?;
    let comment: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .take_while(|line| line.trim_start().starts_with('#'))
        .map(|line| line.trim_start().trim_start_matches('#').trim())
        .collect();
    (!comment.is_empty()).then(|| comment.into_iter().rev().collect::<Vec<_>>().join(" "))
}

/// The JSON Schema of a GraphQL input type (`depth`: input objects nested so far, bounded so a
/// recursive input type ends).
fn json_schema(ty: &Type, depth: usize) -> Value {
    let schema = match &ty.base {
        BaseType::List(item) => json!({ "type": "array", "items": json_schema(item, depth) }),
        BaseType::Named(name) => named_schema(name.as_str(), depth),
    };
    match (ty.nullable, schema) {
        (true, Value::Object(mut schema)) => {
            if let Some(Value::String(kind)) = schema.get("type").cloned() {
                schema.insert("type".into(), json!([kind, "null"]));
            }
            Value::Object(schema)
        }
        (_, schema) => schema,
    }
}

/// The JSON Schema of the named input type `name`.
fn named_schema(name: &str, depth: usize) -> Value {
    match name {
        "Int" => return json!({ "type": "integer" }),
        "Float" => return json!({ "type": "number" }),
        "Boolean" => return json!({ "type": "boolean" }),
        "String" | "ID" => return json!({ "type": "string" }),
        _ => {}
    }
    match TYPES.definitions.get(name) {
        Some(TypeKind::Enum(kind)) => {
            let values: Vec<Value> = kind
                .values
                .iter()
                .map(|value| Value::from(value.node.value.node.as_str()))
                .collect();
            json!({ "type": "string", "enum": values })
        }
        Some(TypeKind::InputObject(input)) if depth < 4 => {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in &input.fields {
                let field = &field.node;
                if !field.ty.node.nullable && field.default_value.is_none() {
                    required.push(Value::from(field.name.node.as_str()));
                }
                let mut schema = json_schema(&field.ty.node, depth + 1);
                if let (Value::Object(schema), Some(description)) =
                    (&mut schema, &field.description)
                {
                    schema.insert("description".into(), description.node.clone().into());
                }
                properties.insert(field.name.node.to_string(), schema);
            }
            Value::Object(object_schema(properties, required))
        }
        Some(TypeKind::InputObject(_)) => json!({ "type": "object" }),
        // Custom scalars (`DateTime`) travel as text.
        _ => json!({ "type": "string", "description": format!("a {name}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_query_becomes_a_tool_with_its_variables_as_json_schema() {
        let text = "# Products expiring before a date,\n# with their customers.\n\
            query Expiring($before: DateTime!, $first: Int, $status: [BackupStatus!]) \
            { products(filter: { expiringBefore: $before }) { service } \
              customers(first: $first, filter: { backupStatus: $status }) { totalCount } }\n\
            query Other { __typename }\nmutation Nope { __typename }";
        let tools = operation_tools([("sha256:abc", text)].into_iter());
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_str()).collect();
        assert_eq!(names, ["Expiring", "Other"]);
        let expiring = &tools[0];
        assert_eq!(
            expiring.description,
            "Products expiring before a date, with their customers."
        );
        assert_eq!(expiring.document, "sha256:abc");
        let schema = Value::Object(expiring.input_schema.clone());
        assert_eq!(schema["required"], json!(["before"]));
        assert_eq!(
            schema["properties"]["first"]["type"],
            json!(["integer", "null"])
        );
        let status = &schema["properties"]["status"];
        assert_eq!(status["type"], json!(["array", "null"]));
        assert!(
            status["items"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("FAILED")),
            "{status}"
        );
        assert_eq!(tools[1].description, "Runs the persisted query Other.");
    }

    #[test]
    fn the_schema_is_given_whole_or_one_type_at_a_time() {
        let whole = schema_text(None).unwrap();
        assert!(whole.contains("type Query"));
        let customer = schema_text(Some("Customer")).unwrap();
        assert!(customer.contains("type Customer"), "{customer}");
        assert!(!customer.contains("type Query"));
        assert!(schema_text(Some("Nope")).is_none());
    }
}
