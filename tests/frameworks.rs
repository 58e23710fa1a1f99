//! Real frameworks on rwsgi: a Flask app and a single-module Django project, each mounted
//! under a non-root URL (so SCRIPT_NAME / url_for / reverse carry the mount prefix).

mod harness;
use harness::*;

/// Both apps in one server: Flask at /flask, Django at /django.
const SNIPPET: &str = "WSGIScriptAlias /flask {root}/apps/fw_flask.py\n\
                       WSGIScriptAlias /django {root}/apps/fw_django.py\n";

/// A file larger than one file-wrapper block (8192) and than a socket buffer, so it takes
/// several writes; the apps send it from `<root>/htdocs/fw_payload.txt`.
fn payload() -> String {
    (0..6000)
        .map(|i| format!("payload line {i:06}: the quick brown fox\n"))
        .collect()
}

fn start() -> Apache {
    let stage = Stage::new(Mpm::Event);
    stage.write("htdocs/fw_payload.txt", &payload());
    stage.start(SNIPPET)
}

/// JSON without whitespace outside strings (the frameworks choose their own separators).
fn compact(json: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Flask
// ---------------------------------------------------------------------------------------

#[test]
fn flask_get_with_query_argument() {
    let apache = start();
    let r = get(&apache.url("/flask/hello?name=World%20%C3%A9"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hello World é");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("14"));

    let r = get(&apache.url("/flask/hello"));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello nobody");
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_json_post_is_echoed() {
    let apache = start();
    let body = br#"{"b": [1, 2, 3], "a": "caf\u00e9", "nested": {"ok": true, "none": null}}"#;
    let r = post(&apache.url("/flask/echo"), "application/json", body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        compact(&r.text()),
        format!(
            r#"{{"echo":{{"a":"caf\u00e9","b":[1,2,3],"nested":{{"none":null,"ok":true}}}},"length":{}}}"#,
            body.len()
        )
    );

    // A body much larger than one read buffer arrives whole.
    let items: Vec<String> = (0..20000).map(|i| format!("\"item-{i}\"")).collect();
    let big = format!("[{}]", items.join(","));
    let r = post(
        &apache.url("/flask/echo"),
        "application/json",
        big.as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        compact(&r.text()),
        format!(r#"{{"echo":{big},"length":{}}}"#, big.len())
    );

    // Not JSON: Flask answers 400 itself (the app is not at fault).
    let r = post(&apache.url("/flask/echo"), "application/json", b"{not json");
    assert_eq!(r.status, 400, "{}", r.text());
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_sets_cookie_and_custom_header() {
    let apache = start();
    let r = get(&apache.url("/flask/cookie"));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "cookie set");
    assert_eq!(r.header("x-fw-custom"), Some("custom-value"));
    let cookie = r.header("set-cookie").expect("Set-Cookie header");
    assert!(cookie.starts_with("fwcookie=v1;"), "{cookie}");
    assert!(cookie.contains("Path=/flask"), "{cookie}");

    let r = get_with(
        &apache.url("/flask/whoami"),
        &[("Cookie", "other=1; fwcookie=v1")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "cookie=v1\n");
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_unknown_route_is_404() {
    let apache = start();
    let r = get(&apache.url("/flask/no/such/route"));
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Not Found"), "{}", r.text());
    // The mount point itself has no route either.
    let r = get(&apache.url("/flask/"));
    assert_eq!(r.status, 404);
    // A method the route does not allow.
    let r = get(&apache.url("/flask/echo"));
    assert_eq!(r.status, 405);
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_url_for_includes_the_mount_point() {
    let apache = start();
    let r = get(&apache.url("/flask/urls?a=1"));
    assert_eq!(r.status, 200, "{}", r.text());
    let kv = kv(&r.text());
    assert_eq!(kv["url_for"], "/flask/hello?name=x");
    assert_eq!(
        kv["external"],
        format!("http://127.0.0.1:{}/flask/urls", apache.port())
    );
    assert_eq!(kv["script_root"], "/flask");
    assert_eq!(kv["path"], "/urls");
    assert_eq!(kv["full_path"], "/urls?a=1");
    assert_eq!(
        kv["url"],
        format!("http://127.0.0.1:{}/flask/urls?a=1", apache.port())
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_send_file_goes_through_the_file_wrapper() {
    let apache = start();
    let expected = payload();
    let r = get(&apache.url("/flask/file"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-file-wrapper"), Some("mod_wsgi"));
    assert_eq!(
        r.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/plain")
    );
    assert_eq!(r.body.len(), expected.len());
    assert!(r.body == expected.as_bytes(), "file body differs");

    // A range (werkzeug wraps the file: the iterating path, not sendfile).
    let r = get_with(&apache.url("/flask/file"), &[("Range", "bytes=100-199")]);
    assert_eq!(r.status, 206, "{}", r.text());
    assert_eq!(r.header("content-length"), Some("100"));
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-199/{}", expected.len()).as_str())
    );
    assert_eq!(r.text(), expected[100..200]);

    // Conditional request: 304 without a body.
    let etag = get(&apache.url("/flask/file"))
        .header("etag")
        .map(str::to_owned);
    let etag = etag.expect("send_file sets an ETag");
    let r = get_with(&apache.url("/flask/file"), &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// Django
// ---------------------------------------------------------------------------------------

#[test]
fn django_text_view() {
    let apache = start();
    let r = get(&apache.url("/django/hello/"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hello from django");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    apache.assert_log_clean(&[]);
}

#[test]
fn django_reads_post_form_data() {
    let apache = start();
    let r = post(
        &apache.url("/django/form/"),
        "application/x-www-form-urlencoded",
        b"name=Zo%C3%AB+Smith&tag=a&tag=b&empty=",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "empty=\nname=Zoë Smith\ntag=b\ntags=a,b\n");

    // The same POST to a view that is not csrf_exempt is refused by the middleware.
    let r = post(
        &apache.url("/django/guarded/"),
        "application/x-www-form-urlencoded",
        b"name=x",
    );
    assert_eq!(r.status, 403);
    apache.assert_log_clean(&[]);
}

#[test]
fn django_json_view_and_reverse_include_the_mount_point() {
    let apache = start();
    let r = get(&apache.url("/django/json/?q=abc"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let port = apache.port();
    assert_eq!(
        compact(&r.text()),
        format!(
            r#"{{"reverse_item":"/django/items/42/","reverse_hello":"/django/hello/","absolute":"http://127.0.0.1:{port}/django/items/7/","path":"/django/json/","path_info":"/json/","script_name":"/django","method":"GET","q":"abc"}}"#
        )
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn django_path_parameter() {
    let apache = start();
    let r = get(&apache.url("/django/items/42/"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "item 42 type=int");
    // Not an int: no pattern matches.
    let r = get(&apache.url("/django/items/abc/"));
    assert_eq!(r.status, 404);
    apache.assert_log_clean(&[]);
}

#[test]
fn django_unknown_path_is_404() {
    let apache = start();
    let r = get(&apache.url("/django/no/such/page/"));
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Not Found"), "{}", r.text());
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn django_streaming_response_is_assembled() {
    let apache = start();
    let r = get(&apache.url("/django/stream/"));
    assert_eq!(r.status, 200, "{}", r.text());
    let expected: String = (0..200)
        .map(|i| format!("chunk-{i:03}:{}\n", "x".repeat(i % 17)))
        .collect();
    assert_eq!(r.text(), expected);
    // A generator has no known length: the response is chunked, not Content-Length framed.
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));

    // The same on the wire, as HTTP/1.0 (no chunking: the end is the connection close).
    let req = format!(
        "GET /django/stream/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
        apache.port()
    );
    let wire = raw(
        apache.port(),
        req.as_bytes(),
        std::time::Duration::from_secs(10),
    );
    let wire = String::from_utf8_lossy(&wire);
    let (head, body) = wire.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "{head}"
    );
    assert_eq!(body, expected);
    apache.assert_log_clean(&[]);
}

#[test]
fn django_file_response_goes_through_the_file_wrapper() {
    let apache = start();
    let expected = payload();
    let r = get(&apache.url("/django/file/"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    assert!(r.body == expected.as_bytes(), "file body differs");
    apache.assert_log_clean(&[]);
}

#[test]
fn flask_and_django_share_one_server() {
    let apache = start();
    // Interleaved and concurrent: each app keeps its own SCRIPT_NAME.
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let flask = apache.url(&format!("/flask/hello?name=t{i}"));
            let django = apache.url(&format!("/django/items/{i}/"));
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let r = get(&flask);
                    assert_eq!(r.status, 200);
                    assert_eq!(r.text(), format!("hello t{i}"));
                    let r = get(&django);
                    assert_eq!(r.status, 200);
                    assert_eq!(r.text(), format!("item {i} type=int"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    apache.assert_log_clean(&[]);
}
