//! Reading Apache's error log in tests: `[time] [module:level] [pid P:tid T] message`.
//! Shared by the harness and rwsgi-express's tests.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// The error log at `path` once it contains `needle`, or as it is after 30 s (Apache writes
/// lines after the response they are about, so a test waits before it looks).
pub fn wait_for(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        if log.contains(needle) || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The messages the same process and thread logged after the first line whose message is
/// `header` (lines of other processes and threads may come in between). Request-time
/// lines' `[client …]` prefix is left out.
pub fn messages_after(log: &str, header: &str) -> Vec<String> {
    let lines: Vec<(&str, &str)> = log
        .lines()
        .filter_map(|l| {
            let mut fields = l.splitn(4, "] ");
            let who = fields.nth(2)?;
            let message = fields.next()?;
            let message = match message.strip_prefix("[client ") {
                Some(rest) => rest.split_once("] ")?.1,
                None => message,
            };
            Some((who, message))
        })
        .collect();
    let at = lines
        .iter()
        .position(|(_, m)| *m == header)
        .unwrap_or_else(|| panic!("no {header:?} in the error log:\n{log}"));
    let who = lines[at].0;
    lines[at + 1..]
        .iter()
        .filter(|(w, _)| *w == who)
        .map(|(_, m)| (*m).to_owned())
        .collect()
}
