//! Leaked test servers: the `redis-server` processes a test run left behind.
//!
//! The test step gives the tests a temporary directory of their own (`TMPDIR`); every
//! `redis-server` the testkit starts runs in a directory under it (`--dir`, which Redis makes
//! its working directory). After the run, any `redis-server` whose working directory is still
//! under it was left by this run: other checkouts' and the system's servers are not counted.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// How long servers may take to go after the tests ended (the testkit's watchdogs act when
/// the test processes' pipes close, which the kernel does at their exit).
const GRACE: Duration = Duration::from_secs(10);

/// Process ids of every running `redis-server` on this machine (Linux `/proc`); `None` where
/// there is no `/proc`.
pub(crate) fn redis_servers() -> Option<Vec<u32>> {
    let entries = fs::read_dir("/proc").ok()?;
    let mut pids: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "redis-server")
                && !is_zombie(*pid)
        })
        .collect();
    pids.sort_unstable();
    Some(pids)
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z'))
    })
}

/// The `redis-server` processes working in a directory under `tmp`.
fn under(tmp: &Path) -> Vec<u32> {
    redis_servers()
        .unwrap_or_default()
        .into_iter()
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(tmp))
        })
        .collect()
}

/// Waits up to [`GRACE`] for the servers started under `tmp` to go; returns those left.
pub(crate) fn left_under(tmp: &Path) -> Vec<u32> {
    let deadline = Instant::now() + GRACE;
    loop {
        let left = under(tmp);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    /// A `redis-server` started in a directory is found there, and only there.
    #[test]
    #[cfg(target_os = "linux")]
    fn finds_a_server_by_its_directory() {
        let Ok(dir) = std::env::current_dir().map(|d| d.join("target/xtask-leaks-test")) else {
            return;
        };
        let _ = fs::create_dir_all(&dir);
        let Ok(mut server) = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .arg("--unixsocket")
            .arg(dir.join("redis.sock"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            // No redis-server here: nothing to find (CI installs it).
            return;
        };
        let pid = server.id();
        let deadline = Instant::now() + GRACE;
        while !under(&dir).contains(&pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let found = under(&dir);
        let elsewhere = under(&dir.join("elsewhere"));
        let _ = server.kill();
        let _ = server.wait();
        assert!(found.contains(&pid), "{pid} not in {found:?}");
        assert!(!elsewhere.contains(&pid));
        assert!(redis_servers().is_some());
    }
}
