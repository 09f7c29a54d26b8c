//! Argument and variable values coerced to the Rust types the resolvers take. Only values
//! async-graphql would accept the same way are taken; anything else is [`Uncovered`], so
//! async-graphql answers it with its own error.

use async_graphql::{
    Value as ConstValue,
    parser::types::{BaseType, Type},
};

use crate::{domain::ProductFilter, graphql::scalars::DateTime};

/// The request is outside what the fast executor answers: async-graphql runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uncovered;

/// An `Int` (in the i32 range), `None` for null.
pub(super) fn int(value: &ConstValue) -> Result<Option<i32>, Uncovered> {
    match value {
        ConstValue::Null => Ok(None),
        ConstValue::Number(number) => number
            .as_i64()
            .and_then(|number| i32::try_from(number).ok())
            .map(Some)
            .ok_or(Uncovered),
        _ => Err(Uncovered),
    }
}

/// A `String`, `None` for null.
pub(super) fn string(value: &ConstValue) -> Result<Option<String>, Uncovered> {
    match value {
        ConstValue::Null => Ok(None),
        ConstValue::String(text) => Ok(Some(text.clone())),
        _ => Err(Uncovered),
    }
}

/// An `ID`: a string, or an integer written as its digits, as async-graphql takes it.
pub(super) fn id(value: &ConstValue) -> Result<Option<String>, Uncovered> {
    match value {
        ConstValue::Number(number) if number.is_i64() => Ok(Some(number.to_string())),
        value => string(value),
    }
}

/// A `Boolean`, `None` for null.
pub(super) fn boolean(value: &ConstValue) -> Result<Option<bool>, Uncovered> {
    match value {
        ConstValue::Null => Ok(None),
        ConstValue::Boolean(value) => Ok(Some(*value)),
        _ => Err(Uncovered),
    }
}

/// A `DateTime`, `None` for null.
fn date_time(value: &ConstValue) -> Result<Option<chrono::DateTime<chrono::Utc>>, Uncovered> {
    match value {
        ConstValue::Null => Ok(None),
        ConstValue::String(text) => DateTime::from_text(text)
            .map(|instant| Some(instant.0))
            .ok_or(Uncovered),
        _ => Err(Uncovered),
    }
}

/// A `ProductFilter`; null is no filter.
pub(super) fn filter(value: &ConstValue) -> Result<ProductFilter, Uncovered> {
    let fields = match value {
        ConstValue::Null => return Ok(ProductFilter::default()),
        ConstValue::Object(fields) => fields,
        _ => return Err(Uncovered),
    };
    let mut filter = ProductFilter::default();
    for (name, value) in fields {
        match name.as_str() {
            "expiringBefore" => filter.expiring_before = date_time(value)?,
            "expiringAfter" => filter.expiring_after = date_time(value)?,
            "service" => filter.service = string(value)?,
            "customerId" => filter.customer_id = id(value)?,
            _ => return Err(Uncovered),
        }
    }
    Ok(filter)
}

/// Whether a variable's value fits its declared type, checked for every variable given,
/// used or skipped, as validation checks them.
pub(crate) fn check_variable(ty: &Type, value: &ConstValue) -> Result<(), Uncovered> {
    if *value == ConstValue::Null {
        return if ty.nullable { Ok(()) } else { Err(Uncovered) };
    }
    let name = match &ty.base {
        BaseType::Named(name) => name,
        // A list takes a list of fitting items, or one fitting item (input coercion).
        BaseType::List(item) => {
            return match value {
                ConstValue::List(items) => items.iter().try_for_each(|v| check_variable(item, v)),
                one => check_variable(item, one),
            };
        }
    };
    let fits = match name.as_str() {
        "Int" => int(value).is_ok(),
        "String" => string(value).is_ok(),
        "ID" => id(value).is_ok(),
        "Boolean" => boolean(value).is_ok(),
        "DateTime" => date_time(value).is_ok(),
        "ProductFilter" => filter(value).is_ok(),
        _ => false,
    };
    fits.then_some(()).ok_or(Uncovered)
}

/// A named type, for tests.
#[cfg(test)]
pub(super) fn named(name: &str, nullable: bool) -> Type {
    Type {
        base: BaseType::Named(async_graphql::Name::new(name)),
        nullable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_of_the_declared_type_are_taken() {
        assert_eq!(int(&ConstValue::from(5)), Ok(Some(5)));
        assert_eq!(int(&ConstValue::from(5.5)), Err(Uncovered));
        assert_eq!(
            int(&ConstValue::from(i64::from(i32::MAX) + 1)),
            Err(Uncovered)
        );
        assert_eq!(string(&ConstValue::from(5)), Err(Uncovered));
        assert_eq!(
            id(&ConstValue::from(5)),
            Ok(Some("5".into())),
            "as async-graphql takes it"
        );
        assert_eq!(id(&ConstValue::from(5.5)), Err(Uncovered));
        assert!(check_variable(&named("Int", false), &ConstValue::Null).is_err());
        assert!(check_variable(&named("Int", true), &ConstValue::Null).is_ok());
        assert!(check_variable(&named("DateTime", true), &ConstValue::from("2025-01-02")).is_ok());
        assert!(check_variable(&named("DateTime", true), &ConstValue::from("soon")).is_err());
        let bad_filter = ConstValue::from_json(serde_json::json!({ "nope": 1 })).unwrap();
        assert!(check_variable(&named("ProductFilter", true), &bad_filter).is_err());
    }
}
