//! Python hook scripts run in the Apache child, before a request reaches its application:
//! the auth hooks (`auth.rs`) and the dispatch script (`dispatch.rs`). A script loads (and
//! reloads) like a WSGI script, as a module in the interpreter of its application group,
//! and its functions get a cut-down environ.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use crate::apache::{Mpm, Request, SslVars};
use crate::config::HookScript;
use crate::python::output::LogStream;
use crate::python::{interpreter, traceback, with_gil};
use crate::request_vars::{self, ChildOptions};
use crate::ssl_vars::SslCallables;
use crate::wsgi::modules::MOD_WSGI_API_VERSION;
use crate::wsgi::runner::{CHILD, log_load_error};
use crate::wsgi::{Context, EnvironBuilder};
use rwsgi_core::route::Route;

/// Loads `script` in its group's interpreter and runs `f` on its module with the cut-down
/// environ; `None` after logging why there is no answer (`what`, e.g. "auth script",
/// names it in the log).
pub fn run<T>(
    r: &mut Request<'_>,
    script: &HookScript,
    what: &str,
    f: impl for<'py> FnOnce(Python<'py>, &Bound<'py, PyDict>, &Bound<'py, PyModule>) -> PyResult<T>,
) -> Option<T> {
    let Some(child) = CHILD.get().filter(|_| interpreter::is_running()) else {
        tracing::error!(
            "RW0110: Python is not available in this process (see the RW0100 start-up error); cannot run {what} '{}'",
            script.path
        );
        return None;
    };
    let group = crate::routing::application_group(r, &Some(script.application_group.clone()));
    let reload = r.dir_config().script_reloading.unwrap_or(true);
    // A hook is no application: no callable, and its environ names only its group.
    let route = Route {
        application_group: group.clone(),
        ..Route::default()
    };
    // Revoked (dropped) when the hook returns.
    let ssl = SslVars::of(r).map(SslCallables::new);
    with_gil(|py| {
        let ran = child.run(py, &group, &script.path, |py, context| {
            let module = match context.scripts.module(py, &script.path, reload, None) {
                Ok(m) => m,
                Err(err) => {
                    log_load_error(py, context, &group, &err);
                    return None;
                }
            };
            let errors = LogStream::new("<wsgi.errors>");
            let answer = environ(py, context, r, &route, errors.clone(), ssl.as_ref())
                .and_then(|environ| f(py, &environ, module.bind(py)));
            errors.flush_pending(py);
            match answer {
                Ok(answer) => Some(answer),
                Err(err) => {
                    traceback::log(
                        py,
                        &format!("RW0123: {what} '{}' raised", script.path),
                        &err,
                    );
                    None
                }
            }
        });
        ran.unwrap_or_else(|line| {
            py.detach(|| tracing::error!("{line}"));
            None
        })
    })
}

/// The environ a hook gets: the request's CGI and `mod_wsgi.*` variables, with
/// `wsgi.errors`, the versions and mod_ssl's callables; no body, no `start_response`.
fn environ<'py>(
    py: Python<'py>,
    context: &Context,
    r: &mut Request<'_>,
    route: &Route,
    errors: LogStream,
    ssl: Option<&SslCallables>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut env = EnvironBuilder::new(&PyDict::new(py), &context.var_keys)?;
    request_vars::collect(r, route, &ChildOptions::default(), &mut env);
    let environ = env.into_dict()?;
    if let Some(ssl) = ssl {
        for (key, f) in ssl.make(py)? {
            environ.set_item(key, f)?;
        }
    }
    environ.set_item("wsgi.errors", context.log(py, errors)?)?;
    environ.set_item("mod_wsgi.version", MOD_WSGI_API_VERSION)?;
    environ.set_item("apache.version", Mpm::apache_version())?;
    Ok(environ)
}
