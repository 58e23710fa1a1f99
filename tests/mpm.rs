//! The module under each MPM (event, worker, prefork): environ flags, concurrency,
//! persistent Python thread states, and a prompt, clean stop.

mod harness;
use harness::*;

use std::collections::BTreeMap;
use std::time::Duration;

const SNIPPET: &str = "WSGIScriptAlias /mpm {root}/apps/fw_mpm.py\n";

/// The process group of `pid` (field 5 of /proc/<pid>/stat).
fn pgrp(pid: &str) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Starts Apache for `mpm`. Apache signals its whole process group when it stops, so the
/// harness must give it a group of its own (else stopping it kills this test run).
fn start(mpm: Mpm) -> Apache {
    let apache = Apache::start(mpm, SNIPPET);
    assert_ne!(
        pgrp(&apache.pid().to_string()),
        pgrp("self"),
        "Apache shares the test runner's process group"
    );
    apache
}

fn threaded(mpm: Mpm) -> bool {
    matches!(mpm, Mpm::Event | Mpm::Worker)
}

fn starts_and_reports_environ_flags(mpm: Mpm) {
    let apache = start(mpm);
    let r = get(&apache.url("/mpm/info"));
    assert_eq!(r.status, 200, "{mpm:?}: {}", r.text());
    let kv = kv(&r.text());
    let expect_mt = if threaded(mpm) { "True" } else { "False" };
    assert_eq!(kv["multithread"], expect_mt, "{mpm:?}: wsgi.multithread");
    assert_eq!(kv["multiprocess"], "True", "{mpm:?}: wsgi.multiprocess");
    assert_eq!(kv["run_once"], "False", "{mpm:?}: wsgi.run_once");
    assert_eq!(kv["script_name"], "/mpm");
    assert_eq!(kv["path_info"], "/info");
    assert_eq!(
        kv["count"], "1",
        "{mpm:?}: the first request of a fresh thread"
    );
    apache.assert_log_clean(&[]);
}

fn concurrent_requests_succeed(mpm: Mpm) {
    let apache = start(mpm);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let base = apache.url("/mpm/work");
            std::thread::spawn(move || {
                let mut pids = Vec::new();
                for i in 0..5 {
                    let n = t * 100 + i;
                    let r = get(&format!("{base}?n={n}"));
                    assert_eq!(r.status, 200, "request {n}: {}", r.text());
                    let expected_tail = format!("{}\n", format!("payload-{n}-").repeat(100));
                    let text = r.text();
                    assert!(
                        text.starts_with(&format!("n={n}\npid=")),
                        "request {n}: {text}"
                    );
                    assert!(text.ends_with(&expected_tail), "request {n}: {text}");
                    assert_eq!(
                        r.header("content-length"),
                        Some(text.len().to_string().as_str())
                    );
                    pids.push(kv(&text)["pid"].clone());
                }
                pids
            })
        })
        .collect();
    let mut pids = Vec::new();
    for h in handles {
        pids.extend(h.join().expect("a client thread failed"));
    }
    assert_eq!(pids.len(), 40);
    apache.assert_log_clean(&[]);
}

fn thread_local_persists(mpm: Mpm) {
    let apache = start(mpm);
    // One agent: its pool keeps one keep-alive connection for the sequential requests.
    let agent = client();
    let url = apache.url("/mpm/local");
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut pids = Vec::new();
    for _ in 0..50 {
        let mut resp = agent.get(&url).call().unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.body_mut().read_to_string().unwrap();
        let kv = kv(&text);
        pids.push(kv["pid"].clone());
        seen.entry(kv["thread"].clone())
            .or_default()
            .push(kv["count"].parse().unwrap());
    }
    // Keep-alive: every request was served by the process holding the connection.
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "{mpm:?}: requests went to several processes {pids:?} (keep-alive not used?)"
    );
    // Each thread's counter grows by one per request it serves: its threading.local
    // (its Python thread state) survives between requests.
    for (thread, counts) in &seen {
        for w in counts.windows(2) {
            assert_eq!(
                w[1],
                w[0] + 1,
                "{mpm:?}: thread {thread} counter went {counts:?}"
            );
        }
    }
    let max = seen.values().flatten().copied().max().unwrap();
    eprintln!("{mpm:?}: per-thread counters {seen:?}");
    assert!(
        max > 1,
        "{mpm:?}: no thread-local counter exceeded 1: {seen:?}"
    );
    if mpm == Mpm::Prefork {
        // One process, one (main) thread: the counter follows the request count.
        assert_eq!(seen.len(), 1, "{mpm:?}: {seen:?}");
        assert_eq!(max, 50, "{mpm:?}: {seen:?}");
    }
    apache.assert_log_clean(&[]);
}

fn children_of(pid: u32) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .arg("-P")
        .arg(pid.to_string())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn proc_state(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("State:"))
        .map(|l| l.to_owned())
}

