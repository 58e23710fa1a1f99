//! PEP 3333 in embedded mode, through a real Apache: environ, wsgi.input, responses,
//! streaming, file_wrapper and HEAD.

mod harness;

use std::time::Duration;

use harness::*;
use sha2::{Digest, Sha256};

const APPS: &str = "
WSGIScriptAlias /env {root}/apps/environ.py
WSGIScriptAlias /echo {root}/apps/echo.py
WSGIScriptAlias /resp {root}/apps/responses.py
SetEnv RWSGI_TMP {root}/tmp
SetEnv FROM_SETENV set-by-apache
";

fn start(mpm: Mpm) -> Apache {
    start_with(mpm, "")
}

fn start_with(mpm: Mpm, extra: &str) -> Apache {
    let stage = Stage::new(mpm);
    let tmp = stage.root().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::process::Command::new("chmod")
        .arg("1777")
        .arg(&tmp)
        .status()
        .unwrap();
    std::fs::write(stage.root().join("apps/data.bin"), pattern(300_000)).unwrap();
    stage.start(&format!("{APPS}\n{extra}"))
}

/// Deterministic, non-repeating-looking test data.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_environ(mpm: Mpm) {
    let apache = start(mpm);
    let r = get_with(
        &apache.url("/env/a/b%20c?x=1&y=%C3%A9"),
        &[
            ("X-Custom-Header", "v1"),
            ("Proxy", "http://evil"),
            ("Authorization", "Basic Zm9vOmJhcg=="),
        ],
    );
    assert_eq!(r.status, 200);
    let env = kv(&r.text());
    let port = apache.port().to_string();
    // No WSGIApplicationGroup: mod_wsgi's default, %{RESOURCE}.
    let group = format!("localhost:{port}|/env");
    let expect = [
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/env"),
        ("PATH_INFO", "/a/b c"),
        ("QUERY_STRING", "x=1&y=%C3%A9"),
        ("REQUEST_URI", "/env/a/b%20c?x=1&y=%C3%A9"),
        ("REQUEST_SCHEME", "http"),
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", port.as_str()),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_ADMIN", "admin@example.test"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("HTTP_X_CUSTOM_HEADER", "v1"),
        ("FROM_SETENV", "set-by-apache"),
        ("wsgi.url_scheme", "http"),
        ("wsgi.version", "(1, 0)"),
        ("wsgi.run_once", "False"),
        ("wsgi.multiprocess", "True"),
        ("wsgi.input_terminated", "True"),
        ("mod_wsgi.process_group", ""),
        ("mod_wsgi.application_group", group.as_str()),
        ("mod_wsgi.callable_object", "application"),
        ("mod_wsgi.request_handler", "wsgi-script"),
        ("mod_wsgi.script_name", "/env"),
        ("mod_wsgi.path_info", "/a/b c"),
        ("type.wsgi.input", "Input"),
        ("all_native_str", "True"),
        ("none_values", ""),
        ("apache.version", "(2, 4, 71)"),
    ];
    for (k, v) in expect {
        if k == "apache.version" {
            assert!(
                env.get(k).is_some_and(|a| a.starts_with("(2, 4, ")),
                "{k}: {:?}",
                env.get(k)
            );
            continue;
        }
        assert_eq!(
            env.get(k).map(String::as_str),
            Some(v),
            "environ[{k}] for {mpm:?}"
        );
    }
    let multithread = if mpm == Mpm::Prefork { "False" } else { "True" };
    assert_eq!(env["wsgi.multithread"], multithread);
    assert!(env["SCRIPT_FILENAME"].ends_with("/apps/environ.py"));
    assert!(env["REMOTE_PORT"].parse::<u16>().unwrap() > 0);
    assert!(
        env["SERVER_SOFTWARE"].contains("rwsgi/"),
        "{}",
        env["SERVER_SOFTWARE"]
    );
    assert!(env.contains_key("mod_wsgi.request_id"));
    assert!(env["mod_wsgi.request_start"].parse::<f64>().unwrap() > 1e9);
    assert!(env["wsgi.errors"].contains("wsgi.errors"));
    assert!(env["wsgi.file_wrapper"].contains("FileWrapper"));
    // httpoxy and credentials
    assert!(!env.contains_key("HTTP_PROXY"));
    assert!(!env.contains_key("HTTP_AUTHORIZATION"));
    assert!(!env.contains_key("HTTPS"));
    // No body: no CONTENT_LENGTH/TYPE invented.
    assert!(!env.contains_key("CONTENT_LENGTH"));

    // The mount point itself and a root mount.
    let env = kv(&get(&apache.url("/env")).text());
    assert_eq!(
        (env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()),
        ("/env", "")
    );
    let env = kv(&get(&apache.url("/env/")).text());
    assert_eq!(
        (env["SCRIPT_NAME"].as_str(), env["PATH_INFO"].as_str()),
        ("/env", "/")
    );
    // Latin-1 native strings: a raw non-UTF-8 byte in the path stays one code point.
    let raw_reply = raw(
        apache.port(),
        b"GET /env/caf%E9 HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&raw_reply);
    assert!(text.contains("PATH_INFO=/caf\u{e9}"), "{text}");

    // wsgiref.validate finds nothing wrong (it raises AssertionError → 500 otherwise).
    let r = get(&apache.url("/env/validated?validate=1"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(
        &apache.url("/env/validated?validate=1"),
        "text/plain",
        b"body",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(kv(&r.text())["CONTENT_LENGTH"], "4");
    assert_eq!(kv(&r.text())["CONTENT_TYPE"], "text/plain");
    apache.assert_log_clean(&[]);
}

#[test]
fn environ_event() {
    check_environ(Mpm::Event);
}

#[test]
fn environ_prefork() {
    check_environ(Mpm::Prefork);
}

#[test]
fn environ_worker() {
    check_environ(Mpm::Worker);
}

#[test]
fn input_read_modes_agree() {
    let apache = start(Mpm::Event);
    let mut body = Vec::new();
    for i in 0..5000 {
        body.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 97)).as_bytes());
    }
    body.extend_from_slice(b"no trailing newline");
    let lines = 5001;
    let expected = sha256_hex(&body);
    for mode in [
        "read",
        "readn&n=1000",
        "readn&n=1",
        // Reads straight into the returned bytes (>= 16 KiB); the last one is short.
        "readn&n=20000",
        "readline",
        "readline_n",
        "readlines",
        "iter",
    ] {
        let r = post(
            &apache.url(&format!("/echo?mode={mode}")),
            "application/octet-stream",
            &body,
        );
        assert_eq!(r.status, 200, "mode {mode}: {}", r.text());
        let got = kv(&r.text());
        assert_eq!(got["len"], body.len().to_string(), "mode {mode}");
        assert_eq!(got["sha256"], expected, "mode {mode}");
        if ["readline", "readlines", "iter"].contains(&mode) {
            assert_eq!(got["lines"], lines.to_string(), "mode {mode}");
        }
    }
    // An app that ignores the body still answers, and the connection stays usable.
    let r = post(&apache.url("/echo?mode=ignore"), "text/plain", &body);
    assert_eq!(r.status, 200);
    apache.assert_log_clean(&[]);
}

