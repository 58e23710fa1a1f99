//! Running WSGI applications in this process, the same way in embedded mode (an Apache
//! child) and in a daemon: what the process keeps once Python runs, and one request from
//! loading the script to the end of the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::{Call, Channel, EnvironBuilder, Input, Outcome, Streams, Times, modules};
use crate::apache::Mpm;
use crate::config::PythonSettings;
use crate::python::app::{LoadError, Scripts};
use crate::python::output::LogStream;
use crate::python::{traceback, with_gil};

/// What this process keeps for its requests once Python runs.
pub struct ChildState {
    pub scripts: Scripts,
    pub base_environ: Py<PyDict>,
    /// Interned environ keys (see [`super::Var`]).
    pub var_keys: Vec<Py<PyString>>,
    /// The application group the main interpreter runs: the first the process serves.
    main_group: OnceLock<GroupOwner>,
}

/// An application group and the script that first ran in it.
struct GroupOwner {
    group: String,
    script: String,
}

/// `""` is how `%{GLOBAL}` reads in a message.
fn group_label(group: &str) -> String {
    if group.is_empty() {
        "%{GLOBAL}".to_owned()
    } else {
        format!("'{group}'")
    }
}

impl ChildState {
    /// Makes sure `group` may run in this process's interpreter: the first group served
    /// takes it (and `mod_wsgi.application_group` names it); another group may not share
    /// it. The error is the log line (RW0112).
    fn enter_group(&self, py: Python<'_>, group: &str, script: &str) -> Result<(), String> {
        // No Python inside get_or_init: a thread waiting there holds the GIL.
        let mut took = false;
        let owner = self.main_group.get_or_init(|| {
            took = true;
            GroupOwner {
                group: group.to_owned(),
                script: script.to_owned(),
            }
        });
        if took {
            let named = py
                .import("mod_wsgi")
                .and_then(|m| m.setattr("application_group", group));
            if let Err(err) = named {
                traceback::log(py, "RW0104: cannot set mod_wsgi.application_group", &err);
            }
        }
        match owner {
            o if o.group == group => Ok(()),
            o => Err(format!(
                "RW0112: application group {} ({script}) cannot run in this process: its \
                 interpreter runs application group {} ({}), and this version of rwsgi does not \
                 yet give a second group a sub-interpreter of its own. Give one of them its own \
                 daemon process group (WSGIDaemonProcess, process-group=), or, if they may share \
                 one interpreter, the same WSGIApplicationGroup",
                group_label(group),
                group_label(&o.group),
                o.script
            )),
        }
    }
}

/// A `WSGIImportScript` to import at process start, and its application group.
pub struct Preload<'a> {
    pub script: &'a str,
    pub group: &'a str,
}

/// Set once when Python has started in this process.
pub static CHILD: OnceLock<ChildState> = OnceLock::new();

/// How the process serves requests, for the `mod_wsgi` module and the base environ.
pub struct ProcessSetup<'a> {
    pub settings: &'a PythonSettings,
    pub mpm: &'a Mpm,
    /// The daemon group's name; empty in an Apache child.
    pub process_group: &'a str,
    pub server_metrics: bool,
    pub multithread: bool,
    pub multiprocess: bool,
}

/// After Python has started: installs the `mod_wsgi` and `apache` modules, builds the base
/// environ, and imports the `preload` scripts (`WSGIImportScript`); a script that fails
/// is logged and the process serves on. On failure the traceback is logged under `code`
/// (RW0100, RW0203) and the error says what could not be set up.
pub fn set_up<'s>(
    py: Python<'_>,
    code: &str,
    setup: &ProcessSetup<'_>,
    preload: impl IntoIterator<Item = Preload<'s>>,
) -> Result<(), String> {
    modules::install(
        py,
        setup.settings,
        setup.mpm,
        setup.process_group,
        setup.server_metrics,
    )
    .map_err(|e| {
        let what = "setting up the Python interpreter failed";
        traceback::log(py, &format!("{code}: {what}"), &e);
        format!("{what} (traceback above)")
    })?;
    let base = modules::base_environ(py, setup.multithread, setup.multiprocess).map_err(|e| {
        let what = "building the base environ failed";
        traceback::log(py, &format!("{code}: {what}"), &e);
        format!("{what} (traceback above)")
    })?;
    let _ = CHILD.set(ChildState {
        scripts: Default::default(),
        base_environ: base.unbind(),
        var_keys: super::var_keys(py),
        main_group: OnceLock::new(),
    });
    if let Some(child) = CHILD.get() {
        for p in preload {
            if let Err(line) = child.enter_group(py, p.group, p.script) {
                py.detach(|| tracing::error!("{line}; not imported"));
                continue;
            }
            if let Err(err) = child.scripts.module(py, p.script, false, None) {
                log_load_error(py, &err);
            }
        }
    }
    Ok(())
}

/// Revokes the request's transport when dropped.
pub struct Revoke<'a>(pub &'a Channel);

impl Drop for Revoke<'_> {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

/// Which script and callable a request runs.
pub struct App<'a> {
    pub script: &'a str,
    pub callable: &'a str,
    /// The request's application group (`""`: `%{GLOBAL}`).
    pub group: &'a str,
    pub reload: bool,
    /// The script's mtime when the caller already stat'ed it.
    pub mtime_us: Option<i64>,
}

/// Since when (µs since the epoch) the application's script has failed to load without
/// loading once since; 0 while it loads. A daemon's startup-timeout watches it.
pub static FAILING_SINCE_US: AtomicU64 = AtomicU64::new(0);

/// Runs one request in this process, the same way in embedded and daemon mode: load the
/// app, build the environ (the request's variables through `fill`, then the Python-only
/// entries), call it, and send what it returns through `channel`.
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
        if let Err(line) = child.enter_group(py, app.group, app.script) {
            py.detach(|| tracing::error!("{line}"));
            return Outcome::Failed { status: 500 };
        }
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
                traceback::log(py, "RW0104: cannot create wsgi.errors", &err);
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
                let call = Call {
                    channel,
                    header_only,
                    input_failure: &input_failure,
                    label: app.script,
                };
                super::run(py, &callable, &environ, &call)
            }
            Err(err) => {
                traceback::log(py, "RW0104: cannot build the WSGI environ", &err);
                Outcome::Failed { status: 500 }
            }
        };
        errors.borrow().flush_pending(py);
        outcome
    })
}

pub fn log_load_error(py: Python<'_>, err: &LoadError) {
    match err {
        LoadError::Exec { err: py_err, .. } => traceback::log(py, &err.to_string(), py_err),
        other => {
            let message = other.to_string();
            py.detach(|| tracing::error!("{message}"));
        }
    }
}
