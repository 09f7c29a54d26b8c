//! Every field's type by the type that has it, read once from the schema's own SDL: what
//! partial answers need to know which steps are non-null, and what the cost walk's hand-kept
//! table is held to by a test.

use std::{collections::HashMap, sync::LazyLock};

use async_graphql::parser::types::{Type, TypeKind, TypeSystemDefinition};

/// Field types by object (or interface) type name, then field name.
static FIELDS: LazyLock<HashMap<String, HashMap<String, Type>>> = LazyLock::new(|| {
    let document =
        async_graphql::parser::parse_schema(super::sdl()).expect("the schema's own SDL parses");
    let mut types = HashMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let fields = match definition.node.kind {
            TypeKind::Object(object) => object.fields,
            TypeKind::Interface(interface) => interface.fields,
            _ => continue,
        };
        let fields = fields
            .into_iter()
            .map(|field| (field.node.name.node.to_string(), field.node.ty.node))
            .collect();
        types.insert(definition.node.name.node.to_string(), fields);
    }
    types
});

/// The type of `parent.name`, when the schema has that field.
pub(super) fn field_type(parent: &str, name: &str) -> Option<&'static Type> {
    FIELDS.get(parent)?.get(name)
}

/// The fields an object or interface type of the schema has on average, rounded up: what
/// `__schema { types { fields } }` brings per type, exactly in total.
pub(super) fn average_fields() -> u64 {
    static AVERAGE: LazyLock<u64> = LazyLock::new(|| {
        let total: usize = FIELDS.values().map(HashMap::len).sum();
        (total as u64).div_ceil(FIELDS.len().max(1) as u64)
    });
    *AVERAGE
}

/// Every (type, field, field type) of the schema's object and interface types.
#[cfg(test)]
pub(super) fn all() -> impl Iterator<Item = (&'static str, &'static str, &'static Type)> {
    FIELDS.iter().flat_map(|(parent, fields)| {
        fields
            .iter()
            .map(move |(name, ty)| (parent.as_str(), name.as_str(), ty))
    })
}

/// Whether the schema has an object or interface type of this name.
#[cfg(test)]
pub(super) fn has_fields(type_name: &str) -> bool {
    FIELDS.contains_key(type_name)
}
