//! Random GraphQL requests over the gateway's schema: root fields with literal or variable
//! arguments (good and bad cursors, page sizes in and out of range, dates, searches, ids),
//! aliases, repeated keys, named and inline fragments, `@skip`/`@include` with literals,
//! variables and defaults, `__typename` anywhere, and now and then a variable of the wrong
//! type. Deterministic for a seed.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use elements_gateway::PRODUCT_SCALARS;
use proptest::prelude::RngExt;
use proptest::test_runner::TestRng;
use serde_json::{Map, Value, json};

/// One generated request.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) query: String,
    pub(crate) variables: Map<String, Value>,
}

/// Builds cases from a seeded generator, with the customer ids the data have.
pub(crate) struct Generator<'a> {
    rng: &'a mut TestRng,
    ids: &'a [String],
    definitions: Vec<String>,
    variables: Map<String, Value>,
    fragments: Vec<String>,
}

const DATES: [&str; 7] = [
    "2020-01-01",
    "2025-06-30",
    "2026-03-01T12:30:00Z",
    "2027-01-01",
    "2028-12-31T23:59:59+02:00",
    "2031-01-01",
    "not a date",
];
const SEARCHES: [&str; 7] = ["", "a", "co", "ORG", "example", "zzz", "1"];
const SERVICES: [&str; 6] = ["backup", "Cloud", "microsoft", "365", "", "nothing-like-it"];
const ALIASES: [&str; 4] = ["a", "b", "c", "node"];
const RAW_FIELDS: [&str; 8] = [
    "service",
    "purchasedUserSeats",
    "expirationDate",
    "storage",
    "contractEndDate",
    "package",
    "change",
    "__typename",
];

impl<'a> Generator<'a> {
    /// A generator drawing from `rng`, over the customers `ids`.
    pub(crate) fn new(rng: &'a mut TestRng, ids: &'a [String]) -> Self {
        Self {
            rng,
            ids,
            definitions: Vec::new(),
            variables: Map::new(),
            fragments: Vec::new(),
        }
    }

    /// A whole request.
    pub(crate) fn case(&mut self) -> Case {
        self.definitions.clear();
        self.variables.clear();
        self.fragments.clear();
        let roots = self.rng.random_range(1..=3);
        let mut body = String::new();
        for _ in 0..roots {
            let root = self.root();
            body.push_str(&self.wrapped(root, "Query"));
            body.push(' ');
        }
        let header = if self.definitions.is_empty() {
            if self.chance(0.5) {
                "query Q".to_owned()
            } else {
                String::new()
            }
        } else {
            format!("query Q({})", self.definitions.join(", "))
        };
        let mut query = format!("{header} {{ {body}}}");
        for fragment in &self.fragments {
            query.push('\n');
            query.push_str(fragment);
        }
        Case {
            query,
            variables: std::mem::take(&mut self.variables),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.rng.random_range(0..from.len())]
    }

    fn id(&mut self) -> String {
        if self.chance(0.15) {
            "no-such-customer".to_owned()
        } else {
            self.ids[self.rng.random_range(0..self.ids.len())].clone()
        }
    }

    fn root(&mut self) -> String {
        let alias = if self.chance(0.3) {
            format!("{}: ", self.pick(&ALIASES))
        } else {
            String::new()
        };
        match self.rng.random_range(0..10) {
            0 => format!("{alias}__typename"),
            1..=3 => {
                let args = self.customers_args();
                let selection = self.connection();
                format!("{alias}customers{args} {{ {selection} }}")
            }
            4..=6 => {
                let id = self.id();
                let id = self.argument("ID!", json!(id));
                let selection = self.customer(1);
                format!("{alias}customer(id: {id}) {{ {selection} }}")
            }
            _ => {
                let filter = self.filter();
                let selection = self.product(1);
                format!("{alias}products{filter} {{ {selection} }}")
            }
        }
    }

    /// `value` written inline, or as a variable of `ty` (sometimes left to its default, or
    /// given a value of the wrong type).
    fn argument(&mut self, ty: &str, value: Value) -> String {
        if !self.chance(0.4) {
            return literal(&value);
        }
        let name = format!("v{}", self.definitions.len());
        if self.chance(0.2) {
            self.definitions
                .push(format!("${name}: {ty} = {}", literal(&value)));
            return format!("${name}");
        }
        self.definitions.push(format!("${name}: {ty}"));
        let given = if self.chance(0.05) {
            json!(["wrong", "type"])
        } else {
            value
        };
        self.variables.insert(name.clone(), given);
        format!("${name}")
    }

