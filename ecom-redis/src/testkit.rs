//! A Redis for tests (feature `testkit`; test code only).
//!
//! [`redis_url`] is `ECOM_TEST_REDIS_URL` when set; otherwise it starts one private
//! `redis-server` (no persistence) for the whole test binary on a free port, so tests never
//! share or flush someone else's Redis. Like the MongoDB test kit, the server watches a pipe from
//! the test process and stops when the process exits, however it exits.
//!
//! [`RedisServer`] starts servers of a test's own (to stop, kill and restart them), and
//! [`Prefix`] gives each test its own key namespace, deleted when it drops.

pub use ecom_core::testkit::process::free_port;
use ecom_core::testkit::process::{follow, Watched};
use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable naming an existing Redis to test against.
pub const REDIS_URL_ENV: &str = "ECOM_TEST_REDIS_URL";

/// How long a starting server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A `redis-server` process of a test's own (no persistence: it comes back empty).
#[derive(Debug)]
pub struct RedisServer {
    process: Watched,
    port: u16,
}

impl RedisServer {
    /// Starts a server on `port` (or a free one) and waits until it answers. Blocking.
    pub fn start(port: Option<u16>) -> io::Result<Self> {
        let port = match port {
            Some(port) => port,
            None => free_port()?,
        };
        let port_arg = port.to_string();
        let args = [
            "--bind",
            "127.0.0.1",
            "--port",
            &port_arg,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ];
        let (process, stdout) = Watched::spawn("redis-server", args, None, None)?;
        follow(stdout, |_| {});
        let server = RedisServer { process, port };
        let deadline = Instant::now() + START_TIMEOUT;
        while !server.answers() {
            if Instant::now() > deadline {
                return Err(io::Error::other(
                    "redis-server did not answer (install it with scripts/dev-services.sh, or set \
                     ECOM_TEST_REDIS_URL to an existing Redis)",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn answers(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn))
            .is_ok()
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: nothing is saved, it would come back empty) and waits until
    /// it is gone. Blocking.
    pub fn kill(mut self) -> io::Result<()> {
        self.process.kill()
    }

    /// Stops the server (SIGTERM) and waits until it is gone. Blocking.
    pub fn stop(mut self) -> io::Result<()> {
        self.process.stop()
    }
}

/// The Redis to test against: `ECOM_TEST_REDIS_URL`, or else the private server this test
/// binary starts on first call. Blocking on first call.
pub fn redis_url() -> io::Result<String> {
    if let Some(url) = std::env::var(REDIS_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(url);
    }
    static SERVER: OnceLock<Result<RedisServer, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| RedisServer::start(None).map_err(|e| e.to_string()))
        .as_ref()
        .map(RedisServer::url)
        .map_err(|e| io::Error::other(e.clone()))
}

/// A key prefix of one test's own; its keys are deleted when it drops.
#[derive(Debug)]
pub struct Prefix {
    url: String,
    prefix: String,
}

impl Prefix {
    /// A fresh prefix on the Redis at `url`.
    pub fn new(url: &str) -> Self {
        Prefix {
            url: url.to_owned(),
            prefix: format!("ecomtest:{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.prefix
    }

    /// The keys under the prefix matching `pattern` (after the prefix). Fails when Redis does
    /// not answer, so an emptiness check never passes by accident.
    pub fn keys(&self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
        redis::cmd("KEYS")
            .arg(format!("{}{pattern}", self.prefix))
            .query(&mut conn)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let deleted = self.keys("*").and_then(|keys| {
            if keys.is_empty() {
                return Ok(());
            }
            let client = redis::Client::open(self.url.as_str())?;
            let mut conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
            redis::cmd("DEL").arg(keys).query::<()>(&mut conn)
        });
        if let Err(e) = deleted {
            eprintln!(
                "ecom-redis testkit: could not delete the keys of {}: {e}",
                self.prefix
            );
        }
    }
}
