//! Embedded mode: URL mapping (`WSGIScriptAlias`) and the handler that runs a WSGI app
//! inside the Apache child, on the request's own worker thread.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::apache::{
    BodyError as ApacheBodyError, FileKind, Request, RequestIo, RequestLogContext, status,
};
use crate::config::{AliasPattern, AppOptions, GroupSpec, MapHead, ScriptAlias};
use crate::python::app::{LoadError, Scripts};
use crate::python::output::LogStream;
use crate::python::{interpreter, with_gil};
use crate::wsgi::{
    self, BodyError, Channel, EnvironBuilder, Input, Outcome, ResponseHead, Transport,
};
use rwsgi_core::directive_args::match_mount;
use rwsgi_core::http::script_name;
use rwsgi_core::proxy;

/// Handler names that run `r->filename` as a WSGI script.
const SCRIPT_HANDLERS: [&[u8]; 2] = [b"wsgi-script", b"application/x-httpd-wsgi"];

/// What this process keeps for embedded requests once Python runs.
pub struct ChildState {
    pub scripts: Scripts,
    pub base_environ: Py<PyDict>,
}

/// Environ keys `build_environ` sets on every request. The per-process base dict holds them
/// (as None) so each request's `copy()` is already full-sized: setting them then replaces a
/// value instead of growing and rehashing the dict several times.
pub const ALWAYS_SET: &[&str] = &[
    "REQUEST_METHOD",
    "REQUEST_URI",
    "REQUEST_SCHEME",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "SCRIPT_FILENAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_ADDR",
    "SERVER_PROTOCOL",
    "SERVER_ADMIN",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "DOCUMENT_ROOT",
    "CONTEXT_PREFIX",
    "CONTEXT_DOCUMENT_ROOT",
    "wsgi.url_scheme",
    "wsgi.input",
    "wsgi.errors",
    "mod_wsgi.process_group",
    "mod_wsgi.application_group",
    "mod_wsgi.callable_object",
    "mod_wsgi.request_handler",
    "mod_wsgi.handler_script",
    "mod_wsgi.script_reloading",
    "mod_wsgi.listener_host",
    "mod_wsgi.listener_port",
    "mod_wsgi.script_name",
    "mod_wsgi.path_info",
    "mod_wsgi.request_start",
    "mod_wsgi.queue_start",
    "mod_wsgi.daemon_start",
    "mod_wsgi.application_start",
];

/// Set once in `child_init` when Python started.
pub static CHILD: OnceLock<ChildState> = OnceLock::new();

/// The alias that mapped this request (stored on the request by translate_name).
struct MatchedAlias(Arc<ScriptAlias>);

/// `translate_name`: the first `WSGIScriptAlias(Match)` that matches maps the URL to the
/// script and forces the `wsgi-script` handler (so no `Options ExecCGI` is needed).
pub fn translate_name(r: &mut Request<'_>) -> i32 {
    let uri = r.uri();
    if !uri.starts_with(b"/") {
        return status::DECLINED;
    }
    let aliases = &r.server().config().script_aliases;
    for alias in aliases {
        let filename = match &alias.pattern {
            AliasPattern::Prefix {
                mount,
                require_slash,
            } => match match_mount(mount, *require_slash, uri) {
                Some(rest) => {
                    let mut f = alias.target.clone().into_bytes();
                    f.extend_from_slice(rest);
                    f
                }
                None => continue,
            },
            AliasPattern::Regex(regex) => match regex.substitute(r.pool(), uri, &alias.target) {
                // Whatever follows the match becomes PATH_INFO.
                Some((mut f, end)) => {
                    f.extend_from_slice(uri.get(end..).unwrap_or_default());
                    f
                }
                None => continue,
            },
        };
        r.set_filename(&filename);
        r.set_handler(c"wsgi-script");
        r.set_note(MatchedAlias(alias.clone()));
        return status::OK;
    }
    status::DECLINED
}

/// The embedded request as a WSGI transport.
struct Embedded(RequestIo);

impl Transport for Embedded {
    fn read_body(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError> {
        self.0
            .read(buf, fill)
            .map_err(|ApacheBodyError { status, reason }| BodyError { status, reason })
    }
    fn read_body_uninit(
        &mut self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError> {
        self.0
            .read_uninit(buf, fill)
            .map_err(|ApacheBodyError { status, reason }| BodyError { status, reason })
    }
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), String> {
        let headers: Vec<_> = head
            .headers
            .iter()
            .map(|(n, v)| (wsgi::latin1_encode(n), wsgi::latin1_encode(v)))
            .collect();
        self.0.send_head(
            head.status,
            &wsgi::latin1_encode(&head.status_line),
            &headers,
        )
    }
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), String> {
        self.0.write(data, flush)
    }
    fn send_file(&mut self, fd: i32, offset: u64, len: u64) -> Result<(), String> {
        self.0.send_file(fd, offset, len)
    }
    fn abort(&mut self) {
        self.0.abort()
    }
}

