//! `WSGITrustedProxyHeaders` and `WSGITrustedProxies` against a real Apache: what
//! `apache2 -t` rejects, and what trusted headers change in the environ. The test client
//! always connects from 127.0.0.1, so that is the peer address.
mod harness;
use harness::*;

use std::collections::BTreeMap;

fn var<'a>(env: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str)
}

/// Asserts the environ has none of `keys`.
fn assert_absent(env: &BTreeMap<String, String>, keys: &[&str]) {
    for k in keys {
        assert_eq!(var(env, k), None, "{k} should have been removed");
    }
}

/// Every proxy header of the registry, each with a distinct (spoofable) value.
const ALL_PROXY_HEADERS: &[(&str, &str)] = &[
    ("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
    ("X-Client-IP", "198.51.100.2"),
    ("X-Real-IP", "198.51.100.3"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Scheme", "https"),
    ("X-Scheme", "https"),
    ("X-Forwarded-HTTPS", "on"),
    ("X-Forwarded-SSL", "on"),
    ("X-HTTPS", "1"),
    ("X-Forwarded-Host", "www.example.com:8443"),
    ("X-Host", "spoofed.example"),
    ("X-Forwarded-Server", "www.example.com"),
    ("X-Forwarded-Port", "8443"),
    ("X-Script-Name", "/prefix"),
    ("X-Forwarded-Script-Name", "/spoofed"),
];

// ---------------------------------------------------------------------------------------
// apache2 -t
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_header_fails_the_config_test() {
    let text = config_error("WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Bogus\n");
    assert_mentions(
        &text,
        &[
            "WSGITrustedProxyHeaders",
            "unknown header 'X-Forwarded-Bogus'",
            "supported headers: X-Forwarded-For, X-Client-IP, X-Real-IP, X-Forwarded-Proto",
            "X-Forwarded-Script-Name",
        ],
    );
}

#[test]
fn bad_proxy_address_fails_the_config_test() {
    for bad in ["10.0.0.0/33", "not-an-ip", "10.0.0", "fd00::/129"] {
        let text = config_error(&format!("WSGITrustedProxies 10.0.0.5 {bad}\n"));
        assert_mentions(
            &text,
            &[
                "WSGITrustedProxies",
                &format!("'{bad}' is not an IP address or network"),
            ],
        );
    }
}

#[test]
fn empty_lists_fail_the_config_test() {
    assert_mentions(
        &config_error("WSGITrustedProxyHeaders\n"),
        &[
            "WSGITrustedProxyHeaders",
            "expected one or more header names",
        ],
    );
    assert_mentions(
        &config_error("WSGITrustedProxies\n"),
        &["WSGITrustedProxies", "expected one or more IP addresses"],
    );
}

#[test]
fn config_test_accepts_both_in_every_context() {
    let out = Stage::new(Mpm::Event).config_test(
        "WSGITrustedProxyHeaders x-forwarded-for X-FORWARDED-PROTO\n\
         WSGITrustedProxies 10.0.0.5 192.168.0.0/16 ::1 fd00::/8 10.0.0.0/255.0.0.0\n\
         <VirtualHost *:80>\n  WSGITrustedProxyHeaders X-Real-IP\n  WSGITrustedProxies 127.0.0.1\n</VirtualHost>\n\
         <Directory {root}/htdocs>\n  WSGITrustedProxyHeaders X-Forwarded-Host\n  WSGITrustedProxies 10.0.0.0/8\n</Directory>\n\
         <Location /x>\n  WSGITrustedProxyHeaders X-Script-Name\n</Location>\n",
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "apache2 -t failed:\n{text}");
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[test]
fn without_the_directives_proxy_headers_pass_through() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /app {root}/apps/dir_env.py\n");
    let env = env_with(&apache, "/app/x", ALL_PROXY_HEADERS);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    assert_eq!(var(&env, "SERVER_NAME"), Some("127.0.0.1"));
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/app"));
    for (name, value) in ALL_PROXY_HEADERS {
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        assert_eq!(var(&env, &key), Some(*value), "{key}");
    }
    apache.assert_log_clean(&[]);
}

#[test]
fn trusted_headers_without_a_proxy_list_apply_from_any_peer() {
    // Repeating the directive adds to the list.
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto\n\
         WSGITrustedProxyHeaders X-Forwarded-Host X-Forwarded-Port X-Forwarded-Server X-Script-Name\n",
    );
    let port = apache.port().to_string();

    // Nothing sent: nothing changes.
    let env = env_with(&apache, "/app/x", &[]);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    assert_eq!(var(&env, "SERVER_PORT"), Some(port.as_str()));
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/app"));

    let env = env_with(&apache, "/app/x", ALL_PROXY_HEADERS);
    // X-Forwarded-For: the leftmost entry, and the list is kept as sent.
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("203.0.113.7"));
    assert_eq!(
        var(&env, "HTTP_X_FORWARDED_FOR"),
        Some("203.0.113.7, 10.0.0.1")
    );
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("https"));
    assert_eq!(var(&env, "REQUEST_SCHEME"), Some("https"));
    assert_eq!(var(&env, "HTTP_HOST"), Some("www.example.com:8443"));
    assert_eq!(var(&env, "SERVER_PORT"), Some("8443"));
    assert_eq!(var(&env, "SERVER_NAME"), Some("www.example.com"));
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/prefix"));
    assert_eq!(var(&env, "mod_wsgi.script_name"), Some("/prefix"));
    assert_eq!(var(&env, "PATH_INFO"), Some("/x"));
    // The trusted headers stay; their synonyms are gone.
    for kept in [
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PORT",
        "HTTP_X_FORWARDED_SERVER",
        "HTTP_X_SCRIPT_NAME",
    ] {
        assert!(env.contains_key(kept), "{kept} should be kept");
    }
    assert_absent(
        &env,
        &[
            "HTTP_X_CLIENT_IP",
            "HTTP_X_REAL_IP",
            "HTTP_X_FORWARDED_SCHEME",
            "HTTP_X_SCHEME",
            "HTTP_X_FORWARDED_HTTPS",
            "HTTP_X_FORWARDED_SSL",
            "HTTP_X_HTTPS",
            "HTTP_X_HOST",
            "HTTP_X_FORWARDED_SCRIPT_NAME",
        ],
    );

    // X-Forwarded-Proto: http, and a value that is neither, which changes nothing.
    let env = env_with(&apache, "/app", &[("X-Forwarded-Proto", "HTTP")]);
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    let env = env_with(&apache, "/app", &[("X-Forwarded-Proto", "gopher")]);
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    assert_eq!(var(&env, "HTTP_X_FORWARDED_PROTO"), Some("gopher"));
    apache.assert_log_clean(&[]);
}

