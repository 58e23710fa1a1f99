//! Unit and property tests of the trusted proxy headers' logic.
use super::*;

fn h(name: &str) -> &'static TrustedHeader {
    lookup_header(name).unwrap()
}

fn net(s: &str) -> IpNetwork {
    IpNetwork::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// `resolve` over a fixed set of request header variables.
fn run(
    headers: &[&str],
    proxies: Option<&[&str]>,
    peer: &str,
    request: &[(&str, &str)],
) -> Overrides {
    let headers: Vec<_> = headers.iter().map(|n| h(n)).collect();
    let proxies: Option<Vec<IpNetwork>> = proxies.map(|p| p.iter().map(|s| net(s)).collect());
    resolve(&headers, proxies.as_deref(), peer.as_bytes(), |name| {
        request
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_bytes())
    })
}

fn s(v: &Option<Vec<u8>>) -> Option<&str> {
    v.as_deref().map(|b| std::str::from_utf8(b).unwrap())
}

#[test]
fn registry_names_are_unique_and_variables_match_names() {
    for (i, a) in REGISTRY.iter().enumerate() {
        let expected = format!("HTTP_{}", a.name.to_ascii_uppercase().replace('-', "_"));
        assert_eq!(a.variable, expected);
        assert!(REGISTRY[i + 1..].iter().all(|b| b.name != a.name));
    }
}

#[test]
fn header_names_are_case_insensitive() {
    assert_eq!(h("x-forwarded-for").name, "X-Forwarded-For");
    assert_eq!(h("X-FORWARDED-PROTO").category, Category::Scheme);
    assert_eq!(h("x-real-ip").category, Category::Client);
    assert_eq!(h("X-Forwarded-Script-Name").category, Category::ScriptName);
    assert!(lookup_header("X-Forwarded").is_none());
    assert!(lookup_header("HTTP_X_FORWARDED_FOR").is_none());
}

#[test]
fn parse_headers_keeps_order_and_names_unknown_ones() {
    let got = parse_headers("D", &words("X-Forwarded-Proto x-forwarded-for")).unwrap();
    assert_eq!(got, vec![h("X-Forwarded-Proto"), h("X-Forwarded-For")]);
    let err =
        parse_headers("WSGITrustedProxyHeaders", &words("X-Forwarded-For X-Bogus")).unwrap_err();
    assert!(err.starts_with("WSGITrustedProxyHeaders: unknown header 'X-Bogus'"));
    for header in &REGISTRY {
        assert!(err.contains(header.name), "{err} lacks {}", header.name);
    }
    assert!(
        parse_headers("D", &[])
            .unwrap_err()
            .starts_with("D: expected")
    );
}

#[test]
fn networks_parse() {
    assert_eq!(net("10.0.0.5").to_string(), "10.0.0.5/32");
    assert_eq!(net("192.168.0.0/16").to_string(), "192.168.0.0/16");
    assert_eq!(net("192.168.7.9/16").to_string(), "192.168.0.0/16");
    assert_eq!(net("10.0.0.0/255.0.0.0").to_string(), "10.0.0.0/8");
    assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
    assert_eq!(net("::1").to_string(), "::1/128");
    assert_eq!(net("fd00::/8").to_string(), "fd00::/8");
    assert_eq!(net("::/0").to_string(), "::/0");
    assert_eq!(net("::ffff:10.1.0.0/112").to_string(), "10.1.0.0/16");
    for bad in [
        "",
        "10.0.0",
        "10.0.0.256",
        "10.0.0.0/33",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0.0/x",
        "10.0.0.0/255.0.255.0",
        "::1/129",
        "fd00::/ffff::",
        "localhost",
        "10.0.0.1,10.0.0.2",
        "[::1]",
    ] {
        assert_eq!(IpNetwork::parse(bad), None, "{bad:?} should not parse");
    }
}

