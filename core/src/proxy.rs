//! Trusted proxy headers (`WSGITrustedProxyHeaders`, `WSGITrustedProxies`): the registry of
//! headers a reverse proxy may set, parsing and checking the two directives, and the
//! per-request decision of what those headers change in the environ.
//!
//! The decision is a pure function of the configuration, the address of the peer (the
//! connection's client, what `REMOTE_ADDR` would be) and a lookup of the request's header
//! variables. The caller applies the result: it overrides some environ values and removes
//! the header variables of every category the configuration names, except the one trusted
//! header that was applied, so an application never sees a spoofed synonym.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a group of synonymous headers sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// `REMOTE_ADDR`.
    Client,
    /// `wsgi.url_scheme` and `REQUEST_SCHEME`.
    Scheme,
    /// `HTTP_HOST`.
    Host,
    /// `SERVER_NAME`.
    Server,
    /// `SERVER_PORT`.
    Port,
    /// `SCRIPT_NAME`.
    ScriptName,
}

const CATEGORIES: usize = 6;

impl Category {
    fn index(self) -> usize {
        self as usize
    }
}

/// How one header's value is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// A comma-separated list of addresses (`X-Forwarded-For`).
    ForwardedFor,
    /// One client address, used as is.
    ClientIp,
    /// `https` or `http`.
    SchemeName,
    /// `On`/`true`/`1` for https, `Off`/`false`/`0` for http.
    SchemeFlag,
    Host,
    Server,
    Port,
    ScriptName,
}

/// One header of the registry.
#[derive(Debug, PartialEq, Eq)]
pub struct TrustedHeader {
    /// The header's name as documented (matched case-insensitively).
    pub name: &'static str,
    /// Its CGI variable (`HTTP_X_FORWARDED_FOR`).
    pub variable: &'static str,
    pub category: Category,
    effect: Effect,
}

const fn entry(
    name: &'static str,
    variable: &'static str,
    category: Category,
    effect: Effect,
) -> TrustedHeader {
    TrustedHeader {
        name,
        variable,
        category,
        effect,
    }
}

/// Every header `WSGITrustedProxyHeaders` accepts, as in mod_wsgi 6.1.
pub static REGISTRY: [TrustedHeader; 15] = [
    entry(
        "X-Forwarded-For",
        "HTTP_X_FORWARDED_FOR",
        Category::Client,
        Effect::ForwardedFor,
    ),
    entry(
        "X-Client-IP",
        "HTTP_X_CLIENT_IP",
        Category::Client,
        Effect::ClientIp,
    ),
    entry(
        "X-Real-IP",
        "HTTP_X_REAL_IP",
        Category::Client,
        Effect::ClientIp,
    ),
    entry(
        "X-Forwarded-Proto",
        "HTTP_X_FORWARDED_PROTO",
        Category::Scheme,
        Effect::SchemeName,
    ),
    entry(
        "X-Forwarded-Scheme",
        "HTTP_X_FORWARDED_SCHEME",
        Category::Scheme,
        Effect::SchemeName,
    ),
    entry(
        "X-Scheme",
        "HTTP_X_SCHEME",
        Category::Scheme,
        Effect::SchemeName,
    ),
    entry(
        "X-Forwarded-HTTPS",
        "HTTP_X_FORWARDED_HTTPS",
        Category::Scheme,
        Effect::SchemeFlag,
    ),
    entry(
        "X-Forwarded-SSL",
        "HTTP_X_FORWARDED_SSL",
        Category::Scheme,
        Effect::SchemeFlag,
    ),
    entry(
        "X-HTTPS",
        "HTTP_X_HTTPS",
        Category::Scheme,
        Effect::SchemeFlag,
    ),
    entry(
        "X-Forwarded-Host",
        "HTTP_X_FORWARDED_HOST",
        Category::Host,
        Effect::Host,
    ),
    entry("X-Host", "HTTP_X_HOST", Category::Host, Effect::Host),
    entry(
        "X-Forwarded-Server",
        "HTTP_X_FORWARDED_SERVER",
        Category::Server,
        Effect::Server,
    ),
    entry(
        "X-Forwarded-Port",
        "HTTP_X_FORWARDED_PORT",
        Category::Port,
        Effect::Port,
    ),
    entry(
        "X-Script-Name",
        "HTTP_X_SCRIPT_NAME",
        Category::ScriptName,
        Effect::ScriptName,
    ),
    entry(
        "X-Forwarded-Script-Name",
        "HTTP_X_FORWARDED_SCRIPT_NAME",
        Category::ScriptName,
        Effect::ScriptName,
    ),
];

