//! Broken applications: each failure is a 500 (or, once the response has started, a
//! visibly cut response) with the traceback in the error log, and the server keeps serving.

mod harness;

use std::time::Duration;

use harness::*;

const CONF: &str = "
WSGIScriptAlias /broken {root}/apps/broken.py
WSGIScriptAlias /syntax {root}/apps/syntax_error.py
WSGIScriptAlias /nocallable {root}/apps/no_callable.py
WSGIScriptAlias /missing {root}/apps/does_not_exist.py
WSGIScriptAlias /loadfails {root}/apps/load_fails.py
";

fn http10(port: u16, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    String::from_utf8_lossy(&raw(port, req.as_bytes(), Duration::from_secs(10))).into_owned()
}

fn http11(port: u16, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    String::from_utf8_lossy(&raw(port, req.as_bytes(), Duration::from_secs(10))).into_owned()
}

fn check_broken_apps(mpm: Mpm) {
    let apache = Apache::start(mpm, CONF);
    let ok = |apache: &Apache| {
        let r = get(&apache.url("/broken/ok"));
        assert_eq!((r.status, r.text().as_str()), (200, "still serving"));
    };
    ok(&apache);
    let cases = [
        ("/raise-before", "boom before start_response"),
        ("/raise-after-start", "boom after start_response"),
        ("/bad-header-name", "invalid header name"),
        ("/bad-header-value", "invalid value for header 'X-Inject'"),
        ("/bad-status", "invalid status 'OK'"),
        ("/headers-not-list", "response headers must be a list"),
        ("/no-start-response", "before start_response() was called"),
        ("/str-body", "must be bytes, not str"),
        ("/double-start", "start_response() called a second time"),
        ("/not-iterable", "not iterable"),
        ("/exit", "SystemExit"),
    ];
    for (path, reason) in cases {
        let r = get(&apache.url(&format!("/broken{path}")));
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(!r.text().contains("never"), "{path} leaked the app's body");
        apache.assert_log(reason);
        ok(&apache);
    }
    // close() failing after a complete response: logged, the response stands.
    let r = get(&apache.url("/broken/close-raises"));
    assert_eq!((r.status, r.text().as_str()), (200, "body"));
    apache.assert_log("RW0113");
    apache.assert_log("close failed");

    // The header injection attempt never reaches the client.
    let reply = http10(apache.port(), "/broken/bad-header-value");
    assert!(!reply.contains("evil=1"), "{reply}");

    // exc_info before anything was sent replaces the response.
    let r = get(&apache.url("/broken/exc-info-before"));
    assert_eq!((r.status, r.text().as_str()), (500, "replaced by exc_info"));
    assert_eq!(r.header("x-first"), None);

    // Script problems: 500 with a clear log line, or 404 when the file is not there.
    assert_eq!(get(&apache.url("/syntax")).status, 500);
    apache.assert_log("SyntaxError");
    let root = apache.root().display().to_string();
    assert_load_error(
        &apache,
        &format!("{root}/apps/syntax_error.py"),
        "SyntaxError",
    );
    assert_eq!(get(&apache.url("/loadfails")).status, 500);
    assert_load_error(
        &apache,
        &format!("{root}/apps/load_fails.py"),
        "RuntimeError: the configuration is missing",
    );
    assert_eq!(get(&apache.url("/nocallable")).status, 500);
    apache.assert_log("RW0103");
    assert_eq!(get(&apache.url("/missing")).status, 404);
    ok(&apache);
}

/// The script's load error names the script, and its traceback starts at the script's own
/// code (nothing of rwsgi's before it) and ends with `exception`.
fn assert_load_error(apache: &Apache, script: &str, exception: &str) {
    let log = apache.wait_for_log(exception);
    let header = format!("RW0102: failed to exec WSGI script '{script}'");
    let after = error_log::messages_after(&log, &header);
    let mut rest = after.iter().map(String::as_str);
    let mut first = rest.next().unwrap_or_default();
    if first == "Traceback (most recent call last):" {
        first = rest.next().unwrap_or_default();
    }
    assert!(
        first.starts_with(&format!("  File \"{script}\", line ")),
        "the traceback after {header:?} starts elsewhere:\n{log}"
    );
    assert!(
        rest.take(12).any(|m| m.starts_with(exception)),
        "no {exception:?} after {header:?}:\n{log}"
    );
}

#[test]
fn broken_apps_event() {
    check_broken_apps(Mpm::Event);
}

#[test]
fn broken_apps_prefork() {
    check_broken_apps(Mpm::Prefork);
}

/// After body bytes went out, a failure must not look like a complete response.
#[test]
fn failures_after_the_first_bytes_cut_the_response() {
    let apache = Apache::start(Mpm::Event, CONF);
    // Chunked (no Content-Length): the first chunk arrives, the terminating chunk never does.
    let reply = http11(apache.port(), "/broken/raise-midstream");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("Transfer-Encoding: chunked"), "{reply}");
    assert!(reply.contains("first part"), "{reply}");
    assert!(
        !reply.ends_with("0\r\n\r\n"),
        "response looks complete: {reply:?}"
    );
    apache.assert_log("boom midstream");
    apache.assert_log("RW0106");

    // With a Content-Length: fewer bytes than announced, then the connection closes.
    let reply = http11(apache.port(), "/broken/raise-midstream-cl");
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Content-Length: 100"), "{head}");
    assert_eq!(body, "first part\n");

    // A str chunk after bytes: same.
    let reply = http11(apache.port(), "/broken/str-midstream");
    assert!(reply.contains("bytes first"), "{reply}");
    assert!(!reply.ends_with("0\r\n\r\n"), "{reply:?}");

    // exc_info after data went out re-raises: the response is cut, not replaced.
    let reply = http11(apache.port(), "/broken/exc-info-after");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("already sent"), "{reply}");
    assert!(!reply.ends_with("0\r\n\r\n"), "{reply:?}");

    // An app that returns less than its Content-Length: cut, logged.
    let reply = http11(apache.port(), "/broken/short-cl");
    let (_, body) = reply.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "only a little");
    apache.assert_log("Content-Length said 100");
    // More than its Content-Length: truncated to it, logged.
    let r = get(&apache.url("/broken/long-cl"));
    assert_eq!(r.text(), "01234");
    apache.assert_log("RW0111");

    let r = get(&apache.url("/broken/ok"));
    assert_eq!(r.status, 200);
}
