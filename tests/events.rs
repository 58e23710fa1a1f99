//! The `mod_wsgi` module's event API, request data, LogHandler and metrics, through a real
//! Apache in embedded and daemon mode. The app (`apps/events.py`) writes every event it
//! receives to the error log as an `EVENT {json}` line.

mod harness;

use harness::*;
use serde_json::Value;

const EMBEDDED: &str = "WSGIScriptAlias /e {root}/apps/events.py\n";
const DAEMON: &str = "WSGIDaemonProcess ev processes=1 threads=4\n\
WSGIScriptAlias /e {root}/apps/events.py process-group=ev application-group=%{GLOBAL}\n";

/// The events published for the request tagged `tag` (`X-Tag`), once its
/// `request_finished` is in the log.
fn events_of(apache: &Apache, tag: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events: Vec<Value> = apache
            .error_log()
            .lines()
            .filter_map(|l| l.split_once("EVENT ").map(|(_, json)| json))
            .filter_map(|json| serde_json::from_str::<Value>(json).ok())
            .filter(|e| e["tag"] == tag)
            .collect();
        let done = events.iter().any(|e| e["event"] == "request_finished");
        if done || std::time::Instant::now() > deadline {
            assert!(
                done,
                "no request_finished for {tag}:\n{}",
                apache.error_log()
            );
            return events;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:#?}"))
}

fn tagged(apache: &Apache, path: &str, tag: &str) -> Reply {
    get_with(&apache.url(path), &[("X-Tag", tag)])
}

/// Checks one successful GET's events: the fields mod_wsgi gives, one request_data dict
/// shared by all of them, and the numbers the request really produced.
fn check_hello(apache: &Apache, daemon: bool) {
    let reply = tagged(apache, "/e/hello", "hello");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello /hello\n");
    let events = events_of(apache, "hello");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["request_started", "response_started", "request_finished"]
    );
    let started = event(&events, "request_started");
    for key in [
        "request_id",
        "thread_id",
        "daemon_connects",
        "daemon_restarts",
        "server_pid",
        "request_start",
        "queue_start",
        "daemon_start",
        "application_start",
    ] {
        assert!(
            !started[key].is_null(),
            "request_started lacks {key}: {started}"
        );
    }
    assert_eq!(started["callable_object"], "application");
    assert_eq!(started["application_object"], "application");
    assert_eq!(started["request_environ"]["PATH_INFO"], "/hello");
    assert!(started["thread_id"].as_u64().unwrap() >= 1);
    assert_eq!(started["daemon_connects"], u64::from(daemon));
    if daemon {
        // The Apache child that passed the request on, not the daemon itself.
        assert_ne!(started["server_pid"], started["pid"]);
        assert!(started["daemon_start"].as_f64().unwrap() > 0.0);
    } else {
        assert_eq!(started["server_pid"], started["pid"]);
    }
    let response = event(&events, "response_started");
    assert_eq!(response["response_status"], "200 OK");
    assert_eq!(response["response_headers"][1][1], "13");
    assert!(response["exception_info"].is_null());
    assert_eq!(response["request_id"], started["request_id"]);
    let finished = event(&events, "request_finished");
    assert_eq!(finished["status"], 200);
    assert_eq!(finished["output_length"], 13);
    assert_eq!(finished["output_writes"], 1);
    assert_eq!(finished["input_length"], 0);
    let application_time = finished["application_time"].as_f64().unwrap();
    assert!((0.0..10.0).contains(&application_time), "{finished}");
    assert!(
        finished["application_finish"].as_f64().unwrap()
            >= started["application_start"].as_f64().unwrap()
    );
    let cpu = finished["cpu_time"].as_f64().unwrap();
    assert!(cpu >= 0.0 && cpu <= application_time + 1e-9, "{finished}");
    assert!(finished["gil_wait_count"].as_u64().is_some());
    // WSGIFreeThreading is Off: a GIL, also on a free-threaded Python.
    assert_eq!(finished["gil_enabled"], true, "{finished}");
    // One dict for the request: what the app and the callbacks put in it.
    assert_eq!(finished["request_data"]["path"], "/hello");
    assert_eq!(finished["request_data"]["tag"], "hello");
    assert_eq!(finished["request_data_id"], started["request_data_id"]);
}