/// Waits for `pids` to disappear from /proc (the parent reaps its children before it exits;
/// allow a moment for /proc to catch up) and returns those still there, with their state.
fn still_present(pids: &[u32]) -> Vec<(u32, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let left: Vec<(u32, String)> = pids
            .iter()
            .filter_map(|&p| proc_state(p).map(|s| (p, s)))
            .collect();
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The parent logged an orderly SIGTERM shutdown, and no child crashed or had to be killed.
fn assert_clean_shutdown(mpm: Mpm, apache: &Apache) {
    let log = apache.wait_for_log("caught SIGTERM, shutting down");
    assert!(
        log.contains("caught SIGTERM, shutting down"),
        "{mpm:?}: no orderly shutdown:\n{log}"
    );
    for bad in [
        "exit signal",
        "SIGKILL",
        "still did not exit",
        "AH00045",
        "AH00046",
    ] {
        assert!(!log.contains(bad), "{mpm:?}: error_log has {bad:?}:\n{log}");
    }
}

fn stop_is_prompt_and_children_exit(mpm: Mpm) {
    let mut apache = start(mpm);
    // Python runs in the children (several threads have thread states) before the stop.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let url = apache.url(&format!("/mpm/work?n={t}"));
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert_eq!(get(&url).status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(get(&apache.url("/mpm/info")).status, 200);
    let children = children_of(apache.pid());
    assert!(!children.is_empty(), "{mpm:?}: no Apache children found");

    let took = apache.stop();
    eprintln!("{mpm:?}: stopped in {took:?}; children were {children:?}");
    assert!(
        took < Duration::from_secs(10),
        "{mpm:?}: stopping Apache took {took:?}\n{}",
        apache.error_log()
    );
    let left = still_present(&children);
    assert!(
        left.is_empty(),
        "{mpm:?}: children still present after stop: {left:?}\n{}",
        apache.error_log()
    );
    assert_clean_shutdown(mpm, &apache);
    apache.assert_log_clean(&[]);
}

fn stop_with_a_request_in_flight(mpm: Mpm) {
    let mut apache = start(mpm);
    // Warm up so the serving child has Python running.
    assert_eq!(get(&apache.url("/mpm/info")).status, 200);
    let port = apache.port();
    let client = std::thread::spawn(move || {
        raw(
            port,
            b"GET /mpm/stream HTTP/1.1\r\nHost: localhost\r\n\r\n",
            Duration::from_secs(40),
        )
    });
    // Let the request reach the app's streaming loop.
    std::thread::sleep(Duration::from_millis(700));
    let children = children_of(apache.pid());
    assert!(!children.is_empty(), "{mpm:?}: no Apache children found");
    let took = apache.stop();
    eprintln!("{mpm:?}: stopped with a request in flight in {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "{mpm:?}: stopping Apache took {took:?}\n{}",
        apache.error_log()
    );
    let left = still_present(&children);
    assert!(
        left.is_empty(),
        "{mpm:?}: children still present after stop: {left:?}\n{}",
        apache.error_log()
    );
    // The client got the start of the response, then the connection closed long before the
    // app would have finished.
    let wire = String::from_utf8_lossy(&client.join().unwrap()).into_owned();
    assert!(wire.starts_with("HTTP/1.1 200"), "{mpm:?}: {wire:?}");
    assert!(wire.contains("started\n"), "{mpm:?}: {wire:?}");
    assert!(wire.contains("tick\n"), "{mpm:?}: {wire:?}");
    assert!(!wire.contains("finished"), "{mpm:?}: {wire:?}");
    // Chunked and cut: no last-chunk, so the client cannot take it for a complete response.
    assert!(
        wire.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{mpm:?}: {wire:?}"
    );
    assert!(!wire.ends_with("\r\n0\r\n\r\n"), "{mpm:?}: {wire:?}");
    // The MPM closes the connection under the app; its next write fails and the request
    // ends (logged at info level, RW0114), so the worker thread can be joined.
    assert_clean_shutdown(mpm, &apache);
}

macro_rules! per_mpm {
    ($($name:ident => $mpm:expr),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            fn starts_and_reports_environ_flags() {
                super::starts_and_reports_environ_flags($mpm);
            }

            #[test]
            fn forty_concurrent_requests_from_eight_threads() {
                super::concurrent_requests_succeed($mpm);
            }

            #[test]
            fn threading_local_persists_across_requests() {
                super::thread_local_persists($mpm);
            }

            #[test]
            fn stop_is_prompt_and_children_exit() {
                super::stop_is_prompt_and_children_exit($mpm);
            }

            #[test]
            fn stop_is_prompt_with_a_request_in_flight() {
                super::stop_with_a_request_in_flight($mpm);
            }
        }
    )*};
}

per_mpm! {
    event => Mpm::Event,
    worker => Mpm::Worker,
    prefork => Mpm::Prefork,
}

#[test]
fn all_mpms_are_covered() {
    assert_eq!(Mpm::ALL, [Mpm::Event, Mpm::Worker, Mpm::Prefork]);
}
