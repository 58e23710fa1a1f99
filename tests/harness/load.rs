//! Load while a server changes, for the tests: runs `bench/changes.py` (keep-alive clients
//! counting every request's outcome while a change is made every two seconds) and reads
//! its counts. Shared by tests/changes.rs and rwsgi-express's tests/changes.rs.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// One load at a time in a test binary: they would slow each other down.
static LOAD: Mutex<()> = Mutex::new(());

/// What changes.py counted (its JSON line).
pub struct Counts(pub serde_json::Value);

impl Counts {
    pub fn get(&self, key: &str) -> u64 {
        self.0[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key} in {}", self.0))
    }

    /// Requests that did not get a complete 2xx within a second (changes.py adds up its
    /// failure kinds).
    pub fn failed(&self) -> u64 {
        self.get("failed")
    }
}

/// Drives four kept-alive connections at `url` for 9 s with changes.py's `extra`
/// arguments, running `change` (a shell command) every 2 s: three changes, the last one
/// 3 s before the end. `workspace` is the checkout (where bench/ is).
pub fn drive(workspace: &Path, url: &str, extra: &[&str], change: Option<&str>) -> Counts {
    let mut args = vec!["--duration", "9"];
    args.extend_from_slice(extra);
    if let Some(change) = change {
        args.extend_from_slice(&["--every", "2", "--change", change]);
    }
    run(workspace, url, &args)
}

/// Runs changes.py with four connections at `url` and `args`.
pub fn run(workspace: &Path, url: &str, args: &[&str]) -> Counts {
    let _one = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("python3")
        .arg(workspace.join("bench/changes.py"))
        .args(["--url", url, "--connections", "4", "--json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "changes.py printed no counts:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    // Its report, which the test harness shows when the test fails.
    println!("{stdout}");
    Counts(json)
}

/// Every request answered in full within a second, with work done and `changes` made.
pub fn assert_lossless(counts: &Counts, changes: u64) {
    assert_eq!(counts.failed(), 0, "{}", counts.0);
    assert!(counts.get("ok") > 100, "{}", counts.0);
    assert_eq!(counts.get("changes"), changes, "{}", counts.0);
    assert_eq!(counts.get("failed_changes"), 0, "{}", counts.0);
}