/// `readline()` hands over a line as soon as it has arrived, without waiting for the rest of
/// the body: the client here waits for the echo of its first line before sending more.
#[test]
fn readline_does_not_wait_for_the_rest_of_the_body() {
    use std::io::{BufRead, BufReader, Write};
    let apache = start(Mpm::Event);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let rest = b"second line\n";
    let first = b"first line\n";
    let head = format!(
        "POST /echo?mode=line_echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        first.len() + rest.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(first).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut seen = String::new();
    while !seen.contains("echo:first line") {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "closed early: {seen}"
        );
        seen.push_str(&line);
    }
    s.write_all(rest).unwrap();
    let mut tail = String::new();
    std::io::Read::read_to_string(&mut reader, &mut tail).unwrap();
    assert!(tail.contains("echo:second line"), "{tail}");
}

#[test]
fn large_upload_and_download_verified_by_hash() {
    let apache = start(Mpm::Event);
    let body = pattern(50 * 1024 * 1024);
    let r = post(
        &apache.url("/echo?mode=readn&n=65536"),
        "application/octet-stream",
        &body,
    );
    assert_eq!(r.status, 200);
    let got = kv(&r.text());
    assert_eq!(got["len"], body.len().to_string());
    assert_eq!(got["sha256"], sha256_hex(&body));
    let echoed = post(
        &apache.url("/echo?mode=echo"),
        "application/octet-stream",
        &body,
    );
    assert_eq!(echoed.status, 200);
    assert_eq!(echoed.body.len(), body.len());
    assert_eq!(sha256_hex(&echoed.body), sha256_hex(&body));
    let big = get(&apache.url("/resp/big?52428800"));
    assert_eq!(big.body.len(), 50 * 1024 * 1024);
    assert_eq!(big.header("content-length"), Some("52428800"));
}