#[test]
fn networks_contain() {
    assert!(net("10.0.0.5").contains(ip("10.0.0.5")));
    assert!(!net("10.0.0.5").contains(ip("10.0.0.6")));
    assert!(net("192.168.0.0/16").contains(ip("192.168.255.1")));
    assert!(!net("192.168.0.0/16").contains(ip("192.169.0.1")));
    assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
    assert!(!net("0.0.0.0/0").contains(ip("::1")));
    assert!(net("::1").contains(ip("::1")));
    assert!(net("fd00::/8").contains(ip("fd12:3456::1")));
    assert!(!net("fd00::/8").contains(ip("fe80::1")));
    // IPv4-mapped IPv6 addresses count as IPv4.
    assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
    assert!(net("::ffff:127.0.0.1").contains(ip("127.0.0.1")));
    assert!(!net("10.0.0.0/8").contains(ip("::a00:1")));
}

#[test]
fn parse_proxies_names_the_bad_entry() {
    let got = parse_proxies("D", &words("10.0.0.5 192.168.0.0/16 ::1 fd00::/8")).unwrap();
    assert_eq!(got.len(), 4);
    let err = parse_proxies("WSGITrustedProxies", &words("10.0.0.5 10.0.0.0/40")).unwrap_err();
    assert!(
        err.starts_with("WSGITrustedProxies: '10.0.0.0/40' is not an IP address or network"),
        "{err}"
    );
    assert!(
        parse_proxies("D", &[])
            .unwrap_err()
            .starts_with("D: expected")
    );
}

#[test]
fn nothing_configured_in_a_category_changes_nothing() {
    let out = run(
        &["X-Forwarded-Proto"],
        None,
        "127.0.0.1",
        &[("HTTP_X_FORWARDED_FOR", "1.2.3.4"), ("HTTP_X_HOST", "evil")],
    );
    assert_eq!(out.remote_addr, None);
    assert_eq!(out.host, None);
    assert!(!out.removes("HTTP_X_FORWARDED_FOR"));
    assert!(!out.removes("HTTP_X_HOST"));
}

#[test]
fn forwarded_for_without_proxies_takes_the_leftmost_entry() {
    let out = run(
        &["X-Forwarded-For"],
        None,
        "127.0.0.1",
        &[("HTTP_X_FORWARDED_FOR", " , 203.0.113.7 , 10.0.0.1")],
    );
    assert_eq!(s(&out.remote_addr), Some("203.0.113.7"));
    assert_eq!(out.forwarded_for, None, "the list is kept as sent");
    assert_eq!(
        out.remove,
        vec!["HTTP_X_CLIENT_IP", "HTTP_X_REAL_IP"],
        "the other client headers go, X-Forwarded-For stays"
    );
}

#[test]
fn forwarded_for_with_only_empty_entries_overrides_nothing() {
    for proxies in [None, Some(&["127.0.0.1"][..])] {
        let out = run(
            &["X-Forwarded-For"],
            proxies,
            "127.0.0.1",
            &[("HTTP_X_FORWARDED_FOR", " ,, ")],
        );
        assert_eq!(out.remote_addr, None);
        assert_eq!(out.forwarded_for, None);
        assert!(!out.removes("HTTP_X_FORWARDED_FOR"));
    }
}