#[test]
fn trusted_proxy_list_walks_forwarded_for_from_the_right() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto\n\
         WSGITrustedProxies 127.0.0.1\n\
         WSGITrustedProxies 10.0.0.0/8\n",
    );
    // The peer (127.0.0.1) is a trusted proxy; so are 10.1.2.3 and the 127.0.0.1 entry.
    // The first untrusted entry from the right is the client, and the list starts there.
    let env = env_with(
        &apache,
        "/app",
        &[
            (
                "X-Forwarded-For",
                "198.51.100.1, 203.0.113.7, 10.1.2.3, 127.0.0.1",
            ),
            ("X-Forwarded-Proto", "https"),
            ("X-Real-IP", "198.51.100.3"),
        ],
    );
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("203.0.113.7"));
    assert_eq!(
        var(&env, "HTTP_X_FORWARDED_FOR"),
        Some("203.0.113.7, 10.1.2.3, 127.0.0.1")
    );
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("https"));
    assert_absent(&env, &["HTTP_X_REAL_IP"]);

    // Every entry is a trusted proxy: the leftmost is the client.
    let env = env_with(
        &apache,
        "/app",
        &[("X-Forwarded-For", "10.0.0.1, 127.0.0.1")],
    );
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("10.0.0.1"));
    assert_eq!(
        var(&env, "HTTP_X_FORWARDED_FOR"),
        Some("10.0.0.1, 127.0.0.1")
    );

    // Repeated X-Forwarded-For headers form one list.
    let env = env_with(
        &apache,
        "/app",
        &[
            ("X-Forwarded-For", "198.51.100.1"),
            ("X-Forwarded-For", "10.0.0.1"),
        ],
    );
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("198.51.100.1"));
    assert_eq!(
        var(&env, "HTTP_X_FORWARDED_FOR"),
        Some("198.51.100.1, 10.0.0.1")
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn untrusted_peer_gets_no_overrides_and_loses_the_categories_headers() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto\n\
         WSGITrustedProxies 10.9.9.9\n",
    );
    let env = env_with(&apache, "/app", ALL_PROXY_HEADERS);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    assert_eq!(var(&env, "REQUEST_SCHEME"), Some("http"));
    assert_absent(
        &env,
        &[
            "HTTP_X_FORWARDED_FOR",
            "HTTP_X_CLIENT_IP",
            "HTTP_X_REAL_IP",
            "HTTP_X_FORWARDED_PROTO",
            "HTTP_X_FORWARDED_SCHEME",
            "HTTP_X_SCHEME",
            "HTTP_X_FORWARDED_HTTPS",
            "HTTP_X_FORWARDED_SSL",
            "HTTP_X_HTTPS",
        ],
    );
    // Categories the configuration does not name are left alone.
    assert_eq!(
        var(&env, "HTTP_X_FORWARDED_HOST"),
        Some("www.example.com:8443")
    );
    assert_eq!(var(&env, "HTTP_X_HOST"), Some("spoofed.example"));
    assert_eq!(
        var(&env, "HTTP_HOST"),
        Some(&*format!("127.0.0.1:{}", apache.port()))
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn synonyms_of_the_trusted_header_are_removed() {
    // SetEnv cannot smuggle a synonym in either.
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         WSGITrustedProxyHeaders X-Forwarded-For\n\
         SetEnv HTTP_X_CLIENT_IP 198.51.100.9\n",
    );
    let env = env_with(
        &apache,
        "/app",
        &[
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Real-IP", "198.51.100.3"),
        ],
    );
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("203.0.113.7"));
    assert_eq!(var(&env, "HTTP_X_FORWARDED_FOR"), Some("203.0.113.7"));
    assert_absent(&env, &["HTTP_X_REAL_IP", "HTTP_X_CLIENT_IP"]);

    // Only a synonym sent: it is removed and REMOTE_ADDR stays the peer.
    let env = env_with(&apache, "/app", &[("X-Real-IP", "198.51.100.3")]);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_absent(&env, &["HTTP_X_REAL_IP", "HTTP_X_FORWARDED_FOR"]);
    apache.assert_log_clean(&[]);
}