/// Revokes the request's transport when dropped.
struct Revoke<'a>(&'a Channel);

impl Drop for Revoke<'_> {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

/// Which script a request runs, and how.
struct Target<'a> {
    script: Cow<'a, str>,
    callable: String,
    options: AppOptions,
    handler_script: Option<String>,
    mtime_us: Option<i64>,
}

/// Resolves a `%{ENV:…}` group per request from the request environment (SetEnv,
/// SetEnvIf, mod_rewrite E=) and then the process environment. A value that is itself a
/// selector (`%{GLOBAL}`) is expanded, as mod_wsgi does; an unset variable means the main
/// interpreter.
fn group_value(r: &Request<'_>, spec: &Option<GroupSpec>) -> String {
    match spec {
        Some(GroupSpec::Env(var)) => {
            let key = std::ffi::CString::new(var.as_str()).unwrap_or_default();
            let value = r
                .subprocess_env()
                .and_then(|t| t.get(&key))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .or_else(|| std::env::var(var).ok())
                .unwrap_or_default();
            match GroupSpec::parse(&value) {
                GroupSpec::Global | GroupSpec::Env(_) => String::new(),
                GroupSpec::Named(n) | GroupSpec::Expansion(n) => n,
            }
        }
        Some(GroupSpec::Named(n) | GroupSpec::Expansion(n)) => n.clone(),
        Some(GroupSpec::Global) | None => String::new(),
    }
}

fn target<'a>(r: &Request<'a>) -> Result<Option<Target<'a>>, i32> {
    let Some(handler) = r.handler() else {
        return Ok(None);
    };
    let dir = r.dir_config();
    if SCRIPT_HANDLERS.contains(&handler) {
        let alias = r.note::<MatchedAlias>();
        let filename = String::from_utf8_lossy(r.filename().unwrap_or(b""));
        if alias.is_none() && !r.exec_cgi_allowed() {
            tracing::error!("RW0107: Options ExecCGI is off in this directory: {filename}");
            return Err(status::FORBIDDEN);
        }
        let mtime_us = match r.file_kind() {
            FileKind::File { mtime_us } => mtime_us,
            FileKind::Missing => {
                tracing::info!(
                    "RW0108: target WSGI script not found or unable to stat: {filename}"
                );
                return Err(status::NOT_FOUND);
            }
            FileKind::Directory | FileKind::Other => {
                tracing::error!(
                    "RW0108: attempt to invoke a directory (or special file) as a WSGI application: {filename}"
                );
                return Err(status::FORBIDDEN);
            }
        };
        if r.rejects_path_info() && !r.path_info().is_empty() {
            return Err(status::NOT_FOUND);
        }
        // Options on the alias win over the directory's directives.
        let options = match alias {
            Some(a) => a.0.options.or(&dir.app),
            None => dir.app.clone(),
        };
        let callable = options
            .callable_object
            .clone()
            .unwrap_or_else(|| "application".to_owned());
        return Ok(Some(Target {
            script: filename,
            callable,
            options,
            handler_script: None,
            mtime_us: Some(mtime_us),
        }));
    }
    let Some(h) = dir
        .handler_scripts
        .iter()
        .find(|h| h.name.as_bytes() == handler)
    else {
        return Ok(None);
    };
    // A handler script's entry point is `handle_request` unless its own option says
    // otherwise: WSGICallableObject names the application callable, not this one.
    let mut options = h.options.or(&dir.app);
    options.callable_object = h.options.callable_object.clone();
    let callable = options
        .callable_object
        .clone()
        .unwrap_or_else(|| "handle_request".to_owned());
    Ok(Some(Target {
        script: Cow::Owned(h.path.clone()),
        callable,
        options,
        handler_script: Some(h.path.clone()),
        mtime_us: None,
    }))
}