#[test]
fn forwarded_for_with_proxies_walks_from_the_right() {
    let proxies: &[&str] = &["127.0.0.1", "10.0.0.0/8"];
    let cases = [
        // (list, client, rewritten list)
        (
            "198.51.100.1, 203.0.113.7, 10.1.2.3, 127.0.0.1",
            "203.0.113.7",
            "203.0.113.7, 10.1.2.3, 127.0.0.1",
        ),
        ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
        ("198.51.100.1,203.0.113.7", "203.0.113.7", "203.0.113.7"),
        // Every entry a trusted proxy: the leftmost is the client.
        ("10.0.0.1, 10.0.0.2", "10.0.0.1", "10.0.0.1, 10.0.0.2"),
        // Not an address: the walk stops there.
        ("1.1.1.1, unknown, 10.0.0.9", "unknown", "unknown, 10.0.0.9"),
        ("1.1.1.1, 10.0.0.9:8080", "10.0.0.9:8080", "10.0.0.9:8080"),
        // Empty entries are skipped.
        (" 1.1.1.1 ,, 10.0.0.9 ,", "1.1.1.1", "1.1.1.1, 10.0.0.9"),
        (
            "::ffff:10.0.0.1, 127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:10.0.0.1, 127.0.0.1",
        ),
    ];
    for (list, client, rewritten) in cases {
        let out = run(
            &["X-Forwarded-For"],
            Some(proxies),
            "127.0.0.1",
            &[("HTTP_X_FORWARDED_FOR", list)],
        );
        assert_eq!(s(&out.remote_addr), Some(client), "client for {list:?}");
        assert_eq!(s(&out.forwarded_for), Some(rewritten), "list for {list:?}");
    }
    // The mapped address above is a trusted proxy too, so with all trusted it is the
    // leftmost that wins.
    let out = run(
        &["X-Forwarded-For"],
        Some(proxies),
        "127.0.0.1",
        &[("HTTP_X_FORWARDED_FOR", "::ffff:10.0.0.1, 10.2.2.2")],
    );
    assert_eq!(s(&out.remote_addr), Some("::ffff:10.0.0.1"));
}

