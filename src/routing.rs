//! Which process group and application group a request selects, from the configuration's
//! selectors (`%{GLOBAL}`, `%{RESOURCE}`, `%{ENV:…}`, names), and whether `%{GLOBAL}` can
//! reach a process group. Used by the handler, the auth and dispatch scripts, and the
//! processes that set up interpreters.

use crate::apache::{Request, Server};
use crate::config::GroupSpec;
use crate::wsgi;
use rwsgi_core::app_group::{self, Site};
use rwsgi_core::http::script_name;

/// A `%{ENV:…}` variable of a request, where mod_wsgi looks: the request's notes, its
/// environment (SetEnv, SetEnvIf, mod_rewrite E=), then the process environment.
fn env_var(r: &Request<'_>, var: &str) -> Option<String> {
    let key = std::ffi::CString::new(var).ok()?;
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    (r.notes().and_then(|t| t.get(&key)).map(text))
        .or_else(|| r.subprocess_env().and_then(|t| t.get(&key)).map(text))
        .or_else(|| std::env::var(var).ok())
}

/// A `WSGIProcessGroup %{ENV:…}` whose variable is not set for the request.
pub struct UnsetGroupVariable(pub String);

/// The daemon group a request selects (`""`: embedded). A `%{ENV:…}` value that is itself
/// a selector (`%{GLOBAL}`) is expanded, as mod_wsgi does. An unset variable selects no
/// group at all: a request meant for a daemon never runs embedded.
pub fn process_group(
    r: &Request<'_>,
    spec: &Option<GroupSpec>,
) -> Result<String, UnsetGroupVariable> {
    match spec {
        Some(GroupSpec::Env(var)) => {
            let value = env_var(r, var).ok_or_else(|| UnsetGroupVariable(var.clone()))?;
            Ok(match GroupSpec::parse(&value) {
                GroupSpec::Global => String::new(),
                _ => value,
            })
        }
        Some(GroupSpec::Named(n)) => Ok(n.clone()),
        _ => Ok(String::new()),
    }
}

/// The application group a request selects (`""`: `%{GLOBAL}`); when none is given,
/// `%{RESOURCE}`, as in mod_wsgi (which interpreter runs it: `wsgi::groups`).
pub fn application_group(r: &Request<'_>, spec: &Option<GroupSpec>) -> String {
    let spec = match spec {
        Some(GroupSpec::Global) => return String::new(),
        Some(GroupSpec::Named(name)) => return name.clone(),
        Some(spec) => spec,
        None => &GroupSpec::Resource,
    };
    let script = wsgi::collapse_slashes(script_name(r.uri(), r.path_info()));
    let host = r.hostname().map(String::from_utf8_lossy);
    let site = Site {
        server_name: &r.server().hostname(),
        port: r.server_port(),
        script_name: &String::from_utf8_lossy(&script),
        host: host.as_deref(),
    };
    app_group::application_group(spec, &site, |var| env_var(r, var))
}

/// Whether any server's configuration names `%{GLOBAL}` as an application group that may
/// run in `process_group` (`""`: Apache's children).
pub fn global_group_reaches(main: Server<'_>, process_group: &str) -> bool {
    std::iter::successors(Some(main), Server::next)
        .any(|s| s.config().global_group.reaches(process_group))
}