/// The body read, an exception, a failing callback and a replaced application.
fn check_requests(apache: &Apache) {
    let body = vec![b'x'; 100_000];
    let reply = client()
        .post(apache.url("/e/post"))
        .header("X-Tag", "post")
        .send(&body[..])
        .unwrap();
    assert_eq!(reply.status(), 200);
    let finished = event(&events_of(apache, "post"), "request_finished").clone();
    assert_eq!(finished["input_length"], 100_000);
    assert!(finished["input_reads"].as_u64().unwrap() >= 1);

    assert_eq!(tagged(apache, "/e/boom", "boom").status, 500);
    let events = events_of(apache, "boom");
    assert_eq!(
        event(&events, "request_exception")["exception_info"],
        "ZeroDivisionError"
    );
    assert_eq!(event(&events, "request_finished")["status"], 500);

    // A callback that raises is logged; the request goes on.
    let reply = tagged(apache, "/e/callback-raises", "raises");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello /callback-raises\n");
    let log = apache.wait_for_log("callback failure on purpose");
    assert_mentions(
        &log,
        &[
            "RW0127: a mod_wsgi event callback (record) raised handling 'request_started'",
            "ValueError: callback failure on purpose",
        ],
    );

    let reply = tagged(apache, "/e/wrapped", "wrapped");
    assert_eq!(reply.text(), "wrapped:hello /wrapped\n");
}

fn check_active(apache: &Apache) {
    let reply = get(&apache.url("/e/active"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(got["mine"], true, "{got}");
    assert_eq!(got["same_dict"], true, "{got}");
    assert!(got["count"].as_u64().unwrap() >= 1);
    assert_eq!(got["path"], "/active");
    assert_eq!(got["outside"], "RuntimeError: no active request for thread");
    assert_eq!(got["subscribed"], 1);
    assert_eq!(got["shutdown_subscribed"], 2);
    assert_eq!(got["signals_returned"], true);
}

/// LogHandler: each Python level at its Apache level, a log line per line.
fn check_log_handler(apache: &Apache) {
    assert_eq!(get(&apache.url("/e/log")).status, 200);
    apache.wait_for_log("events-app INFO info-line");
    let log = apache.wait_for_log("second-line");
    for (level, text) in [
        ("crit", "events-app CRITICAL critical-line"),
        ("error", "events-app ERROR error-line"),
        ("warn", "events-app WARNING warning-line"),
        ("warn", "second-line"),
        ("info", "events-app INFO info-line"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("[wsgi:{level}]")) && l.ends_with(text)),
            "no [wsgi:{level}] line ending {text:?}:\n{log}"
        );
    }
    // LogLevel info: debug records are dropped.
    assert!(!log.contains("debug-line"));
}

