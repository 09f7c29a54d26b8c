use std::time::Instant;

use async_graphql::{Name, Value, Variables, parser::parse_query};

use super::*;
use crate::domain::{Customer, Snapshot};

const LIMITS: QueryLimits = QueryLimits {
    depth: 5,
    complexity: 1_000,
    root_fields: 3,
    aliases: 2,
    upstream_requests: 200,
    introspection: true,
};

const WIDE: QueryLimits = QueryLimits {
    complexity: usize::MAX,
    ..LIMITS
};

/// The limits' defaults (`GATEWAY_LIMITS_*`).
pub(super) const DEFAULTS: QueryLimits = QueryLimits {
    depth: 15,
    complexity: 50_000,
    root_fields: 20,
    aliases: 30,
    upstream_requests: 200,
    introspection: true,
};

fn checked_with(query: &str, limits: QueryLimits, sizes: ListSizes<'_>) -> Result<u64, Refusal> {
    check(
        &parse_query(query).unwrap(),
        None,
        &Variables::default(),
        limits,
        sizes,
    )
    .map(|measure| measure.expect("one operation").cost)
}

fn checked(query: &str) -> Result<u64, Refusal> {
    checked_with(query, LIMITS, ListSizes::default())
}

/// `customers` customers of `products` products each, expiring one day apart.
fn snapshot(customers: usize, products: usize) -> Snapshot {
    let wire: Vec<crate::domain::RawCustomer> = (0..customers)
        .map(|c| {
            let products: Vec<_> = (0..products)
                .map(|p| {
                    serde_json::json!({
                        "service": format!("s{p}"),
                        "expirationDate": format!("2026-01-{:02}", (c * products + p) % 28 + 1),
                    })
                })
                .collect();
            serde_json::from_value(
                serde_json::json!({"customerId": format!("c{c}"), "products": products}),
            )
            .unwrap()
        })
        .collect();
    Snapshot::new(wire.into_iter().map(Customer::from_wire).collect())
}

#[test]
fn depth_counts_nested_fields_through_fragments() {
    let nested = "{ products { customer { products { customer { id } } } } }";
    assert!(checked_with(nested, WIDE, ListSizes::default()).is_ok());
    let deep = "{ products { customer { products { customer { products { id } } } } } }";
    assert!(matches!(
        checked_with(deep, WIDE, ListSizes::default()),
        Err(Refusal::Depth { limit: 5, found: 6 })
    ));
    let through_fragment = "{ products { ...P } } fragment P on Product { customer { products { customer { products { id } } } } }";
    assert!(matches!(
        checked_with(through_fragment, WIDE, ListSizes::default()),
        Err(Refusal::Depth { .. })
    ));
}

#[test]
fn complexity_multiplies_under_customers_first() {
    assert_eq!(
        checked("{ customers(first: 100) { nodes { id email } } }").unwrap(),
        202
    );
    let wide = "{ customers(first: 500) { nodes { id email } } }";
    assert!(matches!(
        checked(wide),
        Err(Refusal::Complexity { estimate: 1002, .. })
    ));
    // The default page size (100) counts when `first` is left out; `totalCount` and
    // `pageInfo` count once, and edges count like nodes, also through a fragment.
    assert_eq!(
        checked("{ customers { totalCount pageInfo { hasNextPage } ...E } } fragment E on CustomerConnection { edges { cursor } }")
            .unwrap(),
        1 + 1 + 2 + 1 + 100
    );
    assert!(matches!(
        checked(
            "{ customers { totalCount nodes { id email organization products { service source } } pageInfo { hasNextPage endCursor } } }"
        ),
        Err(Refusal::Complexity { .. })
    ));
}

#[test]
fn lists_count_the_items_the_snapshot_holds() {
    let snapshot = snapshot(100, 5);
    let sizes = ListSizes::new(Some(&snapshot));
    // 500 products, one field each.
    assert_eq!(
        checked_with("{ products { service } }", WIDE, sizes).unwrap(),
        501
    );
    // Each customer holds 5: `products { customer { products { service } } }`.
    let cycle = "{ products { customer { products { service } } } }";
    assert_eq!(
        checked_with(cycle, WIDE, sizes).unwrap(),
        1 + 500 * (1 + 1 + 5)
    );
    // A filter by customer counts that customer's products only; a date window its range.
    assert_eq!(
        checked_with(
            r#"{ products(filter: {customerId: "c1"}) { service } }"#,
            WIDE,
            sizes
        )
        .unwrap(),
        6
    );
    let window =
        r#"query ($before: DateTime) { products(filter: {expiringBefore: $before}) { service } }"#;
    let document = parse_query(window).unwrap();
    let mut variables = Variables::default();
    variables.insert(Name::new("before"), Value::String("2026-01-02".into()));
    let measure = check(&document, None, &variables, WIDE, sizes)
        .unwrap()
        .unwrap();
    assert!(measure.cost < 40, "one day in 28: {}", measure.cost);
}