fn chunked_request(path: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for p in parts {
        req.extend_from_slice(format!("{:x}\r\n", p.len()).as_bytes());
        req.extend_from_slice(p);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

#[test]
fn chunked_requests_need_wsgi_chunked_request() {
    let apache = start(Mpm::Event);
    let req = chunked_request("/echo?mode=read", &[b"hello ", b"chunked ", b"world"]);
    let reply =
        String::from_utf8_lossy(&raw(apache.port(), &req, Duration::from_secs(10))).into_owned();
    assert!(reply.starts_with("HTTP/1.1 411"), "{reply}");
    drop(apache);

    let apache = start_with(
        Mpm::Event,
        "<Location /echo>\n WSGIChunkedRequest On\n</Location>",
    );
    let reply =
        String::from_utf8_lossy(&raw(apache.port(), &req, Duration::from_secs(10))).into_owned();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains(&format!("len={}", "hello chunked world".len())),
        "{reply}"
    );
    assert!(
        reply.contains(&sha256_hex(b"hello chunked world")),
        "{reply}"
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn limit_request_body_is_honoured() {
    let apache = start_with(
        Mpm::Event,
        "LimitRequestBody 1000\n<Location /echo>\n WSGIChunkedRequest On\n</Location>",
    );
    let r = post(&apache.url("/echo?mode=read"), "text/plain", &[b'x'; 2000]);
    assert_eq!(r.status, 413);
    let r = post(&apache.url("/echo?mode=read"), "text/plain", &[b'x'; 1000]);
    assert_eq!(r.status, 200);
    // A chunked body only shows its size while being read: still 413, not a 500.
    let big = vec![b'y'; 1500];
    let req = chunked_request("/echo?mode=read", &[&big]);
    let reply =
        String::from_utf8_lossy(&raw(apache.port(), &req, Duration::from_secs(10))).into_owned();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert_eq!(get(&apache.url("/resp/tuple")).text(), "abc");
}

#[test]
fn responses_of_every_shape() {
    let apache = start(Mpm::Event);
    let r = get(&apache.url("/resp/write"));
    assert_eq!((r.status, r.text().as_str()), (200, "written-returned"));
    let r = get(&apache.url("/resp/tuple"));
    assert_eq!(
        (r.text().as_str(), r.header("content-length")),
        ("abc", Some("3"))
    );
    let r = get(&apache.url("/resp/pieces"));
    let small: Vec<String> = (0..1500).map(|i| format!("{i:04},")).collect();
    let expected = format!(
        "w;{}{}{}",
        small[..1000].concat(),
        "L".repeat(10000),
        small[1000..].concat()
    );
    assert_eq!((r.status, r.text()), (200, expected));
    let r = get(&apache.url("/resp/empty"));
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = get(&apache.url("/resp/status"));
    assert_eq!(r.status, 418);
    assert_eq!(r.header("x-custom"), Some("yes"));
    let cookies: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let raw_reply = raw(
        apache.port(),
        b"GET /resp/latin1 HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(
        raw_reply
            .windows(9)
            .any(|w| w == b"caf\xe9\r\nCon" || w == b"X-Latin: "),
        "{}",
        String::from_utf8_lossy(&raw_reply)
    );
    assert!(raw_reply.windows(4).any(|w| w == b"caf\xe9"));
    // Streaming: 100 chunks in order, sent chunked (no length known in advance).
    let r = get(&apache.url("/resp/stream?100"));
    let expected: String = (0..100).map(|i| format!("chunk {i:05}\n")).collect();
    assert_eq!(r.text(), expected);
    assert_eq!(r.header("content-length"), None);
    // close() is always called.
    let r = get(&apache.url("/resp/close?x1"));
    assert_eq!(r.text(), "body");
    let marker = apache.root().join("tmp/closed-x1");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(marker.exists(), "close() was not called");
    apache.assert_log_clean(&[]);
}

#[test]
fn streamed_chunks_reach_the_client_before_the_response_ends() {
    let apache = start(Mpm::Event);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /resp/slow-stream?a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("first") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the first block");
        got.extend_from_slice(&buf[..n]);
    }
    // The app asks for nothing more until this marker exists (or 30 s pass): the first
    // block arrived before the second was asked for.
    std::fs::write(apache.root().join("tmp/got-first-a"), b"").unwrap();
    s.read_to_end(&mut got).unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("second: seen"), "{text}");
}

/// A client that stops reading blocks its request's writes; the process's other requests
/// must still get Python (the GIL is released while a write waits, however small).
#[test]
fn a_client_that_does_not_read_holds_up_no_other_request() {
    // Longer than the client's 60 s: a write that kept the GIL would hold it that long.
    let apache = start_with(Mpm::Event, "Timeout 300");
    let mut flood = std::net::TcpStream::connect(("127.0.0.1", apache.port())).unwrap();
    use std::io::Write;
    // The same host as the counting requests: the same application group, so the same
    // interpreter and module.
    let head = format!(
        "GET /resp/flood HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        apache.port()
    );
    flood.write_all(head.as_bytes()).unwrap();
    let count = || {
        let r = get(&apache.url("/resp/flood-count"));
        assert_eq!(r.status, 200);
        let text = r.text();
        let (pid, n) = text.split_once(' ').unwrap();
        (pid.to_owned(), n.parse::<u64>().unwrap())
    };
    // Each count is a request of its own, answered while the flood's socket fills up and
    // then stays full (nobody reads it): once it is full the count stops moving for good.
    // Twenty answered counts in a row without a move: the flood is blocked in its write and
    // the process still answers. (Were the GIL kept while a write waits, these requests
    // would hang until the client's 60 s timeout.)
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = count();
    let mut unmoved = 0;
    while unmoved < 20 {
        let now = count();
        unmoved = if now.1 > 0 && now == last {
            unmoved + 1
        } else {
            0
        };
        assert!(
            std::time::Instant::now() < deadline,
            "the flood never blocked: {now:?}"
        );
        last = now;
    }
    drop(flood);
}

/// `WSGIStreamCoalescing On` turns Nagle's algorithm on from a streamed response's second
/// block (the kernel's socket option, as the application sees it) and off again when the
/// response ends; elsewhere Apache's setting stays.
#[test]
fn stream_coalescing_lets_the_kernel_merge_blocks_only_where_configured() {
    let apache = start_with(
        Mpm::Event,
        "<Location /resp/coalesced>\nWSGIStreamCoalescing On\n</Location>",
    );
    // One connection for both requests of each pair (keep-alive), checked by port.
    let agent = client();
    let text = |path: &str| text_via(&agent, &apache.url(path));
    let last_line = |t: &str| t.lines().last().unwrap_or_default().to_owned();
    let port = |line: &str| line.split(' ').next().unwrap_or_default().to_owned();

    let streamed = text("/resp/coalesced/nodelay");
    assert!(streamed.starts_with("one\ntwo\n"), "{streamed}");
    let during = last_line(&streamed);
    assert!(during.ends_with("nodelay=0"), "{during}");
    let after = text("/resp/coalesced/nodelay-now");
    assert_eq!(port(&after), port(&during), "not the same connection");
    assert!(after.trim_end().ends_with("nodelay=1"), "{after}");

    let plain = last_line(&text("/resp/nodelay"));
    assert!(plain.ends_with("nodelay=1"), "{plain}");
    apache.assert_log_clean(&[]);
}

#[test]
fn file_wrapper_sends_the_file() {
    let apache = start(Mpm::Event);
    let data = pattern(300_000);
    let r = get(&apache.url("/resp/file"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("300000"));
    assert_eq!(sha256_hex(&r.body), sha256_hex(&data));
    // From the file's current position.
    let r = get(&apache.url("/resp/file?skip=1000"));
    assert_eq!(r.body, &data[1000..]);
    // The app's Content-Length limits what is sent.
    let r = get(&apache.url("/resp/file?cl=500"));
    assert_eq!(r.body, &data[..500]);
    // Not a real file: iterated in blocks instead.
    let r = get(&apache.url("/resp/filelike"));
    assert_eq!(r.text(), "in-memory file");
    apache.assert_log_clean(&[]);
}

/// Objects an app keeps from a finished request fail cleanly instead of touching it.
#[test]
fn objects_kept_from_a_finished_request_fail_cleanly() {
    let apache = start(Mpm::Event);
    // One keep-alive connection: both requests reach the same process.
    let agent = client();
    let text = |path: &str| text_via(&agent, &apache.url(path));
    assert_eq!(text("/resp/keep-input"), "kept");
    let result = text("/resp/use-kept");
    assert!(
        result.contains("read: OSError: the request this object belonged to has finished"),
        "{result}"
    );
    assert!(!result.contains("write worked"), "{result}");
    assert_eq!(text("/resp/tuple"), "abc");
}

/// print(), sys.stderr and wsgi.errors reach Apache's error log, one line per line, tagged
/// with the client's address; a partial last line is flushed at the end of the request.
#[test]
fn python_output_goes_to_the_error_log_with_the_client() {
    let apache = start(Mpm::Event);
    assert_eq!(get(&apache.url("/resp/log?tag42")).text(), "logged");
    for line in [
        "printed-by-app tag42",
        "wsgi-errors-line tag42",
        "stderr-line tag42",
        "partial line without newline tag42",
    ] {
        let log = apache.wait_for_log(line);
        let found = log
            .lines()
            .find(|l| l.contains(line))
            .unwrap_or_else(|| panic!("{line} not logged:\n{log}"));
        assert!(
            found.contains("[wsgi:error]") && found.contains("[client 127.0.0.1:"),
            "{found}"
        );
    }
}

#[test]
fn head_requests_get_headers_only() {
    let apache = start(Mpm::Event);
    let reply = raw(
        apache.port(),
        b"HEAD /resp/tuple HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("Content-Length: 3"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n"),
        "HEAD response carried a body: {text:?}"
    );
    // With no output filters, the app sees HEAD (WSGIMapHEADToGET Auto).
    let reply = raw(
        apache.port(),
        b"HEAD /env HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(String::from_utf8_lossy(&reply).ends_with("\r\n\r\n"));
}

/// The module runs the Python it was built for (`RWSGI_TEST_PYTHON` in the per-version runs
/// of scripts/python/test.sh, else `PYO3_PYTHON`), from the Python home the test configured,
/// and says which in Apache's server banner.
#[test]
fn runs_the_python_it_was_built_for() {
    let python = test_python();
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.base_prefix)",
        ])
        .output()
        .unwrap();
    let text = output_text(&out);
    let mut lines = text.lines();
    let version = lines.next().unwrap().to_owned();
    let prefix = std::env::var("RWSGI_TEST_PYTHON_HOME")
        .unwrap_or_else(|_| lines.next().unwrap().to_owned());
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "apps/which.py",
        "import sys\n\
         def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [('%d.%d %s' % (sys.version_info[0], sys.version_info[1], sys.prefix)).encode()]\n",
    );
    let apache = stage.start("WSGIScriptAlias /which {root}/apps/which.py\n");
    assert_eq!(
        get(&apache.url("/which")).text(),
        format!("{version} {prefix}")
    );
    apache.wait_for_log(&format!("Python/{version} configured"));
}

/// The log streams have a binary side, as a text stream's `buffer` (Mercurial writes its
/// output there): bytes go to the error log line by line, decoded as UTF-8 with other
/// bytes as `\xNN`; text is refused there. In embedded mode and in a daemon.
#[test]
fn log_streams_take_bytes_through_their_buffer() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess logs processes=1 threads=1\n\
         WSGIScriptAlias /embedded {root}/apps/log_buffers.py\n\
         WSGIScriptAlias /daemon {root}/apps/log_buffers.py process-group=logs\n",
    );
    for path in ["/embedded", "/daemon"] {
        let reply = get(&apache.url(path));
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(
            reply.text(),
            "wrote=19 refused=str,list type=LogBuffer\n",
            "{path}"
        );
    }
    // As Apache writes them: it escapes every byte that is not printable ASCII, and so
    // the backslash of rwsgi's `\xff` too.
    for line in [
        "stdout buffer: caf\\xc3\\xa9",
        "stderr buffer: \\\\xff",
        "wsgi.errors buffer",
    ] {
        let log = apache.wait_for_log(line);
        assert_eq!(log.matches(line).count(), 2, "{line:?} twice in:\n{log}");
    }
    apache.assert_log_clean(&["buffer"]);
}