#[test]
fn an_inner_section_replaces_the_lists() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias / {root}/apps/dir_env.py\n\
         WSGITrustedProxyHeaders X-Forwarded-For\n\
         <Location /real-ip>\n  WSGITrustedProxyHeaders X-Real-IP\n</Location>\n\
         <Location /strict>\n  WSGITrustedProxies 10.9.9.9\n</Location>\n\
         <Location /strict/open>\n  WSGITrustedProxies 127.0.0.0/8\n</Location>\n",
    );
    let sent = [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Real-IP", "198.51.100.3"),
    ];

    let env = env_with(&apache, "/outer", &sent);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("203.0.113.7"));
    assert_absent(&env, &["HTTP_X_REAL_IP"]);

    // The <Location>'s list replaces the server's: X-Forwarded-For is not trusted here.
    let env = env_with(&apache, "/real-ip/x", &sent);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("198.51.100.3"));
    assert_eq!(var(&env, "HTTP_X_REAL_IP"), Some("198.51.100.3"));
    assert_absent(&env, &["HTTP_X_FORWARDED_FOR"]);

    // Headers from the server, proxies from the <Location>: the peer is not trusted.
    let env = env_with(&apache, "/strict", &sent);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_absent(&env, &["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"]);

    // A deeper <Location> replaces that proxies list again.
    let env = env_with(&apache, "/strict/open", &sent);
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("203.0.113.7"));
    apache.assert_log_clean(&[]);
}

#[test]
fn htaccess_with_allow_override_file_info() {
    let stage = Stage::new(Mpm::Event);
    std::fs::create_dir_all(stage.root().join("site")).unwrap();
    std::fs::copy(
        stage.root().join("apps/dir_env.py"),
        stage.root().join("site/dir_env.py"),
    )
    .unwrap();
    stage.write(
        "site/.htaccess",
        "WSGITrustedProxyHeaders X-Forwarded-Host X-Forwarded-Proto\nWSGITrustedProxies 127.0.0.1\n",
    );
    let apache = stage.start(
        "WSGIScriptAlias /site {root}/site/dir_env.py\n\
         <Directory {root}/site>\n  AllowOverride FileInfo\n</Directory>\n",
    );
    let env = env_with(
        &apache,
        "/site",
        &[
            ("X-Forwarded-Host", "www.example.com"),
            ("X-Host", "spoofed.example"),
            ("X-Forwarded-SSL", "on"),
        ],
    );
    assert_eq!(var(&env, "HTTP_HOST"), Some("www.example.com"));
    assert_eq!(var(&env, "wsgi.url_scheme"), Some("http"));
    assert_absent(&env, &["HTTP_X_HOST", "HTTP_X_FORWARDED_SSL"]);
    apache.assert_log_clean(&[]);
}
