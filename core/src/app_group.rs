//! Application groups: the name a `WSGIApplicationGroup` value (or `application-group=`)
//! gives one request, by mod_wsgi's rules. The name picks the interpreter that runs it.

use crate::directive_args::GroupSpec;

/// Where a request arrived: what `%{SERVER}` and `%{RESOURCE}` expand from.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// The virtual host's `ServerName` (not the request's Host header).
    pub server_name: &'a str,
    /// The port the request arrived on, as Apache reports it.
    pub port: u16,
    /// The request's `SCRIPT_NAME`: the application's mount point.
    pub script_name: &'a str,
    /// The host the client asked for (`Host:`, without its port), if it named one.
    pub host: Option<&'a str>,
}

/// `%{SERVER}`: `host`, with `:port` unless the port is HTTP's or HTTPS's default.
pub fn server_group(site: &Site<'_>) -> String {
    if site.port == 80 || site.port == 443 {
        site.server_name.to_owned()
    } else {
        format!("{}:{}", site.server_name, site.port)
    }
}

/// `%{HOST}`: the host the client named (the virtual host's name when it named none), with
/// `:port` as for `%{SERVER}`.
pub fn host_group(site: &Site<'_>) -> String {
    let host = site
        .host
        .filter(|h| !h.is_empty())
        .unwrap_or(site.server_name);
    server_group(&Site {
        server_name: host,
        ..*site
    })
}

/// `%{RESOURCE}`: the virtual host, `|`, and the mount point.
pub fn resource_group(site: &Site<'_>) -> String {
    format!("{}|{}", server_group(site), site.script_name)
}

/// The application group `spec` names for a request at `site`. `env` looks a variable up
/// (the request's notes, its environment, then the process's). A variable holding one of
/// the other forms is expanded again, as mod_wsgi does; an unset one names the group
/// `%{ENV:name}` itself, and one holding another `%{ENV:…}` names that text, also as
/// mod_wsgi does (a sub-interpreter of that name, never the main interpreter by accident).
pub fn application_group(
    spec: &GroupSpec,
    site: &Site<'_>,
    env: impl Fn(&str) -> Option<String>,
) -> String {
    match spec {
        GroupSpec::Global => String::new(),
        GroupSpec::Server => server_group(site),
        GroupSpec::Host => host_group(site),
        GroupSpec::Resource => resource_group(site),
        GroupSpec::Named(name) => name.clone(),
        GroupSpec::Env(var) => match env(var) {
            Some(value) => match GroupSpec::parse(&value) {
                GroupSpec::Env(_) | GroupSpec::Named(_) => value,
                again => application_group(&again, site, env),
            },
            None => format!("%{{ENV:{var}}}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: Site<'static> = Site {
        server_name: "example.test",
        port: 8080,
        script_name: "/blog",
        host: Some("alias.example.test"),
    };

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn server_and_resource_omit_the_default_ports() {
        assert_eq!(server_group(&SITE), "example.test:8080");
        assert_eq!(resource_group(&SITE), "example.test:8080|/blog");
        for port in [80, 443] {
            let site = Site { port, ..SITE };
            assert_eq!(server_group(&site), "example.test");
            assert_eq!(resource_group(&site), "example.test|/blog");
        }
        // The root mount: SCRIPT_NAME is empty.
        let root = Site {
            script_name: "",
            ..SITE
        };
        assert_eq!(resource_group(&root), "example.test:8080|");
    }

    #[test]
    fn every_form() {
        let group = |v: &str| application_group(&GroupSpec::parse(v), &SITE, no_env);
        assert_eq!(group("%{GLOBAL}"), "");
        assert_eq!(group(""), "");
        assert_eq!(group("%{SERVER}"), "example.test:8080");
        assert_eq!(group("%{RESOURCE}"), "example.test:8080|/blog");
        assert_eq!(group("site1"), "site1");
        assert_eq!(group("%{HOST}"), "alias.example.test:8080");
        assert_eq!(group("%{ENV:UNSET}"), "%{ENV:UNSET}");
    }

    #[test]
    fn host_falls_back_to_the_server_name() {
        let site = Site {
            host: None,
            port: 80,
            ..SITE
        };
        assert_eq!(host_group(&site), "example.test");
        assert_eq!(
            host_group(&Site {
                host: Some(""),
                ..site
            }),
            "example.test"
        );
    }

    #[test]
    fn env_values_expand_again() {
        let env = |var: &str| match var {
            "NAMED" => Some("shop".to_owned()),
            "SERVER" => Some("%{SERVER}".to_owned()),
            "GLOBAL" => Some("%{GLOBAL}".to_owned()),
            "LOOP" => Some("%{ENV:LOOP}".to_owned()),
            _ => None,
        };
        let group = |v: &str| application_group(&GroupSpec::parse(v), &SITE, env);
        assert_eq!(group("%{ENV:NAMED}"), "shop");
        assert_eq!(group("%{ENV:SERVER}"), "example.test:8080");
        assert_eq!(group("%{ENV:GLOBAL}"), "");
        assert_eq!(group("%{ENV:LOOP}"), "%{ENV:LOOP}");
    }
}
