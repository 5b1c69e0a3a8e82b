//! Statements over a list of values, `… IN ($2, $3, …)`. The `Any` driver
//! binds no arrays, so a list is spelled out as parameters, at most
//! [`MAX_IN_LIST`] of them per statement.

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, Encode, Type};

/// Most parameters in one `IN (...)` list.
pub(super) const MAX_IN_LIST: usize = 500;

/// `$first, $first+1, ...` for `count` parameters.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds a list's values, in order, after the parameters already bound.
pub(super) trait BindEach<'q>: Sized {
    fn bind_each<T>(self, values: impl IntoIterator<Item = T>) -> Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>;
}

impl<'q> BindEach<'q> for Query<'q, Any, AnyArguments> {
    fn bind_each<T>(self, values: impl IntoIterator<Item = T>) -> Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        values
            .into_iter()
            .fold(self, |query, value| query.bind(value))
    }
}

impl<'q, O> BindEach<'q> for QueryAs<'q, Any, O, AnyArguments> {
    fn bind_each<T>(self, values: impl IntoIterator<Item = T>) -> Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        values
            .into_iter()
            .fold(self, |query, value| query.bind(value))
    }
}
