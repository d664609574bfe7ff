//! Server processes for tests (a MongoDB-compatible store, Redis) that never outlive the test
//! binary: each runs under a watchdog shell that holds a pipe from the test process and stops
//! the server when the pipe closes, however the test process ends. The store and Redis test
//! kits (`ecom_mongo::testkit`, `ecom_redis::testkit`) start theirs through [`Watched`].

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Runs `"$@"` (the server and its arguments) under a watchdog. `$LOG` is where its stderr goes
/// (its stdout is the shell's), `$REMOVE_AFTER` a directory to remove after it stopped (or
/// empty). Prints `pid=<server pid>` first. The server is stopped (SIGTERM, then waited for)
/// when the shell's stdin, a pipe held by the test process, reaches EOF, or killed (SIGKILL)
/// when the line `kill` arrives on it; the shell exits when the server does.
const WATCHDOG: &str = r#"
exec 3<&0
"$@" 2>>"$LOG" </dev/null &
pid=$!
echo "pid=$pid"
{ read -r signal <&3; if [ "$signal" = kill ]; then kill -9 "$pid"; else kill "$pid"; fi; } >/dev/null 2>&1 &
watcher=$!
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
if [ -n "$REMOVE_AFTER" ]; then rm -rf "$REMOVE_AFTER"; fi
exit "$status"
"#;

/// A server process under a watchdog. Dropping it stops the server (SIGTERM) and waits.
#[derive(Debug)]
pub struct Watched {
    shell: Child,
    stop_pipe: Option<ChildStdin>,
    pid: u32,
}

impl Watched {
    /// Starts `program` with `args`, its stderr appended to `log` (or dropped), removing
    /// `remove_after` once it stopped. Returns it and the server's stdout. Blocking.
    pub fn spawn<I, S>(
        program: impl AsRef<OsStr>,
        args: I,
        log: Option<&Path>,
        remove_after: Option<&Path>,
    ) -> io::Result<(Watched, BufReader<ChildStdout>)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("ecom-testkit")
            .arg(program)
            .args(args)
            .env(
                "LOG",
                log.map_or(Path::new("/dev/null").as_os_str(), Path::as_os_str),
            )
            .env(
                "REMOVE_AFTER",
                remove_after.map(Path::as_os_str).unwrap_or_default(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stop_pipe = shell.stdin.take();
        let stdout = shell
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout pipe"))?;
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        stdout.read_line(&mut first)?;
        let pid = first
            .trim()
            .strip_prefix("pid=")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected watchdog output {first:?}")))?;
        Ok((
            Watched {
                shell,
                stop_pipe,
                pid,
            },
            stdout,
        ))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the server has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.shell.try_wait(), Ok(Some(_)))
    }

    /// Stops the server (SIGTERM) and waits until it has exited. Blocking.
    pub fn stop(&mut self) -> io::Result<()> {
        // Closing the pipe is the stop signal; the shell exits after the server has.
        self.stop_pipe.take();
        self.shell.wait().map(drop)
    }

    /// Kills the server (SIGKILL: no clean shutdown) and waits until it has exited. Blocking.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut pipe) = self.stop_pipe.take() {
            pipe.write_all(b"kill\n")?;
        }
        self.shell.wait().map(drop)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Reads a server's stdout to its end on a thread of its own (so the server never blocks on
/// a full pipe), handing each line to `line`.
pub fn follow(stdout: BufReader<ChildStdout>, mut line: impl FnMut(&str) + Send + 'static) {
    std::thread::spawn(move || {
        for text in stdout.lines() {
            let Ok(text) = text else { break };
            line(&text);
        }
    });
}