/// The registry entry for a header name (case-insensitive).
pub fn lookup_header(name: &str) -> Option<&'static TrustedHeader> {
    REGISTRY.iter().find(|h| h.name.eq_ignore_ascii_case(name))
}

/// The headers of a `WSGITrustedProxyHeaders` line, in order. Unknown names fail with the
/// list of supported ones.
pub fn parse_headers(
    directive: &str,
    words: &[String],
) -> Result<Vec<&'static TrustedHeader>, String> {
    if words.is_empty() {
        return Err(format!(
            "{directive}: expected one or more header names, e.g. {directive} X-Forwarded-For X-Forwarded-Proto"
        ));
    }
    words
        .iter()
        .map(|w| {
            lookup_header(w).ok_or_else(|| {
                let supported: Vec<&str> = REGISTRY.iter().map(|h| h.name).collect();
                format!(
                    "{directive}: unknown header '{w}'; supported headers: {}",
                    supported.join(", ")
                )
            })
        })
        .collect()
}

/// An IPv4 or IPv6 network: an address with a prefix length (a single address is a /32 or
/// /128). The address is stored with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// `10.0.0.5`, `192.168.0.0/16`, `10.0.0.0/255.0.0.0`, `::1`, `fd00::/8`. An IPv4-mapped
    /// IPv6 network (`::ffff:10.0.0.0/104`) becomes the IPv4 network.
    pub fn parse(s: &str) -> Option<IpNetwork> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&n| n <= bits)?
            }
            // A dotted netmask (as Apache's `Require ip` also accepts), contiguous only.
            Some(p) if addr.is_ipv4() => {
                let mask = u32::from(p.parse::<Ipv4Addr>().ok()?);
                let ones = mask.leading_ones();
                if mask.count_ones() != ones {
                    return None;
                }
                ones as u8
            }
            Some(_) => return None,
        };
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(prefix))),
        };
        Some(IpNetwork { addr, prefix })
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address counts as its IPv4
    /// address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The networks of a `WSGITrustedProxies` line. An entry that is neither an address nor a
/// network fails, naming it.
pub fn parse_proxies(directive: &str, words: &[String]) -> Result<Vec<IpNetwork>, String> {
    if words.is_empty() {
        return Err(format!(
            "{directive}: expected one or more IP addresses or networks, e.g. {directive} 10.0.0.5 192.168.0.0/16"
        ));
    }
    words
        .iter()
        .map(|w| {
            IpNetwork::parse(w).ok_or_else(|| {
                format!(
                    "{directive}: '{w}' is not an IP address or network; expected addresses or \
                     CIDR ranges such as 10.0.0.5, 192.168.0.0/16, ::1 or fd00::/8"
                )
            })
        })
        .collect()
}

/// An address as Apache or a proxy header writes it, or `None`.
fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn is_trusted(proxies: &[IpNetwork], ip: &[u8]) -> bool {
    parse_ip(ip).is_some_and(|ip| proxies.iter().any(|n| n.contains(ip)))
}

/// The scheme a trusted header announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What the trusted headers change in one request's environ. Values are the raw (latin-1)
/// header bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub remote_addr: Option<Vec<u8>>,
    /// The rewritten `HTTP_X_FORWARDED_FOR` (with `WSGITrustedProxies` only).
    pub forwarded_for: Option<Vec<u8>>,
    /// `wsgi.url_scheme` and `REQUEST_SCHEME`.
    pub scheme: Option<Scheme>,
    /// `HTTP_HOST`.
    pub host: Option<Vec<u8>>,
    pub server_name: Option<Vec<u8>>,
    pub server_port: Option<Vec<u8>>,
    /// `SCRIPT_NAME` and `mod_wsgi.script_name`.
    pub script_name: Option<Vec<u8>>,
    /// Header variables to leave out of the environ.
    pub remove: Vec<&'static str>,
}