fn check_metrics(apache: &Apache) {
    let reply = get(&apache.url("/e/metrics/start"));
    let got: Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(got["before"], serde_json::json!([true, true]));
    for _ in 0..5 {
        assert_eq!(get(&apache.url("/e/hello")).status, 200);
    }
    assert_eq!(get(&apache.url("/e/nothing")).status, 200);
    let got: Value = serde_json::from_str(&get(&apache.url("/e/metrics")).text()).unwrap();
    let request = &got["request"];
    // The five hellos and /e/nothing finished in this interval (/e/metrics is running).
    assert_eq!(request["request_count"], 6, "{request}");
    // Per thread, indexed by thread_id - 1. Which threads served them is the daemon's
    // choice (one, if the machine is quiet); the active ones are those plus the thread
    // running /e/metrics, which may be another.
    let per_thread = request["request_threads_completed"].as_array().unwrap();
    assert_eq!(per_thread.len(), 4, "{request}");
    assert_eq!(per_thread.iter().filter_map(Value::as_u64).sum::<u64>(), 6);
    let served = per_thread.iter().filter(|n| n.as_u64() > Some(0)).count() as u64;
    let active = request["request_threads_active"].as_u64().unwrap();
    assert!(active == served || active == served + 1, "{request}");
    assert_eq!(request["status_2xx"], 6, "{request}");
    assert_eq!(request["output_bytes"], 5 * 13 + 15, "{request}");
    assert!(request["application_time"].as_f64().unwrap() > 0.0);
    assert_eq!(
        request["application_time_buckets"]
            .as_array()
            .unwrap()
            .len(),
        65
    );
    assert_eq!(request["pid"], got["process"]["pid"]);
    assert!(request["memory_rss"].as_u64().unwrap() > 1_000_000);
    let process = &got["process"];
    assert!(process["request_count"].as_u64().unwrap() >= 8, "{process}");
    assert_eq!(process["active_requests"], 1);
    assert!(!process["threads"].as_array().unwrap().is_empty());
    // The next interval starts where this one ended.
    let got: Value = serde_json::from_str(&get(&apache.url("/e/metrics")).text()).unwrap();
    assert_eq!(got["request"]["request_count"], 1, "{got}");
}

#[test]
fn events_request_data_and_log_handler_in_embedded_mode() {
    let mut apache = Apache::start(Mpm::Event, EMBEDDED);
    check_hello(&apache, false);
    check_requests(&apache);
    check_active(&apache);
    check_log_handler(&apache);
    apache.assert_log("mod_wsgi.subscribe_signals() called outside daemon mode");
    apache.stop();
    // Shutdown callbacks: once each, in the order they subscribed.
    let log = apache.wait_for_log("SHUTDOWN second");
    let first = log
        .find("SHUTDOWN first process_stopping shutdown")
        .expect(&log);
    let second = log.find("SHUTDOWN second shutdown").expect(&log);
    assert!(first < second);
    assert_eq!(log.matches("SHUTDOWN first").count(), 1, "{log}");
}

#[test]
fn events_signals_and_shutdown_in_daemon_mode() {
    let mut apache = Apache::start(Mpm::Event, DAEMON);
    check_hello(&apache, true);
    check_requests(&apache);
    check_active(&apache);
    check_log_handler(&apache);
    let daemon = daemon_pid(&apache);
    for (signal, name) in [("-HUP", "SIGHUP 1"), ("-USR2", "SIGUSR2 12")] {
        let killed = std::process::Command::new("kill")
            .args([signal, &daemon.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        apache.assert_log(&format!("SIGNAL process_signal {name}"));
    }
    // The daemon serves on after its signals.
    assert_eq!(get(&apache.url("/e/hello")).status, 200);
    assert_eq!(daemon_pid(&apache), daemon);
    apache.stop();
    let log = apache.wait_for_log("SHUTDOWN second");
    // Apache's stop reaches the daemon as its own SIGTERM or, first, as the graceful
    // signal Apache sends its process group.
    let reason = ["shutdown_signal", "graceful_signal"]
        .into_iter()
        .find(|r| log.contains(&format!("SHUTDOWN second {r}")))
        .expect(&log);
    let first = log
        .find(&format!("SHUTDOWN first process_stopping {reason}"))
        .expect(&log);
    let second = log.find(&format!("SHUTDOWN second {reason}")).expect(&log);
    assert!(first < second);
    assert_eq!(log.matches("SHUTDOWN first").count(), 1, "{log}");
}

#[test]
fn metrics_are_recorded_once_asked_for() {
    let apache = Apache::start(Mpm::Event, DAEMON);
    check_metrics(&apache);
}

/// The daemon process's pid, from the app.
fn daemon_pid(apache: &Apache) -> u32 {
    static ASKED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let events = {
        let tag = format!(
            "pid-{}",
            ASKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        assert_eq!(tagged(apache, "/e/hello", &tag).status, 200);
        events_of(apache, &tag)
    };
    event(&events, "request_finished")["pid"].as_u64().unwrap() as u32
}
