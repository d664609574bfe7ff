//! A MongoDB for tests, and a fresh database per test (feature `testkit`; test code only).
//!
//! [`mongo_uri`] is `ECOM_TEST_MONGO_URI` when set; otherwise it starts one `secantusd-rs`
//! process (a MongoDB-wire-compatible single-node server, found on `PATH`, in
//! `~/.cargo/bin`, or at `ECOM_TEST_SECANTUSD`) for the whole test binary, on a free port and a
//! temporary storage directory. The server watches a pipe from the test process: when the
//! process exits, however it exits, the pipe closes, the server is stopped and its directory is
//! removed, so no server outlives `cargo test`.
//!
//! [`TestDatabase::new`] gives each test its own database (a unique name, indexes created) and
//! drops it when the fixture is dropped. It is `AsRef<Backend>`, so it plugs straight into
//! `ecom_core::conformance_suite!` (feature `testkit` of ecom-core):
//!
//! ```no_run
//! async fn backend() -> ecom_mongo::testkit::TestDatabase {
//!     ecom_mongo::testkit::TestDatabase::new().await.expect("a MongoDB for tests")
//! }
//! ecom_core::conformance_suite!(backend);
//! ```
//!
//! `secantusd-rs` is GPL-2.0 and is only ever run as a separate process by this module; nothing
//! of it is linked into ecom.

use crate::{backend, ensure_indexes};
use ecom_core::testkit::process::{follow, Watched};
use ecom_core::Backend;
use mongodb::{Client, Database};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

/// Environment variable naming an existing MongoDB to test against.
pub const MONGO_URI_ENV: &str = "ECOM_TEST_MONGO_URI";
/// Environment variable naming the `secantusd-rs` binary to start.
pub const SECANTUSD_ENV: &str = "ECOM_TEST_SECANTUSD";

/// How long a starting server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn secantusd_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(SECANTUSD_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("secantusd-rs"))
        .find(|candidate| candidate.is_file());
    if let Some(found) = on_path {
        return found;
    }
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin").join("secantusd-rs"));
    in_cargo_home
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("secantusd-rs"))
}

/// A running `secantusd-rs` process on a storage directory.
///
/// Stopping it ([`MongoServer::stop`], or dropping it) shuts the server down cleanly; starting
/// another on the same directory reopens the same data. Blocking: call from
/// `tokio::task::spawn_blocking` in async tests.
#[derive(Debug)]
pub struct MongoServer {
    process: Watched,
    port: u16,
    storage: PathBuf,
}

impl MongoServer {
    /// Starts a server on a free port with its data in `storage` (created if missing; its log
    /// goes to `storage/secantusd.log`) and waits until it listens.
    pub fn start(storage: impl Into<PathBuf>) -> io::Result<Self> {
        Self::spawn(storage.into(), None, 0)
    }

    /// Starts a server on `port` (e.g. the port of one stopped a moment ago, so clients
    /// configured with its address find it again) with its data in `storage`.
    pub fn start_on(storage: impl Into<PathBuf>, port: u16) -> io::Result<Self> {
        Self::spawn(storage.into(), None, port)
    }

    fn spawn(storage: PathBuf, remove_after: Option<&Path>, port: u16) -> io::Result<Self> {
        std::fs::create_dir_all(&storage)?;
        let binary = secantusd_binary();
        let log = storage.join("secantusd.log");
        let port_arg = port.to_string();
        let args: [&OsStr; 10] = [
            "--port".as_ref(),
            port_arg.as_ref(),
            "--storage-path".as_ref(),
            storage.as_os_str(),
            "--log-file-max".as_ref(),
            "16MB".as_ref(),
            "--cache-size".as_ref(),
            "256M".as_ref(),
            "--log-level".as_ref(),
            "WARNING".as_ref(),
        ];
        let (process, stdout) = Watched::spawn(&binary, args, Some(&log), remove_after)?;
        // The port comes on the first lines; the rest is drained until the server exits.
        let (port_tx, port_rx) = mpsc::channel();
        let mut port_tx = Some(port_tx);
        follow(stdout, move |line| {
            if let Some(port) = listening_port(line) {
                if let Some(tx) = port_tx.take() {
                    let _ = tx.send(port);
                }
            }
        });
        match port_rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => Ok(MongoServer {
                process,
                port,
                storage,
            }),
            Err(_) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                Err(io::Error::other(format!(
                    "{} did not start (install it with scripts/dev-services.sh, or set {MONGO_URI_ENV} \
                     to an existing MongoDB); its log: {log}",
                    binary.display()
                )))
            }
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection string for it.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Its storage directory.
    pub fn storage_path(&self) -> &Path {
        &self.storage
    }

