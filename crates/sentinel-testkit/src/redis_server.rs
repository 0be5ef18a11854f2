//! A real `redis-server` on a free loopback port, for tests.
//!
//! [`RedisServer::spawn`] starts `redis-server` bound to `127.0.0.1` on a port the kernel
//! picked, with no persistence (`--save "" --appendonly no`) and its own temporary
//! directory, waits until it answers `PING`, and kills it when dropped. [`RedisServer::stop`]
//! and [`RedisServer::restart`] take the server down and bring it back (empty) on the same
//! port, for fault tests.
//!
//! **A server never outlives the process that started it**, even when it sits in a `static`
//! that is never dropped, and even when that process is killed (`SIGKILL`, a crashed test, a
//! nextest run where every test is its own process): next to each `redis-server` runs a tiny
//! watchdog (`sh`) that reads a pipe from this process and kills the server at end of file,
//! which the kernel delivers when this process exits in any way. (A parent-death signal would
//! need `unsafe`, and on Linux it follows the spawning *thread*, which would kill a server
//! shared through a `static` as soon as the test that started it ends.)
//!
//! The binary is `$SENTINEL_REDIS_SERVER` if set, else `redis-server` from `PATH`. If neither
//! exists, spawning fails with a message that says how to install it: tests that need Redis
//! never skip silently. The system Redis on port 6379 is never used.
//!
//! ```no_run
//! # async fn demo() {
//! use sentinel_testkit::redis_server::RedisServer;
//!
//! let server = RedisServer::spawn();
//! let mut con = server.connection().await;
//! let () = redis::cmd("SET").arg("k").arg("v").query_async(&mut con).await.unwrap();
//! server.stop(); // the port stays ours; `restart()` brings the server back empty
//! # }
//! ```

use std::collections::HashSet;
use std::env;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Environment variable naming the `redis-server` binary to use instead of the one on `PATH`.
pub const REDIS_SERVER_ENV: &str = "SENTINEL_REDIS_SERVER";

/// How long a fresh server may take to answer `PING`.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// How many fresh ports `spawn` tries when the chosen one turns out to be taken.
const SPAWN_ATTEMPTS: usize = 5;
/// Pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Connect/read/write timeout of one probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// Ports handed out to servers of this process, so two servers never race for one port.
static PORTS_IN_USE: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
/// Makes temporary directory names unique within this process.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A running (or stopped) `redis-server` owned by a test. Killed on drop.
///
/// All methods take `&self`, so a server can be shared (for example in an `Arc`) and stopped
/// from another task while clients are using it.
pub struct RedisServer {
    port: u16,
    binary: PathBuf,
    dir: PathBuf,
    extra_args: Vec<OsString>,
    /// A configuration file's text, written to `redis.conf` in the server's directory and
    /// passed as the first argument (Sentinel mode needs a file it can rewrite).
    config: Option<String>,
    child: Mutex<Option<Running>>,
}

/// A started server and the watchdog that kills it if this process dies first.
#[derive(Debug)]
struct Running {
    server: Child,
    /// `sh` reading a pipe whose write end only this process holds; at end of file (this
    /// process exited) it kills the server.
    watchdog: Child,
}