    fn customers_args(&mut self) -> String {
        let mut args = Vec::new();
        if self.chance(0.6) {
            let first = [0, 1, 3, 10, 100, 1000, 1001, -1][self.rng.random_range(0..8)];
            args.push(format!("first: {}", self.argument("Int", json!(first))));
        }
        if self.chance(0.3) {
            let cursor = if self.chance(0.85) {
                let position = self.rng.random_range(0..130);
                URL_SAFE_NO_PAD.encode(format!("customer:v1:{position}"))
            } else {
                "not-a-cursor".to_owned()
            };
            args.push(format!("after: {}", self.argument("String", json!(cursor))));
        }
        if self.chance(0.1) {
            let last = [0, 2, 50, 1001][self.rng.random_range(0..4)];
            args.push(format!("last: {}", self.argument("Int", json!(last))));
        }
        if self.chance(0.1) {
            let position = self.rng.random_range(0..130);
            let cursor = URL_SAFE_NO_PAD.encode(format!("customer:v1:{position}"));
            args.push(format!(
                "before: {}",
                self.argument("String", json!(cursor))
            ));
        }
        if self.chance(0.3) {
            let search = self.pick(&SEARCHES);
            args.push(format!(
                "search: {}",
                self.argument("String", json!(search))
            ));
        }
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    }

    fn filter(&mut self) -> String {
        if self.chance(0.35) {
            return String::new();
        }
        let mut fields = Map::new();
        if self.chance(0.5) {
            fields.insert("expiringBefore".into(), json!(self.pick(&DATES)));
        }
        if self.chance(0.3) {
            fields.insert("expiringAfter".into(), json!(self.pick(&DATES)));
        }
        if self.chance(0.3) {
            fields.insert("service".into(), json!(self.pick(&SERVICES)));
        }
        if self.chance(0.2) {
            fields.insert("customerId".into(), json!(self.id()));
        }
        format!(
            "(filter: {})",
            self.argument("ProductFilter", Value::Object(fields))
        )
    }

    fn connection(&mut self) -> String {
        let mut parts = Vec::new();
        for _ in 0..self.rng.random_range(1..=3) {
            let part = match self.rng.random_range(0..6) {
                0 => "totalCount".to_owned(),
                1 => {
                    let fields = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"];
                    let chosen = self.some_of(&fields, 3);
                    format!("pageInfo {{ {chosen} }}")
                }
                2 | 3 => {
                    let node = self.customer(1);
                    let cursor = if self.chance(0.6) { "cursor " } else { "" };
                    format!("edges {{ {cursor}node {{ {node} }} }}")
                }
                4 => format!("nodes {{ {} }}", self.customer(1)),
                _ => "__typename".to_owned(),
            };
            parts.push(self.wrapped(part, "CustomerConnection"));
        }
        parts.join(" ")
    }

    fn customer(&mut self, depth: u32) -> String {
        let mut parts = vec![self.some_of(&["id", "organization", "email", "__typename"], 3)];
        if depth > 0 && self.chance(0.5) {
            let filter = self.filter();
            parts.push(format!(
                "products{filter} {{ {} }}",
                self.product(depth - 1)
            ));
        }
        let set = parts.join(" ");
        self.wrapped(set, "Customer")
    }

    fn product(&mut self, depth: u32) -> String {
        // Every scalar of the field table, `__typename`, and the fields most queries ask for
        // once more, so they come up as often as before.
        let mut scalars: Vec<&str> = PRODUCT_SCALARS.to_vec();
        scalars.extend(["__typename", "expirationDate", "service"]);
        let mut parts = vec![self.some_of(&scalars, 5)];
        if self.chance(0.25) {
            parts.push(format!("raw {{ {} }}", self.some_of(&RAW_FIELDS, 4)));
        }
        if self.chance(0.25) {
            parts.push(format!("customer {{ {} }}", self.customer(depth)));
        }
        let set = parts.join(" ");
        self.wrapped(set, "Product")
    }

    /// Up to `most` of `fields`, sometimes aliased or under a directive.
    fn some_of(&mut self, fields: &[&str], most: usize) -> String {
        let count = self.rng.random_range(1..=most);
        let mut chosen = Vec::new();
        for _ in 0..count {
            let field = self.pick(fields);
            let field = if self.chance(0.1) {
                format!("{}: {field}", self.pick(&ALIASES))
            } else {
                field.to_owned()
            };
            chosen.push(match self.directive() {
                Some(directive) => format!("{field} {directive}"),
                None => field,
            });
        }
        chosen.join(" ")
    }

    /// `@skip` or `@include`, with a literal, a variable, or a variable left to its default.
    fn directive(&mut self) -> Option<String> {
        if !self.chance(0.12) {
            return None;
        }
        let name = if self.chance(0.5) { "skip" } else { "include" };
        let value = self.chance(0.5);
        let condition = self.argument("Boolean!", json!(value));
        Some(format!("@{name}(if: {condition})"))
    }

    /// `selections` of a `ty` object as written, or inside an inline fragment or a named one.
    fn wrapped(&mut self, selections: String, ty: &str) -> String {
        match self.rng.random_range(0..10) {
            0 => {
                let directive = self.directive().unwrap_or_default();
                format!("... on {ty} {directive} {{ {selections} }}")
            }
            1 => {
                let directive = self.directive().unwrap_or_default();
                format!("... {directive} {{ {selections} }}")
            }
            2 => {
                let name = format!("F{}", self.fragments.len());
                self.fragments
                    .push(format!("fragment {name} on {ty} {{ {selections} }}"));
                format!("...{name}")
            }
            _ => selections,
        }
    }
}

/// A JSON value written as a GraphQL literal.
fn literal(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{name}: {}", literal(value)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