impl Overrides {
    /// Whether the environ variable `name` must be left out.
    pub fn removes(&self, name: &str) -> bool {
        self.remove.contains(&name)
    }

    fn apply(&mut self, header: &TrustedHeader, value: &[u8], proxies: Option<&[IpNetwork]>) {
        match header.effect {
            Effect::ForwardedFor => {
                if let Some((client, list)) = forwarded_client(value, proxies) {
                    self.remote_addr = Some(client);
                    if list.is_some() {
                        self.forwarded_for = list;
                    }
                }
            }
            Effect::ClientIp => self.remote_addr = Some(value.to_vec()),
            Effect::SchemeName => {
                if value.eq_ignore_ascii_case(b"https") {
                    self.scheme = Some(Scheme::Https);
                } else if value.eq_ignore_ascii_case(b"http") {
                    self.scheme = Some(Scheme::Http);
                }
            }
            Effect::SchemeFlag => {
                let is = |words: [&[u8]; 3]| words.iter().any(|w| value.eq_ignore_ascii_case(w));
                if is([b"on", b"true", b"1"]) {
                    self.scheme = Some(Scheme::Https);
                } else if is([b"off", b"false", b"0"]) {
                    self.scheme = Some(Scheme::Http);
                }
            }
            Effect::Host => self.host = Some(value.to_vec()),
            Effect::Server => self.server_name = Some(value.to_vec()),
            Effect::Port => self.server_port = Some(value.to_vec()),
            Effect::ScriptName => self.script_name = Some(value.to_vec()),
        }
    }
}

/// The client an `X-Forwarded-For` list names, and the rewritten list (with a proxies list
/// only). `None` when the list has no non-empty entry.
///
/// Without a proxies list the leftmost entry is the client. With one, the entries are
/// walked from the right (the proxy nearest to us) past every trusted proxy: the first one
/// that is not a trusted proxy (or not an address) is the client, and the list is cut to
/// start with it. If every entry is a trusted proxy, the leftmost is the client.
fn forwarded_client(
    value: &[u8],
    proxies: Option<&[IpNetwork]>,
) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let mut entries = value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty());
    let Some(proxies) = proxies else {
        return entries.next().map(|e| (e.to_vec(), None));
    };
    let entries: Vec<&[u8]> = entries.collect();
    if entries.is_empty() {
        return None;
    }
    let client = entries
        .iter()
        .rposition(|e| !is_trusted(proxies, e))
        .unwrap_or(0);
    let list = entries[client..].join(&b", "[..]);
    Some((entries[client].to_vec(), Some(list)))
}

/// Decides what the trusted headers do to one request.
///
/// - `headers`: `WSGITrustedProxyHeaders`, in configuration order;
/// - `proxies`: `WSGITrustedProxies`, if configured;
/// - `peer`: the connection's client address;
/// - `lookup`: a header variable's value by CGI name (`HTTP_X_FORWARDED_FOR`).
///
/// The peer is trusted without a proxies list, or when it is in the list. For each trusted
/// header present in the request (and a trusted peer), its effect is applied in
/// configuration order; the last applied header of a category is the one kept. Every other
/// header of each category that `headers` names is removed, so with an untrusted peer all
/// of them are.
pub fn resolve<'v>(
    headers: &[&'static TrustedHeader],
    proxies: Option<&[IpNetwork]>,
    peer: &[u8],
    lookup: impl Fn(&str) -> Option<&'v [u8]>,
) -> Overrides {
    let trusted_peer = proxies.is_none_or(|p| is_trusted(p, peer));
    let mut out = Overrides::default();
    let mut named = [false; CATEGORIES];
    let mut kept: [Option<&'static str>; CATEGORIES] = [None; CATEGORIES];
    for header in headers {
        let category = header.category.index();
        named[category] = true;
        if !trusted_peer {
            continue;
        }
        if let Some(value) = lookup(header.variable) {
            out.apply(header, value, proxies);
            kept[category] = Some(header.variable);
        }
    }
    out.remove = REGISTRY
        .iter()
        .filter(|h| {
            let c = h.category.index();
            named[c] && kept[c] != Some(h.variable)
        })
        .map(|h| h.variable)
        .collect();
    out
}

#[cfg(test)]
mod tests;
