//! Transactions the framework opens, and what a dropped one leaves behind.
//!
//! A pooled connection is shared by every tenant. A transaction that did not
//! finish — its future was dropped at an `.await` (a client disconnected, a
//! timeout fired), or an error cut it short — must never go back to the pool
//! still open: the next user, of any tenant, would run inside it, see the
//! tenant setting of row-level security, and have its acknowledged writes
//! rolled back by someone else.
//!
//! sqlx 0.9's PostgreSQL `begin` is not cancel-safe: it counts the
//! transaction only once `BEGIN`'s reply has arrived, so a future dropped in
//! between returns the connection to the pool inside the transaction, with
//! nothing queued to end it. So every transaction here is a [`TxConn`] that
//! tracks its own state and decides on drop:
//!
//! | state when dropped | PostgreSQL | MySQL | SQLite |
//! |---|---|---|---|
//! | `BEGIN` or `COMMIT`/`ROLLBACK` in flight | the connection is **closed**, not returned: whether the server is in a transaction is unknown, and closing ends it for certain | **closed** | a rollback is queued |
//! | open (begun, not ended) | a `ROLLBACK` is queued; the pool sends it (its release ping flushes queued messages) before anyone else can acquire the connection | **closed** | a rollback is queued |
//! | ended | nothing | nothing | nothing |
//!
//! sqlx's MySQL `begin` counts the transaction after the reply too, so it
//! gets PostgreSQL's rule ([`Driver::CLOSE_WHEN_UNSURE`]). An open MySQL
//! transaction is closed too ([`Driver::CLOSE_WHEN_OPEN`]): sqlx-mysql does not track a statement's
//! `COM_STMT_PREPARE` whose reply was not read (a statement future dropped
//! before its first prepare completed), so a `ROLLBACK` queued behind it
//! reads the prepare's replies as its own and the pool's release ping then
//! waits forever: the connection never comes back to the pool.
//!
//! SQLite connections are never closed here: an in-memory database lives
//! only as long as its connection. Its worker thread runs commands in order
//! and counts transactions itself, so a queued rollback after an
//! unacknowledged `BEGIN` or `COMMIT` does the right thing (it rolls back
//! what is open, and nothing otherwise).
//!
//! `tests/tests/cancellation.rs` drops every operation after each of its
//! polls and checks the connection after each drop; it fails if any row of
//! this table is false.

use sqlx::pool::PoolConnection;
use sqlx::{Pool, SqlStr};
use sqlx_core::transaction::TransactionManager;

use crate::backend::Driver;

/// Where a [`TxConn`]'s transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `BEGIN` sent, reply not yet seen.
    Starting,
    /// Begun.
    Open,
    /// `COMMIT` or `ROLLBACK` sent, reply not yet seen.
    Ending,
    /// Committed or rolled back.
    Ended,
}

/// A pooled connection inside a transaction opened by the framework.
pub(crate) struct TxConn<DB: Driver> {
    conn: PoolConnection<DB>,
    state: State,
    /// A statement run on it failed in the database.
    failed: bool,
}

impl<DB: Driver> std::fmt::Debug for TxConn<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxConn")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<DB: Driver> TxConn<DB> {
    /// Acquires a connection and begins a transaction with `statement`
    /// (`None`: a plain `BEGIN`).
    pub(crate) async fn begin(
        pool: &Pool<DB>,
        statement: Option<SqlStr>,
    ) -> Result<Self, sqlx::Error> {
        let conn = pool.acquire().await?;
        let mut tx = TxConn {
            conn,
            state: State::Starting,
            failed: false,
        };
        DB::TransactionManager::begin(&mut tx.conn, statement).await?;
        tx.state = State::Open;
        Ok(tx)
    }

    /// The connection, for statements inside the transaction.
    pub(crate) fn connection(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }

    /// The connection and the flag that a failed statement sets.
    pub(crate) fn parts(&mut self) -> (&mut DB::Connection, &mut bool) {
        (&mut self.conn, &mut self.failed)
    }

    /// Whether a statement run on it failed in the database.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// Commits.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.state = State::Ending;
        DB::TransactionManager::commit(&mut self.conn).await?;
        self.state = State::Ended;
        Ok(())
    }

    /// Rolls back.
    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.state = State::Ending;
        DB::TransactionManager::rollback(&mut self.conn).await?;
        self.state = State::Ended;
        Ok(())
    }
}

impl<DB: Driver> Drop for TxConn<DB> {
    fn drop(&mut self) {
        let close = match self.state {
            State::Ended => return,
            State::Open => DB::CLOSE_WHEN_OPEN,
            State::Starting | State::Ending => DB::CLOSE_WHEN_UNSURE,
        };
        if close {
            self.conn.close_on_drop();
        } else {
            // The transaction is counted (depth 1 once open; SQLite's worker
            // counts its own), so this queues ROLLBACK; the pool sends it
            // before anyone else can acquire the connection.
            DB::start_rollback(&mut self.conn);
        }
    }
}
