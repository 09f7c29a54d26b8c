//! The binder's reading of arguments and directives: variables filled in (with their
//! defaults), values coerced to their Rust types, and text arguments counted into the plan's
//! weight.

use async_graphql::{
    Positioned, Value as ConstValue,
    parser::types::{Directive, Field},
};
use async_graphql_value::Value as Literal;

use super::Binder;
use crate::{
    domain::ProductFilter,
    graphql::fast::input::{self, Uncovered},
};

impl Binder<'_> {
    /// Whether `@skip` and `@include` let a selection in; a variable without a value takes
    /// its default, as the specification says.
    pub(super) fn included(&self, directives: &[Positioned<Directive>]) -> Result<bool, Uncovered> {
        for directive in directives {
            let wanted = match directive.node.name.node.as_str() {
                "skip" => false,
                "include" => true,
                _ => return Err(Uncovered),
            };
            let condition = directive.node.get_argument("if").ok_or(Uncovered)?;
            let value = input::boolean(&self.value(&condition.node)?)?.ok_or(Uncovered)?;
            if value != wanted {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// An argument's value with its variables filled in.
    fn value(&self, value: &Literal) -> Result<ConstValue, Uncovered> {
        value.clone().into_const_with(|name| {
            let definition = self
                .operation
                .variable_definitions
                .iter()
                .find(|definition| definition.node.name.node == name)
                .ok_or(Uncovered)?;
            self.variables
                .get(&name)
                .or_else(|| definition.node.default_value())
                .cloned()
                .ok_or(Uncovered)
        })
    }

    /// The argument `name` of `field`, `None` when not given.
    pub(super) fn argument(
        &self,
        field: &Field,
        name: &str,
    ) -> Result<Option<ConstValue>, Uncovered> {
        field
            .get_argument(name)
            .map(|value| self.value(&value.node))
            .transpose()
    }

    /// An optional argument coerced by `coerce`.
    pub(super) fn optional<T>(
        &self,
        field: &Field,
        name: &str,
        coerce: fn(&ConstValue) -> Result<Option<T>, Uncovered>,
    ) -> Result<Option<T>, Uncovered> {
        match self.argument(field, name)? {
            Some(value) => coerce(&value),
            None => Ok(None),
        }
    }

    /// The `filter` argument of `field`; no filter when it is not given.
    pub(super) fn filter(&self, field: &Field) -> Result<ProductFilter, Uncovered> {
        let filter = match self.argument(field, "filter")? {
            Some(value) => input::filter(&value)?,
            None => ProductFilter::default(),
        };
        self.weigh(filter.service.as_deref());
        self.weigh(filter.customer_id.as_deref());
        Ok(filter)
    }

    /// Counts a text argument into the plan's weight.
    pub(super) fn weigh(&self, text: Option<&str>) {
        self.weight
            .set(self.weight.get() + text.map_or(0, str::len));
    }
}
