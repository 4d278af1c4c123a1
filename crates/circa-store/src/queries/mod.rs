//! The store's area traits implemented, written once and compiled into each backend module:
//! `sqlite` and `postgres` both declare `#[path = "../queries/mod.rs"] mod queries;`, and in
//! each copy `super::Db` is that backend's sqlx database and `super::Backend` its store type,
//! so the code is checked against concrete types (no generic bounds over sqlx's traits). Each
//! area module holds its trait's `impl` for `Backend`, with the SQL in the methods;
//! `inserts` and `settle` hold the writes several areas share.
//!
//! The SQL here is portable: `$N` placeholders, `RETURNING`, `ON CONFLICT`, booleans as
//! `TRUE`/`FALSE`. What differs stays in the backend module: `super::CLAIM_LOCK` (PostgreSQL
//! adds `FOR UPDATE SKIP LOCKED`), `super::insert_events` (multi-row inserts on SQLite,
//! `UNNEST` on PostgreSQL), `super::PIPELINE_PAGE_SQL` (each database's JSON aggregate), `super::TRIGGER_REVISION` (a
//! pipeline's commit, read from its trigger's JSON), and
//! `Backend::begin` (SQLite's `BEGIN IMMEDIATE` on its one writer connection).
//!
//! Every write is one transaction, or one statement. Reads go to `Backend::reader`, writes to
//! `Backend::writer`/`Backend::begin`.
//!
//! A `LIMIT` takes its parameter through `CAST($N AS BIGINT)`, never bare: SQLite plans a bare
//! parameter in `LIMIT` with its bound value, so every new binding would re-prepare the
//! statement (parse and plan it again) on each run.

use super::{Backend, CLAIM_LOCK, Db, PIPELINE_PAGE_SQL, TRIGGER_REVISION, insert_events};
use crate::error::StoreError;

mod checkout_keys;
mod deliveries;
mod dispatch;
mod forges;
mod git_access;
mod inserts;
mod metrics;
mod outbox;
mod output;
mod pages;
mod people;
mod pipelines;
mod projects;
mod queue;
mod schedules;
mod secrets;
mod settle;
mod ssh_keys;
mod workflows;

/// The backend's connection type, which transactions deref to.
type Conn = <Db as sqlx::Database>::Connection;

/// A database error, with foreign-key violations (a row naming one that does not exist) as
/// [`StoreError::NotFound`] of `what`.
fn missing_parent(error: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::NotFound(what()),
        _ => StoreError::Database(error),
    }
}
