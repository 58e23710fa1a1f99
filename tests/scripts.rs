//! The test run's own output (`scripts/summary.sh`, which `scripts/test.sh` uses): one
//! summary line per part, the parts that failed, and the grand total as the last line; a
//! part that stops before its summary, or passes while printing what looks like a failure,
//! fails the run.
use std::process::Command;

/// Runs `script` after sourcing summary.sh: (exit status 0, stdout).
fn run(script: &str) -> (bool, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; . scripts/summary.sh; {script}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The lines after the summary's heading.
fn summary(output: &str) -> Vec<&str> {
    output
        .lines()
        .skip_while(|l| *l != "==== rwsgi test summary ====")
        .skip(1)
        .collect()
}

#[test]
fn a_passing_run_ends_with_each_part_and_the_grand_total() {
    let (ok, out) = run(r#"
        run_part one bash -c 'echo "ok - something"; echo "one: 3 passed, 0 failed"'
        run_part two bash -c 'echo "two: skipped: no Docker engine here"'
        run_part three bash -c 'echo "three: 2 passed, 0 failed, 1 ignored"'
        print_summary
    "#);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok - something\n"),
        "a part's output is shown:\n{out}"
    );
    assert_eq!(
        summary(&out),
        [
            "one: 3 passed, 0 failed",
            "two: skipped: no Docker engine here",
            "three: 2 passed, 0 failed, 1 ignored",
            "failed parts: none",
            "5 passed, 0 failed",
        ],
        "{out}"
    );
}

#[test]
fn failed_stopped_and_noisy_parts_fail_the_run() {
    let (ok, out) = run(r#"
        run_part failing bash -c 'echo "failing: 1 passed, 2 failed"; exit 1'
        run_part crashed bash -c 'echo "building"; exit 2'
        run_part silent bash -c 'echo "nothing to say"'
        run_part noisy bash -c 'echo "Traceback (most recent call last):"; echo "noisy: 4 passed, 0 failed"'
        run_part fine bash -c 'echo "fine: 1 passed, 0 failed"'
        print_summary
    "#);
    assert!(!ok, "{out}");
    assert_eq!(
        summary(&out),
        [
            "failing: 1 passed, 2 failed",
            "crashed: 0 passed, 1 failed (it stopped before its summary, exit status 2)",
            "silent: 0 passed, 1 failed (it stopped before its summary, exit status 0)",
            "noisy: 4 passed, 0 failed",
            "noisy: 0 passed, 1 failed (it passed but printed what looks like a failure, \
             1 line(s); the first: Traceback (most recent call last):)",
            "fine: 1 passed, 0 failed",
            "failed parts: failing crashed silent noisy",
            "6 passed, 5 failed",
        ],
        "{out}"
    );
}
