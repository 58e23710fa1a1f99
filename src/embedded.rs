//! Embedded mode: URL mapping (`WSGIScriptAlias`) and the handler that runs a WSGI app
//! inside the Apache child, on the request's own worker thread.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::apache::{
    BodyError as ApacheBodyError, FileKind, Request, RequestIo, RequestLogContext, status,
};
use crate::config::{AliasPattern, AppOptions, GroupSpec, MapHead, ScriptAlias};
use crate::python::app::{LoadError, Scripts};
use crate::python::output::LogStream;
use crate::python::{interpreter, with_gil};
use crate::request_vars::{self, Selected};
use crate::wsgi::{
    self, BodyError, Channel, EnvironBuilder, Input, Outcome, ResponseHead, Streams, Times,
    Transport,
};
use rwsgi_core::directive_args::match_mount;

/// Handler names that run `r->filename` as a WSGI script.
const SCRIPT_HANDLERS: [&[u8]; 2] = [b"wsgi-script", b"application/x-httpd-wsgi"];

/// What this process keeps for embedded requests once Python runs.
pub struct ChildState {
    pub scripts: Scripts,
    pub base_environ: Py<PyDict>,
    /// Interned environ keys (see [`wsgi::Var`]).
    pub var_keys: Vec<Py<PyString>>,
}

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
pub struct Revoke<'a>(pub &'a Channel);

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
    let process_group = group_value(r, &target.options.process_group);
    let application_group = group_value(r, &target.options.application_group);
    if !application_group.is_empty() {
        tracing::error!(
            "RW0112: the request selected application group '{application_group}', but this version of rwsgi only runs applications in the main interpreter (%{{GLOBAL}})"
        );
        return status::INTERNAL_SERVER_ERROR;
    }
    let dir = r.dir_config();
    if let Some(allowed) = &dir.restrict_process {
        if !allowed.contains(&process_group) {
            tracing::error!(
                "RW0117: process group '{}' is not allowed here by WSGIRestrictProcess; cannot run {}",
                if process_group.is_empty() {
                    "%{GLOBAL}"
                } else {
                    &process_group
                },
                target.script
            );
            return status::FORBIDDEN;
        }
    }
    let map_head = match dir.map_head_to_get.unwrap_or(MapHead::Auto) {
        MapHead::On => true,
        MapHead::Off => false,
        MapHead::Auto => r.has_content_filters(),
    };
    let reload = dir.script_reloading.unwrap_or(true);
    let selected = Selected {
        callable: &target.callable,
        handler_script: target.handler_script.as_deref(),
        reload,
        map_head,
        pass_authorization: target.options.pass_authorization == Some(true),
        process_group: &process_group,
    };
    if !process_group.is_empty() {
        let generation = crate::daemon::current();
        let found = r
            .server()
            .config()
            .daemon_group(&process_group)
            .and(generation.as_ref())
            .and_then(|g| g.group(&process_group).map(|group| (g, group)));
        let Some((generation, group)) = found else {
            tracing::error!(
                "RW0116: no WSGIDaemonProcess group called '{process_group}' is configured for this server; cannot run {}",
                target.script
            );
            return status::INTERNAL_SERVER_ERROR;
        };
        let script = target.handler_script.as_deref().unwrap_or(&target.script);
        if let Err(why) =
            crate::daemon::client::check_script_owner(group, std::path::Path::new(script))
        {
            tracing::error!(
                "RW0220: daemon group '{process_group}' refuses to run {script}: {why}; answering 403"
            );
            return status::FORBIDDEN;
        }
        return crate::daemon::client::handle(
            r,
            generation,
            group,
            &selected,
            dir.chunked_request == Some(true),
            target.mtime_us,
        );
    }
    // Vhosts inherit the main server's S-only settings when their configs are merged.
    if r.server().config().restrict_embedded == Some(true) {
        tracing::error!(
            "RW0109: embedded mode is disabled (WSGIRestrictEmbedded On); cannot run {}",
            target.script
        );
        return status::INTERNAL_SERVER_ERROR;
    }
    let Some(child) = CHILD.get().filter(|_| interpreter::is_running()) else {
        tracing::error!(
            "RW0110: Python is not available in this process (see the RW0100 start-up error); cannot run {}",
            target.script
        );
        return status::INTERNAL_SERVER_ERROR;
    };
    if let Err(code) = r.setup_client_block(dir.chunked_request == Some(true)) {
        return code;
    }
    let header_only = r.header_only();
    let channel = Channel::new(Box::new(Embedded(r.io())));
    // Objects the app keeps (wsgi.input, write) must never reach this request once the
    // handler returns — also when it unwinds from a panic.
    let _revoke = Revoke(&channel);
    let start = r.request_time_us() as f64 / 1e6;
    let times = Times {
        request_start: start,
        queue_start: start,
        daemon_start: 0.0,
    };
    let app = App {
        script: &target.script,
        callable: &target.callable,
        reload,
        mtime_us: target.mtime_us,
    };
    let outcome = run_app(child, &app, &channel, header_only, times, |env| {
        request_vars::collect(r, &selected, env)
    });
    match outcome {
        Outcome::Done | Outcome::Aborted => status::OK,
        Outcome::Failed { status } => i32::from(status),
    }
}

/// Which script and callable a request runs.
pub struct App<'a> {
    pub script: &'a str,
    pub callable: &'a str,
    pub reload: bool,
    /// The script's mtime when the caller already stat'ed it.
    pub mtime_us: Option<i64>,
}

/// Runs one request in this process, the same way in embedded and daemon mode: load the
/// app, build the environ (the request's variables through `fill`, then the Python-only
/// entries), call it, and send what it returns through `channel`.
/// Since when (µs since the epoch) the application's script has failed to load without
/// loading once since; 0 while it loads. A daemon's startup-timeout watches it.
pub static FAILING_SINCE_US: AtomicU64 = AtomicU64::new(0);

pub fn run_app(
    child: &ChildState,
    app: &App<'_>,
    channel: &Channel,
    header_only: bool,
    times: Times,
    fill: impl for<'py, 'k> FnOnce(&mut EnvironBuilder<'py, 'k>),
) -> Outcome {
    let input_failure = Arc::new(Mutex::new(None));
    with_gil(|py| {
        let callable =
            match child
                .scripts
                .callable(py, app.script, app.callable, app.reload, app.mtime_us)
            {
                Ok(callable) => {
                    if FAILING_SINCE_US.load(Ordering::Relaxed) != 0 {
                        FAILING_SINCE_US.store(0, Ordering::Relaxed);
                    }
                    callable
                }
                Err(err) => {
                    log_load_error(py, &err);
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |d| d.as_micros() as u64);
                    let _ = FAILING_SINCE_US.compare_exchange(
                        0,
                        now,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
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
        let environ = EnvironBuilder::new(child.base_environ.bind(py), &child.var_keys).and_then(
            |mut env| {
                fill(&mut env);
                env.finish(Streams {
                    input: Bound::new(py, Input::new(channel.clone(), input_failure.clone()))?,
                    errors: &errors,
                    times,
                })
            },
        );
        let outcome = match environ {
            Ok(environ) => {
                let call = wsgi::Call {
                    channel,
                    header_only,
                    input_failure: &input_failure,
                    label: app.script,
                };
                wsgi::run(py, &callable, &environ, &call)
            }
            Err(err) => {
                crate::python::traceback::log(py, "RW0104: cannot build the WSGI environ", &err);
                Outcome::Failed { status: 500 }
            }
        };
        errors.borrow().flush_pending(py);
        outcome
    })
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
