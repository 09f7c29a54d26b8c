//! The SDL as checked in at `schema/schema.graphql`: async-graphql's print, with the cost
//! model written in as IBM's GraphQL cost directives (`@cost`, `@listSize`), so that tools
//! reading the schema see the weights the gateway's estimate uses.
//!
//! async-graphql prints one field per line and descriptions as `"""` blocks of their own, so
//! a line-by-line pass over the printed text is enough to find every field definition.

/// Root `products` while no snapshot is cached (about the catalogue docs/security.md sizes for):
/// published as its `@listSize` and read by the cost walk.
pub(in crate::graphql) const ASSUMED_PRODUCTS: u64 = 10_000;
/// `Customer.products` while no snapshot is cached, published and read the same way.
pub(in crate::graphql) const ASSUMED_PRODUCTS_PER_CUSTOMER: u64 = 50;

/// The scalars and enumerations of the schema: a field of one of these costs 1 in the
/// estimate, where the specification's default would be 0.
const SCALARS: &[&str] = &[
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
    "DateTime",
    "ManagementMode",
    "BackupStatus",
];

/// `sdl` with the cost directives defined and applied.
pub(super) fn with_cost_directives(sdl: &str) -> String {
    let mut out = String::with_capacity(sdl.len() * 2);
    let mut current_type: Option<&str> = None;
    let mut in_description = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
        } else if !in_description {
            if let Some(rest) = trimmed.strip_prefix("type ") {
                current_type = rest.split_whitespace().next();
            } else if trimmed == "}" {
                current_type = None;
            } else if trimmed == "schema {" {
                out.push_str(DEFINITIONS);
            } else if let Some(owner) = current_type {
                out.push_str(line);
                out.push_str(&directives(owner, trimmed));
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What to append to the field definition `field` of type `owner`.
fn directives(owner: &str, field: &str) -> String {
    let name = field.split(['(', ':']).next().unwrap_or_default();
    let returns = field.rsplit(": ").next().unwrap_or_default();
    let base = returns.trim_matches(['[', ']', '!']);
    let size = match (owner, name) {
        ("Query", "customers") => Some(
            r#"@listSize(slicingArguments: ["first", "last"], sizedFields: ["edges", "nodes"], requireOneSlicingArgument: false)"#
                .to_owned(),
        ),
        ("Query", "products") => Some(format!("@listSize(assumedSize: {ASSUMED_PRODUCTS})")),
        ("Customer", "products") => Some(format!(
            "@listSize(assumedSize: {ASSUMED_PRODUCTS_PER_CUSTOMER})"
        )),
        _ => None,
    };
    match size {
        Some(size) => format!(" {size}"),
        None if SCALARS.contains(&base) => " @cost(weight: \"1\")".to_owned(),
        None => String::new(),
    }
}

/// The two directives, as IBM's specification defines them.
const DEFINITIONS: &str = r#""""
The weight of a field in the gateway's cost estimate (IBM's GraphQL cost directive
specification). Every field weighs 1 here, scalar fields included; a query over
`GATEWAY_LIMITS_COMPLEXITY` is refused before it runs.
"""
directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
"""
How many items a list field brings in the gateway's cost estimate (IBM's GraphQL cost
directive specification). The assumed sizes apply while no data is cached; with the data in,
the gateway counts the products a filter may match and the most one customer has.
"""
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sized_scalars_weighed_and_descriptions_left_alone() {
        let printed = "type Customer {\n\t\"\"\"\n\tnot: a field\n\t\"\"\"\n\tid: ID!\n\tproducts(filter: ProductFilter): [Product!]!\n\tcustomer: Customer!\n}\ninput ProductFilter {\n\tservice: String\n}\nschema {\n\tquery: Query\n}\n";
        let out = with_cost_directives(printed);
        assert!(out.contains("\tid: ID! @cost(weight: \"1\")\n"), "{out}");
        assert!(
            out.contains("[Product!]! @listSize(assumedSize: 50)\n"),
            "{out}"
        );
        assert!(out.contains("\tcustomer: Customer!\n"), "{out}");
        assert!(out.contains("\tnot: a field\n"), "{out}");
        assert!(
            out.contains("\tservice: String\n"),
            "inputs keep their weight: {out}"
        );
        assert!(out.contains("directive @listSize("), "{out}");
        assert!(out.find("directive @cost").unwrap() < out.find("schema {").unwrap());
    }
}
