//! A `redis-server` (alone or in a cluster) never outlives the process that started it, even
//! held in a `static` that is never dropped, whether that process exits or is killed.
//!
//! The test runs this same binary again as a helper process (only the `helper` test, with
//! an environment variable saying how to end), reads the servers' process ids from it, ends
//! it, and waits for those processes to disappear.
#![cfg(target_os = "linux")]
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use sentinel_testkit::redis_cluster::RedisCluster;
use sentinel_testkit::redis_server::RedisServer;

/// Set in the helper process: how it ends (`exit` or `wait-for-kill`).
const HELPER_ENV: &str = "SENTINEL_TESTKIT_DIE_WITH_PARENT_HELPER";
/// How long the servers may take to go after the helper ended (a wait, not an assertion
/// about speed: the watchdog acts as soon as the kernel closes the pipe).
const DEADLINE: Duration = Duration::from_secs(20);

/// How long a `wait-for-kill` helper waits at most.
const HELPER_LIFETIME: Duration = Duration::from_secs(120);

static SERVER: OnceLock<RedisServer> = OnceLock::new();
static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();

/// The helper's body; does nothing unless run as the helper.
#[test]
fn helper() {
    let Ok(mode) = env::var(HELPER_ENV) else {
        return;
    };
    let mut pids = vec![SERVER.get_or_init(RedisServer::spawn).pid().unwrap()];
    if mode == "exit" {
        let cluster = CLUSTER.get_or_init(RedisCluster::spawn);
        pids.extend(cluster.nodes().iter().map(|n| n.pid().unwrap()));
    }
    let line: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mut out = std::io::stdout().lock();
    // On a line of its own: libtest has already written `test helper ... ` on this one.
    writeln!(out, "\nPIDS {}", line.join(" ")).unwrap();
    out.flush().unwrap();
    drop(out);
    if mode == "exit" {
        // Once the parent has seen the servers run (it closes our stdin): exit. Statics are
        // never dropped on exit.
        let _ = std::io::stdin().read_line(&mut String::new());
        std::process::exit(0);
    }
    // Wait to be killed; a parent that died without killing us must not leave us behind.
    thread::sleep(HELPER_LIFETIME);
    std::process::exit(3);
}

/// Starts the helper and returns it with the server pids it reported.
fn start_helper(mode: &str) -> (Child, Vec<u32>) {
    let mut child = Command::new(env::current_exe().unwrap())
        .args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some((_, pids)) = line.split_once("PIDS ") {
            let pids = pids.split(' ').map(|p| p.parse().unwrap()).collect();
            return (child, pids);
        }
    }
    panic!(
        "the helper ended without reporting its servers: {:?}",
        child.wait()
    );
}

/// Whether process `pid` is alive (a zombie is not).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
        state != Some('Z')
    })
}

fn assert_all_gone(pids: &[u32]) {
    let deadline = Instant::now() + DEADLINE;
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "redis-server processes {:?} outlived the process that started them",
            pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn servers_in_statics_die_when_their_process_exits() {
    let (mut helper, pids) = start_helper("exit");
    assert_eq!(pids.len(), 4, "one server and three cluster nodes");
    assert!(pids.iter().all(|&p| alive(p)), "the servers were running");
    drop(helper.stdin.take());
    assert!(helper.wait().unwrap().success());
    assert_all_gone(&pids);
}

#[test]
fn a_server_dies_when_its_process_is_killed() {
    let (mut helper, pids) = start_helper("wait-for-kill");
    assert!(pids.iter().all(|&p| alive(p)), "the server was running");
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert_all_gone(&pids);
}