impl Running {
    /// Kills the watchdog first (so it can never signal a pid reused after the server is
    /// reaped), then the server, and reaps both.
    fn kill(mut self) {
        kill_and_wait(&mut self.watchdog);
        kill_and_wait(&mut self.server);
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts a fresh, empty `redis-server` on a free loopback port and waits until it
    /// answers `PING`.
    ///
    /// # Panics
    ///
    /// If the server cannot be started; the message says why (and how to install
    /// `redis-server` when it is missing).
    #[must_use]
    pub fn spawn() -> Self {
        Self::try_spawn().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`spawn`](Self::spawn), with extra `redis-server` arguments (for example
    /// `["--requirepass", "secret"]`). They are passed again on every restart.
    ///
    /// # Panics
    ///
    /// If the server cannot be started.
    #[must_use]
    pub fn spawn_with_args<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self::try_spawn_with_args(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts a fresh `redis-server` like [`spawn`](Self::spawn), returning the error
    /// instead of panicking.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] when no `redis-server` binary exists, and any error
    /// starting it or waiting for it to answer `PING`.
    pub fn try_spawn() -> io::Result<Self> {
        Self::try_spawn_with_args(std::iter::empty::<OsString>())
    }

    /// [`try_spawn`](Self::try_spawn) with extra `redis-server` arguments.
    ///
    /// # Errors
    ///
    /// As [`try_spawn`](Self::try_spawn).
    pub fn try_spawn_with_args<I, S>(args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self::try_spawn_with_config(None, args)
    }

    /// [`try_spawn_with_args`](Self::try_spawn_with_args) with a configuration file whose
    /// text is `config` (written to `redis.conf` in the server's directory, passed first).
    pub(crate) fn try_spawn_with_config<I, S>(config: Option<String>, args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let binary = redis_server_binary()?;
        let extra_args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut last_error = None;
        for _ in 0..SPAWN_ATTEMPTS {
            let port = reserve_free_port()?;
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let dir =
                env::temp_dir().join(format!("sentinel-redis-{}-{id}-{port}", std::process::id()));
            let server = Self {
                port,
                binary: binary.clone(),
                dir,
                extra_args: extra_args.clone(),
                config: config.clone(),
                child: Mutex::new(None),
            };
            match server.start() {
                Ok(()) => return Ok(server),
                // Another process took the port between our probe and the server's bind:
                // drop this one (it releases the port and the directory) and pick another.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server: no attempt made")))
    }

    /// The TCP port the server listens on (the same across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's address, `127.0.0.1:PORT`.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// The server's URL, `redis://127.0.0.1:PORT/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` client for this server (connects lazily).
    ///
    /// # Panics
    ///
    /// Never in practice: the URL is always valid.
    #[must_use]
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a redis://127.0.0.1:PORT/ URL is valid")
    }

    /// A multiplexed async connection to this server.
    ///
    /// # Panics
    ///
    /// If the server does not accept the connection (for example because it is stopped).
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        match self.client().get_multiplexed_async_connection().await {
            Ok(con) => con,
            Err(e) => panic!("cannot connect to test redis-server at {}: {e}", self.url()),
        }
    }

    /// Whether the server process is alive (started and not stopped or crashed).
    #[must_use]
    pub fn is_running(&self) -> bool {
        let mut child = self.lock_child();
        match child.as_mut().map(|r| r.server.try_wait()) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    /// Kills the server and waits for it to exit. Clients see refused connections until
    /// [`restart`](Self::restart). The port stays assigned to this server. Stopping a
    /// stopped server does nothing.
    pub fn stop(&self) {
        let mut child = self.lock_child();
        if let Some(running) = child.take() {
            running.kill();
        }
    }

    /// Starts the server again on the same port, fresh and empty (stopping it first if it
    /// is running), and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// If the server cannot be started again.
    pub fn restart(&self) {
        self.try_restart().unwrap_or_else(|e| panic!("{e}"));
    }

    /// [`restart`](Self::restart), returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// When the server does not come back within the start deadline (for example because
    /// another process took the port meanwhile).
    pub fn try_restart(&self) -> io::Result<()> {
        self.stop();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            match self.start() {
                // The old socket may linger for a moment after the kill; keep trying.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// The process id of the running `redis-server`, if it is running.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.lock_child().as_ref().map(|r| r.server.id())
    }

    fn lock_child(&self) -> MutexGuard<'_, Option<Running>> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the process in a clean directory and waits for it to serve this port.
    fn start(&self) -> io::Result<()> {
        let _ = fs::remove_dir_all(&self.dir);
        fs::create_dir_all(&self.dir)?;
        let log = self.dir.join("redis.log");
        let mut command = Command::new(&self.binary);
        if let Some(config) = &self.config {
            let file = self.dir.join("redis.conf");
            fs::write(&file, config)?;
            command.arg(file);
        }
        let mut process = command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {}: {e}", self.binary.display()),
                )
            })?;
        let watchdog = match spawn_watchdog(process.id()) {
            Ok(w) => w,
            Err(e) => {
                kill_and_wait(&mut process);
                return Err(e);
            }
        };
        let mut running = Running {
            server: process,
            watchdog,
        };
        let password = self
            .extra_args
            .iter()
            .position(|a| a == "--requirepass")
            .and_then(|i| self.extra_args.get(i + 1))
            .and_then(|p| p.to_str());
        match wait_until_ready(&mut running.server, self.addr(), password, &log) {
            Ok(()) => {
                *self.lock_child() = Some(running);
                Ok(())
            }
            Err(e) => {
                running.kill();
                Err(e)
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
        let mut ports = PORTS_IN_USE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = ports.as_mut() {
            set.remove(&self.port);
        }
    }
}

/// Finds the `redis-server` binary: `$SENTINEL_REDIS_SERVER`, else `PATH`.
///
/// # Errors
///
/// [`io::ErrorKind::NotFound`] with installation instructions.
pub fn redis_server_binary() -> io::Result<PathBuf> {
    find_binary(REDIS_SERVER_ENV, "redis-server")
}

pub(crate) fn find_binary(env_var: &str, name: &str) -> io::Result<PathBuf> {
    if let Some(path) = env::var_os(env_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{env_var}={} does not name a file; point it at a {name} binary",
                    path.display()
                ),
            ))
        };
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "`{name}` was not found on PATH, and tests that need Redis do not skip. \
                     Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; \
                     macOS: `brew install redis`), or set {env_var} to the path of a \
                     {name} binary. `cargo xtask ci` installs it automatically when run as root."
                ),
            )
        })
}

