//! Test support shared by the workspace's integration tests: a fresh PostgreSQL schema per
//! test on the real server that `.ci/run` names in `ZKATTEST_TEST_POSTGRES_URL`, and large
//! Powers of Tau files from a known τ ([`ptau`]).

pub mod ptau;

/// The test server (CI sets the variable; the default is this machine's local server).
pub fn postgres_base_url() -> String {
    std::env::var("ZKATTEST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema created for one test, and a URL whose connections use it.
#[derive(Clone, Debug)]
pub struct PgSchema {
    pub base: String,
    pub name: String,
    pub url: String,
}

impl PgSchema {
    /// Creates `zkattest_<prefix>_<pid>_<ms>`; panics (failing the test) without a server.
    pub async fn create(prefix: &str) -> Self {
        let base = postgres_base_url();
        let name = format!(
            "zkattest_{prefix}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis()
        );
        let mut c: sqlx::PgConnection = sqlx::Connection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {base} (ZKATTEST_TEST_POSTGRES_URL): {e}"));
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut c).await.expect("schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Self { base, name, url }
    }

    /// Drops the schema (best effort: a leftover schema only costs disk).
    pub async fn drop_schema(&self) {
        if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(&self.base).await {
            let _ =
                sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name)).execute(&mut c).await;
        }
    }
}

/// Lets a developer run the suite without the shared test material; CI never sets it.
pub const ALLOW_MISSING_INPUTS: &str = "ZKATTEST_ALLOW_MISSING_INPUTS";

/// A folder of the shared test material (`../shared/<name>` beside the repository). A test
/// whose input is missing fails naming it, unless [`ALLOW_MISSING_INPUTS`] is set (then
/// `None`, and the caller says what it did not run).
pub fn shared_dir(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os(ALLOW_MISSING_INPUTS).is_some() {
        eprintln!("{} is missing; not run ({ALLOW_MISSING_INPUTS} is set)", dir.display());
        return None;
    }
    panic!(
        "test input missing: {} (set {ALLOW_MISSING_INPUTS}=1 to run without it)",
        dir.display()
    );
}
