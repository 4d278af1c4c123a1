#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite: each test is written once against the store's traits and runs twice,
//! as `<test>::sqlite` on a fresh SQLite file and as `<test>::postgres` on a fresh database of a
//! PostgreSQL server this binary starts (see `pg_server`). Without PostgreSQL installed the
//! `postgres` halves print a note and pass, unless `CI_REQUIRE_PG=1`. Blobs run on a local
//! folder, and on S3 through `moto_server` when `CIRCA_TEST_MOTO` names it.

mod api_lists;
mod backends;
mod blobs;
mod checkout_keys;
mod deliveries;
mod dispatch;
mod events;
mod fixtures;
mod forges;
mod git_access;
mod metrics;
mod misc;
mod moto;
mod pg_cluster;
mod pg_server;
mod pipelines;
mod projects;
mod queue;
mod schedules;
mod secrets;
mod sqlite_only;
mod ssh_keys;
mod users;
mod web;
mod web_pages;
mod workflows;