/// The `handler` hook.
pub fn handler(r: &mut Request<'_>) -> i32 {
    let _log = RequestLogContext::enter(r);
    let target = match target(r) {
        Ok(Some(t)) => t,
        Ok(None) => return status::DECLINED,
        Err(code) => return code,
    };
    // Vhosts inherit the main server's S-only settings when their configs are merged.
    if r.server().config().restrict_embedded == Some(true) {
        tracing::error!(
            "RW0109: embedded mode is disabled (WSGIRestrictEmbedded On); cannot run {}",
            target.script
        );
        return status::INTERNAL_SERVER_ERROR;
    }
    for (kind, spec) in [
        ("process", &target.options.process_group),
        ("application", &target.options.application_group),
    ] {
        let value = group_value(r, spec);
        if !value.is_empty() {
            tracing::error!(
                "RW0112: the request selected {kind} group '{value}', but this version of rwsgi only runs applications in embedded mode in the main interpreter (%{{GLOBAL}})"
            );
            return status::INTERNAL_SERVER_ERROR;
        }
    }
    let Some(child) = CHILD.get().filter(|_| interpreter::is_running()) else {
        tracing::error!(
            "RW0110: Python is not available in this process (see the RW0100 start-up error); cannot run {}",
            target.script
        );
        return status::INTERNAL_SERVER_ERROR;
    };
    let dir = r.dir_config();
    if let Err(code) = r.setup_client_block(dir.chunked_request == Some(true)) {
        return code;
    }
    let map_head = match dir.map_head_to_get.unwrap_or(MapHead::Auto) {
        MapHead::On => true,
        MapHead::Off => false,
        MapHead::Auto => r.has_content_filters(),
    };
    let reload = dir.script_reloading.unwrap_or(true);
    let header_only = r.header_only();
    let channel = Channel::new(Box::new(Embedded(r.io())));
    // Objects the app keeps (wsgi.input, write) must never reach this request once the
    // handler returns — also when it unwinds from a panic.
    let _revoke = Revoke(&channel);
    let input_failure = Arc::new(Mutex::new(None));

    let outcome = with_gil(|py| {
        let app = match child.scripts.callable(
            py,
            &target.script,
            &target.callable,
            reload,
            target.mtime_us,
        ) {
            Ok(app) => app,
            Err(err) => {
                log_load_error(py, &err);
                return Outcome::Failed { status: 500 };
            }
        };
        let errors = match Bound::new(py, LogStream::new("<wsgi.errors>")) {
            Ok(e) => e,
            Err(err) => {
                crate::python::traceback::log(py, "RW0104: cannot create wsgi.errors", &err);
                return Outcome::Failed { status: 500 };
            }
        };
        let environ = build_environ(
            py,
            r,
            child,
            &target,
            map_head,
            reload,
            &channel,
            &input_failure,
            &errors,
        );
        let outcome = match environ {
            Ok(environ) => {
                let call = wsgi::Call {
                    channel: &channel,
                    header_only,
                    input_failure: &input_failure,
                    label: &target.script,
                };
                wsgi::run(py, &app, &environ, &call)
            }
            Err(err) => {
                crate::python::traceback::log(py, "RW0104: cannot build the WSGI environ", &err);
                Outcome::Failed { status: 500 }
            }
        };
        errors.borrow().flush_pending(py);
        outcome
    });
    match outcome {
        Outcome::Done | Outcome::Aborted => status::OK,
        Outcome::Failed { status } => i32::from(status),
    }
}