/// Picks a loopback port that is free now and not used by another server of this process.
///
/// Binding port 0 lets the kernel choose from its ephemeral range, so the system Redis on
/// 6379 is never chosen. The port is released before `redis-server` binds it; the caller
/// retries with another port if someone else takes it meanwhile.
pub(crate) fn reserve_free_port() -> io::Result<u16> {
    for _ in 0..64 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut ports = PORTS_IN_USE.lock().unwrap_or_else(PoisonError::into_inner);
        // Cluster nodes also listen on PORT + 10000 (the cluster bus).
        if port != 6379
            && port <= u16::MAX - 10_000
            && ports.get_or_insert_with(HashSet::new).insert(port)
        {
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        "no free loopback port found",
    ))
}

/// Starts `sh` waiting for end of file on its stdin, a pipe whose write end stays in this
/// process only (std creates it close-on-exec, so no other child inherits it); then it kills
/// `pid`. The write end closes when this process exits, whatever the way.
fn spawn_watchdog(pid: u32) -> io::Result<Child> {
    Command::new("sh")
        .args([
            "-c",
            "while read -r _; do :; done; kill -9 \"$1\" 2>/dev/null",
            "watchdog",
        ])
        .arg(pid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start the redis-server watchdog (sh): {e}"),
            )
        })
}

fn kill_and_wait(process: &mut Child) {
    let _ = process.kill();
    let _ = process.wait();
}

/// Polls until the server we started answers on `addr`. A server of someone else on the
/// same port is told apart by its process id.
fn wait_until_ready(
    process: &mut Child,
    addr: SocketAddr,
    password: Option<&str>,
    log: &Path,
) -> io::Result<()> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Some(status) = process.try_wait()? {
            let log_text = fs::read_to_string(log).unwrap_or_default();
            let kind = if log_text.contains("Address already in use") {
                io::ErrorKind::AddrInUse
            } else {
                io::ErrorKind::Other
            };
            return Err(io::Error::new(
                kind,
                format!(
                    "redis-server on {addr} exited during startup ({status}); log tail:\n{}",
                    tail(&log_text, 10)
                ),
            ));
        }
        let probe = match password {
            None => command(addr, &[&["INFO", "server"]]),
            Some(password) => command(addr, &[&["AUTH", password], &["INFO", "server"]]),
        };
        if let Ok(info) = probe {
            let pid = info
                .lines()
                .find_map(|line| line.trim().strip_prefix("process_id:"))
                .and_then(|pid| pid.parse::<u32>().ok());
            if pid == Some(process.id()) {
                return Ok(());
            }
            // Someone else's server answers on this port: ours will fail to bind and exit.
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "redis-server on {addr} did not answer within {START_DEADLINE:?}; log tail:\n{}",
                    tail(&fs::read_to_string(log).unwrap_or_default(), 10)
                ),
            ));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sends commands over a fresh connection and returns the last reply as text (simple
/// strings, integers and bulk strings). A Redis error reply becomes an `io::Error`.
pub(crate) fn command(addr: SocketAddr, commands: &[&[&str]]) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT * 4))?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT * 4))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut reply = String::new();
    for args in commands {
        let mut request = format!("*{}\r\n", args.len());
        for arg in *args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes())?;
        reply = read_reply(&mut reader)?;
    }
    Ok(reply)
}

fn read_reply(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at(line.len().min(1));
    match kind {
        "+" | ":" => Ok(rest.to_owned()),
        "-" => Err(io::Error::other(format!("redis replied: {rest}"))),
        "$" => {
            let len: usize = rest
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad bulk length"))?;
            let mut body = vec![0; len + 2];
            reader.read_exact(&mut body)?;
            body.truncate(len);
            String::from_utf8(body)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "non-UTF-8 reply"))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected reply: {line:?}"),
        )),
    }
}