#[test]
fn untrusted_peer_strips_the_whole_category_and_overrides_nothing() {
    let request = [
        ("HTTP_X_FORWARDED_FOR", "1.2.3.4"),
        ("HTTP_X_REAL_IP", "5.6.7.8"),
        ("HTTP_X_FORWARDED_PROTO", "https"),
        ("HTTP_X_FORWARDED_HOST", "example.com"),
        ("HTTP_X_HOST", "other"),
    ];
    let out = run(
        &["X-Forwarded-For", "X-Forwarded-Proto"],
        Some(&["10.9.9.9"]),
        "127.0.0.1",
        &request,
    );
    let expected = Overrides {
        remove: vec![
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
        ..Overrides::default()
    };
    assert_eq!(out, expected);
    // A peer that is not an address at all is not trusted either.
    let out = run(&["X-Real-IP"], Some(&["0.0.0.0/0"]), "unix", &request);
    assert_eq!(out.remote_addr, None);
    assert!(out.removes("HTTP_X_REAL_IP"));
}

#[test]
fn trusted_peer_in_the_list() {
    let out = run(
        &["X-Real-IP"],
        Some(&["10.0.0.0/8", "::1"]),
        "::1",
        &[
            ("HTTP_X_REAL_IP", "203.0.113.9"),
            ("HTTP_X_FORWARDED_FOR", "6.6.6.6"),
        ],
    );
    assert_eq!(s(&out.remote_addr), Some("203.0.113.9"));
    assert!(!out.removes("HTTP_X_REAL_IP"));
    assert!(out.removes("HTTP_X_FORWARDED_FOR"));
    assert!(out.removes("HTTP_X_CLIENT_IP"));
}

#[test]
fn listed_header_absent_strips_its_synonyms() {
    let out = run(
        &["X-Forwarded-For"],
        None,
        "127.0.0.1",
        &[("HTTP_X_REAL_IP", "6.6.6.6")],
    );
    assert_eq!(out.remote_addr, None);
    assert_eq!(
        out.remove,
        vec!["HTTP_X_FORWARDED_FOR", "HTTP_X_CLIENT_IP", "HTTP_X_REAL_IP"]
    );
}

#[test]
fn schemes() {
    let cases = [
        ("X-Forwarded-Proto", "https", Some(Scheme::Https)),
        ("X-Forwarded-Proto", "HTTPS", Some(Scheme::Https)),
        ("X-Forwarded-Scheme", "http", Some(Scheme::Http)),
        ("X-Scheme", "Http", Some(Scheme::Http)),
        ("X-Forwarded-Proto", "ftp", None),
        ("X-Forwarded-Proto", "on", None),
        ("X-Forwarded-HTTPS", "On", Some(Scheme::Https)),
        ("X-Forwarded-SSL", "true", Some(Scheme::Https)),
        ("X-HTTPS", "1", Some(Scheme::Https)),
        ("X-Forwarded-HTTPS", "off", Some(Scheme::Http)),
        ("X-Forwarded-SSL", "FALSE", Some(Scheme::Http)),
        ("X-HTTPS", "0", Some(Scheme::Http)),
        ("X-HTTPS", "yes", None),
        ("X-HTTPS", "https", None),
    ];
    for (name, value, expected) in cases {
        let variable = h(name).variable;
        let out = run(&[name], None, "127.0.0.1", &[(variable, value)]);
        assert_eq!(out.scheme, expected, "{name}: {value}");
        // The listed header is kept even when its value changes nothing.
        assert!(!out.removes(variable));
        assert_eq!(out.remove.len(), 5, "{:?}", out.remove);
    }
    assert_eq!(Scheme::Https.as_str(), "https");
    assert_eq!(Scheme::Http.as_str(), "http");
}

#[test]
fn host_server_port_and_script_name_are_taken_as_is() {
    let out = run(
        &[
            "X-Forwarded-Host",
            "X-Forwarded-Server",
            "X-Forwarded-Port",
            "X-Script-Name",
        ],
        None,
        "127.0.0.1",
        &[
            ("HTTP_X_FORWARDED_HOST", "www.example.com:8443"),
            ("HTTP_X_HOST", "evil.example"),
            ("HTTP_X_FORWARDED_SERVER", "www.example.com"),
            ("HTTP_X_FORWARDED_PORT", "8443"),
            ("HTTP_X_SCRIPT_NAME", "/prefix"),
            ("HTTP_X_FORWARDED_SCRIPT_NAME", "/spoofed"),
        ],
    );
    assert_eq!(s(&out.host), Some("www.example.com:8443"));
    assert_eq!(s(&out.server_name), Some("www.example.com"));
    assert_eq!(s(&out.server_port), Some("8443"));
    assert_eq!(s(&out.script_name), Some("/prefix"));
    assert_eq!(out.remote_addr, None);
    assert_eq!(out.scheme, None);
    assert_eq!(
        out.remove,
        vec!["HTTP_X_HOST", "HTTP_X_FORWARDED_SCRIPT_NAME"]
    );
}

#[test]
fn later_headers_of_a_category_win_and_are_kept() {
    let out = run(
        &["X-Forwarded-For", "X-Real-IP"],
        None,
        "127.0.0.1",
        &[
            ("HTTP_X_FORWARDED_FOR", "1.1.1.1"),
            ("HTTP_X_REAL_IP", "2.2.2.2"),
        ],
    );
    assert_eq!(s(&out.remote_addr), Some("2.2.2.2"));
    assert_eq!(out.remove, vec!["HTTP_X_FORWARDED_FOR", "HTTP_X_CLIENT_IP"]);
    // Only the one present applies.
    let out = run(
        &["X-Forwarded-For", "X-Real-IP"],
        None,
        "127.0.0.1",
        &[("HTTP_X_FORWARDED_FOR", "1.1.1.1")],
    );
    assert_eq!(s(&out.remote_addr), Some("1.1.1.1"));
    assert_eq!(out.remove, vec!["HTTP_X_CLIENT_IP", "HTTP_X_REAL_IP"]);
}

#[test]
fn client_ip_values_are_used_as_is() {
    let out = run(
        &["X-Client-IP"],
        None,
        "127.0.0.1",
        &[("HTTP_X_CLIENT_IP", "not-an-address")],
    );
    assert_eq!(s(&out.remote_addr), Some("not-an-address"));
}

#[test]
fn no_headers_configured_is_a_no_op() {
    let out = run(
        &[],
        Some(&["10.0.0.1"]),
        "127.0.0.1",
        &[("HTTP_X_REAL_IP", "x")],
    );
    assert_eq!(out, Overrides::default());
}
