//! Fresh stores for each test: a SQLite file in a temporary folder, and a new database on the
//! shared PostgreSQL test server (see `pg_server`).

use std::sync::Arc;

use circa_store::{Store, connect};
use sqlx::Connection;

use crate::pg_server;

/// A store for one test, and what it needs kept alive.
pub struct TestStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// A raw connection's URL, for tests that damage rows on purpose.
    pub raw_url: String,
    /// The SQLite file's folder.
    _dir: Option<tempfile::TempDir>,
}

/// A store in a new SQLite file.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circa.db");
    let url = format!("sqlite://{}", path.display());
    TestStore {
        store: connect(&url).await.unwrap(),
        backend: "sqlite",
        raw_url: url,
        _dir: Some(dir),
    }
}

/// A store in a new PostgreSQL database, or `None` (after a note on stderr) when PostgreSQL
/// is not installed. With `CI_REQUIRE_PG=1` a missing PostgreSQL fails the test instead.
pub async fn postgres() -> Option<TestStore> {
    let server = match tokio::task::spawn_blocking(pg_server::server)
        .await
        .unwrap()
    {
        Ok(server) => server,
        Err(why) => {
            if std::env::var("CI_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("CI_REQUIRE_PG=1 but there is no PostgreSQL test server: {why}");
            }
            static NOTED: std::sync::Once = std::sync::Once::new();
            NOTED.call_once(|| {
                note(&format!(
                    "postgres: skipped, the ::postgres tests pass without running ({why})"
                ))
            });
            return None;
        }
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server.url("postgres"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = server.url(&name);
    Some(TestStore {
        store: connect(&url).await.unwrap(),
        backend: "postgres",
        raw_url: url,
        _dir: None,
    })
}

/// Writes a line to stderr past libtest's output capture (which only takes `print!` and
/// `eprint!`), so that which backends ran shows in every test run.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Tests use the store through the trait only.
impl std::ops::Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        self.store.as_ref()
    }
}

impl TestStore {
    /// Runs one statement on a connection of its own, around the store.
    pub async fn raw_execute(&self, sql: &'static str) {
        if self.raw_url.starts_with("sqlite://") {
            let mut conn = sqlx::SqliteConnection::connect(&self.raw_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.raw_url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// Declares, for each test function `name(&TestStore)` (which derefs to `dyn Store`), a module `name` with two tests:
/// `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = crate::backends::sqlite().await;
                super::$test(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = crate::backends::postgres().await {
                    super::$test(&db).await;
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;