#[test]
fn the_product_customer_cycle_is_refused_within_a_few_levels() {
    let snapshot = snapshot(10_000, 5);
    let sizes = ListSizes::new(Some(&snapshot));
    let two = "{ products { customer { products { customer { organization } } } } }";
    assert!(matches!(
        checked_with(two, DEFAULTS, sizes),
        Err(Refusal::Complexity { limit: 50_000, .. })
    ));
    // Without a snapshot the assumed sizes refuse it too.
    assert!(checked_with(two, DEFAULTS, ListSizes::default()).is_err());
}

#[test]
fn fragment_bombs_are_refused_in_linear_time() {
    // Every fragment spreads the next twice: 2^30 selections once expanded.
    let bomb = |root: &str, on: &str, last: &str| {
        let mut query = format!("query {{ {root} }}");
        for level in 0..30 {
            query.push_str(&format!(
                " fragment F{level} on {on} {{ ...F{next} ...F{next} }}",
                next = level + 1
            ));
        }
        query.push_str(&format!(" fragment F30 on {on} {{ {last} }}"));
        query
    };
    let started = Instant::now();
    assert!(matches!(
        checked_with(&bomb("...F0", "Query", "...Nope"), DEFAULTS, ListSizes::default()),
        Err(Refusal::UnknownFragment(name)) if name == "Nope"
    ));
    assert!(matches!(
        checked_with(
            &bomb("...F0", "Query", "__typename"),
            DEFAULTS,
            ListSizes::default()
        ),
        Err(Refusal::RootFields { .. })
    ));
    assert!(matches!(
        checked_with(
            &bomb("customer(id: \"1\") { ...F0 }", "Customer", "id"),
            DEFAULTS,
            ListSizes::default()
        ),
        Err(Refusal::Complexity { .. })
    ));
    // Not a timing assertion on a shared machine, only a guard against the old blow-up
    // (which took hours at this size).
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn fragment_cycles_and_unknown_fragments_are_refused() {
    assert!(matches!(
        checked("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
        Err(Refusal::FragmentCycle(_))
    ));
    assert!(matches!(
        checked(
            "{ products { ...P } } fragment P on Product { customer { ...C } } fragment C on Customer { products { ...P } }"
        ),
        Err(Refusal::FragmentCycle(_))
    ));
    assert!(matches!(
        checked("{ ...Missing }"),
        Err(Refusal::UnknownFragment(_))
    ));
    let refusal = checked("{ ...Missing }").unwrap_err();
    assert_eq!(refusal.code(), "GRAPHQL_VALIDATION_FAILED");
}

#[test]
fn long_spread_chains_stop_at_the_nesting_bound() {
    let mut query = String::from("{ ...F0 }");
    for level in 0..5_000 {
        query.push_str(&format!(
            " fragment F{level} on Query {{ ...F{} }}",
            level + 1
        ));
    }
    query.push_str(" fragment F5000 on Query { __typename }");
    assert!(matches!(checked(&query), Err(Refusal::Nesting { .. })));
}

#[test]
fn the_full_introspection_query_runs_with_the_defaults_and_nested_introspection_does_not() {
    let introspection = include_str!("../../../tests/fixtures/introspection.graphql");
    let cost = checked_with(introspection, DEFAULTS, ListSizes::default()).unwrap();
    assert!(cost > 10_000, "lists are counted: {cost}");
    let nested = "{ __schema { types { fields { type { ofType { fields { type { ofType { fields { type { ofType { fields { name } } } } } } } } } } } } }";
    assert!(matches!(
        checked_with(nested, DEFAULTS, ListSizes::default()),
        Err(Refusal::Complexity { .. })
    ));
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
        checked("query ($n: Int = -1) { customers(first: $n) { totalCount } }"),
        Err(Refusal::BadArgument(_))
    ));
    let document = parse_query("query ($n: Int) { customers(first: $n) { totalCount } }").unwrap();
    let mut variables = Variables::default();
    variables.insert(Name::new("n"), Value::Number(1001.into()));
    assert!(check(&document, None, &variables, LIMITS, ListSizes::default()).is_err());
    assert!(
        check(
            &document,
            None,
            &Variables::default(),
            LIMITS,
            ListSizes::default()
        )
        .is_ok()
    );
}