pub fn log_load_error(py: Python<'_>, err: &LoadError) {
    match err {
        LoadError::Exec { err: py_err, .. } => {
            crate::python::traceback::log(py, &err.to_string(), py_err)
        }
        other => {
            let message = other.to_string();
            py.detach(|| tracing::error!("{message}"));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_environ<'py>(
    py: Python<'py>,
    r: &mut Request<'_>,
    child: &ChildState,
    target: &Target<'_>,
    map_head: bool,
    reload: bool,
    channel: &Channel,
    input_failure: &Arc<Mutex<Option<BodyError>>>,
    errors: &Bound<'py, LogStream>,
) -> PyResult<Bound<'py, PyDict>> {
    let env = EnvironBuilder::new(child.base_environ.bind(py))?;
    let pass_auth = target.options.pass_authorization == Some(true);
    let header_vars = match r.headers_in() {
        Some(headers) => wsgi::header_variables_of(headers.iter(), pass_auth),
        None => Vec::new(),
    };
    let proxy = proxy_overrides(r, &header_vars);
    let removed = |k: &str| proxy.as_ref().is_some_and(|p| p.removes(k));
    // Request environment first (SetEnv, SetEnvIf, mod_rewrite E=, mod_ssl), so the CGI
    // variables below win over anything with the same name.
    if let Some(sub) = r.subprocess_env() {
        for (k, v) in sub.iter() {
            if k != b"HTTPS" {
                let k = String::from_utf8_lossy(k);
                if !removed(&k) {
                    env.var_named(&k, v)?;
                }
            }
        }
    }
    for (k, v) in &header_vars {
        if !removed(k) {
            env.var_named(k, v)?;
        }
    }
    let method = r.method();
    env.var(
        intern!(py, "REQUEST_METHOD"),
        if map_head && method == b"HEAD" {
            b"GET"
        } else {
            method
        },
    )?;
    env.var(intern!(py, "REQUEST_URI"), r.unparsed_uri())?;
    env.var(intern!(py, "REQUEST_SCHEME"), r.scheme())?;
    let uri = r.uri();
    let path_info = r.path_info();
    let script = wsgi::collapse_slashes(script_name(uri, path_info));
    let script: &[u8] = script.as_ref();
    let path_info = wsgi::collapse_slashes(path_info);
    env.var(intern!(py, "SCRIPT_NAME"), script)?;
    env.var(intern!(py, "PATH_INFO"), &path_info)?;
    env.var(intern!(py, "QUERY_STRING"), r.args().unwrap_or(b""))?;
    env.var(intern!(py, "SCRIPT_FILENAME"), r.filename().unwrap_or(b""))?;
    env.var(intern!(py, "SERVER_NAME"), r.server_name())?;
    env.var(
        intern!(py, "SERVER_PORT"),
        r.server_port().to_string().as_bytes(),
    )?;
    env.var(intern!(py, "SERVER_ADDR"), r.local_ip())?;
    env.var(intern!(py, "SERVER_PROTOCOL"), r.protocol())?;
    env.var(intern!(py, "SERVER_ADMIN"), r.server_admin().as_bytes())?;
    env.var(intern!(py, "REMOTE_ADDR"), r.client_ip())?;
    env.var(
        intern!(py, "REMOTE_PORT"),
        r.client_port().to_string().as_bytes(),
    )?;
    if let Some(user) = r.user() {
        env.var(intern!(py, "REMOTE_USER"), user)?;
    }
    if let Some(auth) = r.auth_type() {
        env.var(intern!(py, "AUTH_TYPE"), auth)?;
    }
    env.var(intern!(py, "DOCUMENT_ROOT"), r.document_root())?;
    env.var(intern!(py, "CONTEXT_PREFIX"), r.context_prefix())?;
    env.var(
        intern!(py, "CONTEXT_DOCUMENT_ROOT"),
        r.context_document_root(),
    )?;

    env.set(intern!(py, "wsgi.url_scheme"), wsgi::latin1(py, r.scheme()))?;
    env.set(
        intern!(py, "wsgi.input"),
        Bound::new(py, Input::new(channel.clone(), input_failure.clone()))?,
    )?;
    env.set(intern!(py, "wsgi.errors"), errors)?;

    env.set(intern!(py, "mod_wsgi.process_group"), "")?;
    env.set(intern!(py, "mod_wsgi.application_group"), "")?;
    env.set(
        intern!(py, "mod_wsgi.callable_object"),
        target.callable.as_str(),
    )?;
    env.var(
        intern!(py, "mod_wsgi.request_handler"),
        r.handler().unwrap_or(b""),
    )?;
    env.set(
        intern!(py, "mod_wsgi.handler_script"),
        target.handler_script.as_deref().unwrap_or(""),
    )?;
    env.set(
        intern!(py, "mod_wsgi.script_reloading"),
        if reload { "1" } else { "0" },
    )?;
    env.var(intern!(py, "mod_wsgi.listener_host"), r.local_ip())?;
    env.set(
        intern!(py, "mod_wsgi.listener_port"),
        r.local_port().to_string(),
    )?;
    env.var(intern!(py, "mod_wsgi.script_name"), script)?;
    env.var(intern!(py, "mod_wsgi.path_info"), &path_info)?;
    if let Some(id) = r.log_id() {
        env.var(intern!(py, "mod_wsgi.request_id"), id)?;
    }
    if let Some(id) = r.connection_log_id() {
        env.var(intern!(py, "mod_wsgi.connection_id"), id)?;
    }
    let start = r.request_time_us() as f64 / 1e6;
    env.set(intern!(py, "mod_wsgi.request_start"), start)?;
    env.set(intern!(py, "mod_wsgi.queue_start"), start)?;
    env.set(intern!(py, "mod_wsgi.daemon_start"), 0.0)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    env.set(intern!(py, "mod_wsgi.application_start"), now)?;
    if let Some(p) = &proxy {
        env.apply_proxy(p)?;
    }
    Ok(env.finish())
}

/// What `WSGITrustedProxyHeaders` changes for this request; `None` (at the cost of one
/// check) when the directive does not apply here.
fn proxy_overrides(
    r: &Request<'_>,
    header_vars: &[(String, Cow<'_, [u8]>)],
) -> Option<proxy::Overrides> {
    let dir = r.dir_config();
    let headers = dir.trusted_proxy_headers.as_deref()?;
    Some(proxy::resolve(
        headers,
        dir.trusted_proxies.as_deref(),
        r.client_ip(),
        |name| {
            header_vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_ref())
        },
    ))
}