    /// Stops the server cleanly and waits until the process has exited.
    pub fn stop(mut self) -> io::Result<()> {
        self.process.stop()
    }

    /// Kills the server (SIGKILL: no clean shutdown, so it may lose its last acknowledged
    /// writes) and waits until the process has exited.
    pub fn kill(mut self) -> io::Result<()> {
        self.process.kill()
    }
}

/// The port in `secantusd-rs listening on 127.0.0.1:PORT`.
fn listening_port(line: &str) -> Option<u16> {
    let address = line.split("listening on").nth(1)?.trim();
    address.rsplit(':').next()?.trim().parse().ok()
}

/// The one server of this test binary, started on first use and never dropped: it stops when
/// the process exits and its pipe closes.
fn shared_server() -> Result<&'static MongoServer, String> {
    static SERVER: OnceLock<Result<MongoServer, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("ecom-mongo-test-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?
                .keep();
            MongoServer::spawn(dir.join("data"), Some(&dir), 0).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The connection string of the MongoDB to test against: `ECOM_TEST_MONGO_URI`, or else the
/// `secantusd-rs` server this test binary starts on first call.
pub async fn mongo_uri() -> io::Result<String> {
    if let Some(uri) = std::env::var(MONGO_URI_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(uri);
    }
    tokio::task::spawn_blocking(|| shared_server().map(MongoServer::uri))
        .await
        .map_err(io::Error::other)?
        .map_err(io::Error::other)
}

/// A unique database name (`ecom_test_` + an ObjectId), safe to share one server between runs.
pub fn unique_database_name() -> String {
    format!("ecom_test_{}", bson::oid::ObjectId::new().to_hex())
}

/// One test's own database, with the indexes created, and its [`Backend`]. Dropping it drops
/// the database.
///
/// The client inside is bound to the tokio runtime that made it (each `#[tokio::test]` has its
/// own), so make one fixture per test.
#[derive(Debug)]
pub struct TestDatabase {
    uri: String,
    db: Database,
    backend: Backend,
}

impl TestDatabase {
    /// A fresh database on the MongoDB of [`mongo_uri`].
    pub async fn new() -> io::Result<Self> {
        let uri = mongo_uri().await?;
        Self::on(&uri).await
    }

    /// A fresh database on the server at `uri`.
    pub async fn on(uri: &str) -> io::Result<Self> {
        let client = Client::with_uri_str(uri).await.map_err(io::Error::other)?;
        let db = client.database(&unique_database_name());
        ensure_indexes(&db).await.map_err(io::Error::other)?;
        Ok(TestDatabase {
            uri: uri.to_owned(),
            backend: backend(db.clone()),
            db,
        })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Every port on this database.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The connection string of its server.
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

impl AsRef<Backend> for TestDatabase {
    fn as_ref(&self) -> &Backend {
        &self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop has no runtime to await on (and the test's runtime may be single-threaded), so
        // the database is dropped from a helper thread with its own runtime and client.
        let uri = self.uri.clone();
        let name = self.db.name().to_owned();
        let dropped = std::thread::spawn(move || drop_database(&uri, &name)).join();
        if let Ok(Err(e)) = dropped {
            eprintln!("ecom-mongo testkit: could not drop a test database: {e}");
        }
    }
}

fn drop_database(uri: &str, name: &str) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Client::with_uri_str(uri).await.map_err(io::Error::other)?;
        client
            .database(name)
            .drop()
            .await
            .map_err(io::Error::other)?;
        client.shutdown().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn reads_the_printed_port() {
        assert_eq!(
            listening_port("secantusd-rs listening on 127.0.0.1:43443"),
            Some(43443)
        );
        assert_eq!(listening_port("starting"), None);
    }
}
