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
}

/// `%{SERVER}`: `host`, with `:port` unless the port is HTTP's or HTTPS's default.
pub fn server_group(site: &Site<'_>) -> String {
    if site.port == 80 || site.port == 443 {
        site.server_name.to_owned()
    } else {
        format!("{}:{}", site.server_name, site.port)
    }
}

/// `%{RESOURCE}`: the virtual host, `|`, and the mount point.
pub fn resource_group(site: &Site<'_>) -> String {
    format!("{}|{}", server_group(site), site.script_name)
}

/// The application group `spec` names for a request at `site`. `env` looks a variable up
/// (the request's notes, its environment, then the process's). A variable holding one of
/// the other forms is expanded again, as mod_wsgi does; an unset one, or one holding
/// another `%{ENV:…}`, names the main interpreter's group (`""`).
pub fn application_group(
    spec: &GroupSpec,
    site: &Site<'_>,
    env: impl Fn(&str) -> Option<String>,
) -> String {
    match spec {
        GroupSpec::Global => String::new(),
        GroupSpec::Server => server_group(site),
        GroupSpec::Resource => resource_group(site),
        GroupSpec::Named(name) => name.clone(),
        GroupSpec::Env(var) => match env(var) {
            Some(value) => match GroupSpec::parse(&value) {
                GroupSpec::Env(_) => String::new(),
                again => application_group(&again, site, env),
            },
            None => String::new(),
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
        assert_eq!(group("%{ENV:UNSET}"), "");
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
        assert_eq!(group("%{ENV:LOOP}"), "");
    }
}