#[test]
fn a_bad_cursor_is_left_to_its_field() {
    // Pricing does not refuse the request: the field's own error nulls it at execution.
    assert!(checked("{ customers(after: \"bogus\") { totalCount } }").is_ok());
    assert!(checked("{ customers(last: 1, before: \"bogus\") { totalCount } }").is_ok());
}

#[test]
fn an_operation_that_cannot_be_chosen_is_left_to_execution() {
    let document = parse_query("query A { __typename } query B { __typename }").unwrap();
    let none = |name| {
        check(
            &document,
            name,
            &Variables::default(),
            LIMITS,
            ListSizes::default(),
        )
    };
    assert!(matches!(none(None), Ok(None)));
    assert!(matches!(none(Some("C")), Ok(None)));
}

/// The introspection sizes in `shape` hold for this schema: the type count, the longest
/// lists, and the average argument count.
#[tokio::test]
async fn introspection_sizes_hold_for_the_schema() {
    use shape::introspection as sizes;
    let schema = async_graphql::Schema::build(
        crate::graphql::Query,
        async_graphql::EmptyMutation,
        crate::graphql::Subscription,
    )
    .finish();
    let answer = schema
        .execute(include_str!(
            "../../../tests/fixtures/introspection.graphql"
        ))
        .await
        .data
        .into_json()
        .unwrap();
    let schema = &answer["__schema"];
    let types = schema["types"].as_array().unwrap();
    let len = |value: &serde_json::Value| value.as_array().map_or(0, Vec::len) as u64;
    let most = |key: &str| types.iter().map(|ty| len(&ty[key])).max().unwrap_or(0);
    let fields: Vec<&serde_json::Value> = types
        .iter()
        .filter_map(|ty| ty["fields"].as_array())
        .flatten()
        .collect();
    let arguments: u64 = fields.iter().map(|field| len(&field["args"])).sum();
    let inputs: u64 = types.iter().map(|ty| len(&ty["inputFields"])).sum();
    println!(
        "types {} fields {} enum {} directives {} args {arguments}/{} inputs {inputs}",
        types.len(),
        most("fields"),
        most("enumValues"),
        len(&schema["directives"]),
        fields.len()
    );
    assert!(sizes::TYPES >= types.len() as u64);
    let with_fields = types.iter().filter(|ty| ty["fields"].is_array()).count() as u64;
    assert!(sizes::fields() * with_fields >= fields.len() as u64);
    assert!(sizes::fields() <= most("fields"));
    assert!(sizes::ENUM_VALUES >= most("enumValues"));
    assert!(sizes::IMPLEMENTATIONS >= most("interfaces").max(most("possibleTypes")));
    assert!(sizes::DIRECTIVES >= len(&schema["directives"]));
    assert!(sizes::ARGUMENTS * fields.len() as u64 >= arguments);
    assert!(sizes::ARGUMENTS * types.len() as u64 >= inputs);
}

#[test]
fn introspection_can_be_refused_wherever_it_is_asked_for() {
    let closed = QueryLimits {
        introspection: false,
        ..LIMITS
    };
    let refused = |query: &str| {
        matches!(
            checked_with(query, closed, ListSizes::default()),
            Err(Refusal::Introspection)
        )
    };
    assert!(refused("{ __schema { types { name } } }"));
    assert!(refused("{ __type(name: \"Product\") { name } }"));
    assert!(refused(
        "{ ...Q } fragment Q on Query { ... on Query { __schema { queryType { name } } } }"
    ));
    assert!(!refused(
        "{ __typename customer(id: \"1\") { __typename id } }"
    ));
    assert!(checked("{ __schema { queryType { name } } }").is_ok());
}

/// The walk's table of field types says what the schema says: every field of an object type
/// leads to the type the schema gives it (when that type has fields), so a field added to the
/// schema without a row here fails.
#[test]
fn the_walks_field_table_matches_the_schema() {
    for (parent, field, ty) in crate::graphql::fields::all() {
        assert_eq!(
            shape::known_type(parent),
            Some(parent),
            "{parent} is unknown to the walk"
        );
        let mut named = ty;
        while let async_graphql::parser::types::BaseType::List(item) = &named.base {
            named = item;
        }
        let async_graphql::parser::types::BaseType::Named(name) = &named.base else {
            unreachable!()
        };
        let expected = crate::graphql::fields::has_fields(name).then_some(name.as_str());
        assert_eq!(shape::field(parent, field).0, expected, "{parent}.{field}");
    }
}
