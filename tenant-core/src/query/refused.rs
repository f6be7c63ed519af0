//! Stand-ins for the results of calls that do not compile: a call refused
//! by a trait bound still has a result type, and when that type has the
//! methods the user goes on to call (and `.await`s like the real one), the
//! refusal is the only error. None of them can be made: each holds an
//! [`Infallible`].

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;

/// The future of a terminal that was refused (such as `execute` of an
/// update that sets nothing): it resolves to what the real terminal
/// resolves to, so `.await?` adds no error of its own.
#[doc(hidden)]
#[must_use]
pub struct Refused<T> {
    never: Infallible,
    _output: PhantomData<fn() -> T>,
}

impl<T> Future for Refused<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.never {}
    }
}

impl<T> std::fmt::Debug for Refused<T> {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.never {}
    }
}

/// What `find` of a model without a primary key returns: its refusal
/// (see [`crate::__private::NoPrimaryKey`]) is the one error, and the
/// terminals called on it add none.
#[doc(hidden)]
#[must_use]
pub struct KeylessFind<M> {
    never: Infallible,
    _model: PhantomData<fn() -> M>,
}

impl<M> KeylessFind<M> {
    /// Never called: `find` is refused before it could be.
    pub fn new(never: Infallible) -> Self {
        KeylessFind {
            never,
            _model: PhantomData,
        }
    }

    /// Like [`Find::fetch_optional`](crate::Find::fetch_optional).
    pub fn fetch_optional<E>(self, _: E) -> Refused<Option<M>> {
        match self.never {}
    }

    /// Like [`Find::fetch_one`](crate::Find::fetch_one).
    pub fn fetch_one<E>(self, _: E) -> Refused<M> {
        match self.never {}
    }

    /// Like [`Find::to_sql`](crate::Find::to_sql).
    pub fn to_sql(&self) -> &'static str {
        match self.never {}
    }
}

impl<M> std::fmt::Debug for KeylessFind<M> {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.never {}
    }
}
