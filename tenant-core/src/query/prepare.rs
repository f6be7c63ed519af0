//! Building a statement without running it: for benchmarks of the builders
//! alone, and tests.

use std::borrow::Cow;

use super::{Delete, Find, HasAssignments, Insert, Select, Update};
use crate::backend::Driver;
use crate::error::Error;
use crate::exec::Form;
use crate::model::{HasPrimaryKey, Model};
use crate::params::{Params, Statement, arguments};

/// Builds a statement's SQL and bound arguments, in its plain form, without
/// running it.
#[doc(hidden)]
pub trait Prepare: Sized {
    /// SQL and arguments for backend `DB`.
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error>;
}

fn finish<DB: Driver, P: Params>(
    stmt: Statement<P>,
) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
    Ok((stmt.sql.into_cow(), arguments::<DB, _>(stmt.params)?))
}

impl<M: Model> Prepare for Select<M> {
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
        finish::<DB, _>(self.plain_statement(DB::BACKEND)?)
    }
}

impl<M: HasPrimaryKey> Prepare for Find<M> {
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
        finish::<DB, _>(self.into_statement(DB::BACKEND, Form::Plain))
    }
}

impl<M: Model> Prepare for Insert<M> {
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
        finish::<DB, _>(self.into_statement(DB::BACKEND, Form::Plain, true))
    }
}

impl<M: Model, S: HasAssignments> Prepare for Update<M, S> {
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
        finish::<DB, _>(self.into_statement(DB::BACKEND)?)
    }
}

impl<M: Model> Prepare for Delete<M> {
    fn prepare<DB: Driver>(self) -> Result<(Cow<'static, str>, DB::Arguments), Error> {
        finish::<DB, _>(self.into_statement(DB::BACKEND)?)
    }
}
