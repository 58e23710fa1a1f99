//! Running WSGI applications in this process, the same way in embedded mode (an Apache
//! child) and in a daemon: what the process keeps once Python runs, and one request from
//! loading the script to the end of the response.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;

use super::context::Setup;
use super::context::{Api, Context};
use super::events::{Finished, Origin, RequestEvents};
use super::groups::{self, Interpreters};
use super::{
    Call, Channel, EnvironBuilder, Input, Outcome, Streams, Times, Var, active, modules, recording,
};
use crate::python::app::LoadError;
use crate::python::output::LogStream;
use crate::python::{traceback, with_gil};
use crate::usage;
use pyo3::types::PyDict;
use rwsgi_core::metrics::Sample;
use rwsgi_core::route::Route;

/// What this process keeps for its requests once Python runs: its interpreters, by
/// application group.
pub type ChildState = Interpreters;

/// A `WSGIImportScript` to import at process start, and its application group.
pub struct Preload<'a> {
    pub script: &'a str,
    pub group: &'a str,
}

/// Set once when Python has started in this process.
pub static CHILD: OnceLock<ChildState> = OnceLock::new();

/// After Python has started: installs the `mod_wsgi` and `apache` modules, builds the base
/// environ, and imports the `preload` scripts (`WSGIImportScript`) into their groups'
/// interpreters; a script that fails is logged and the process serves on. On failure the
/// traceback is logged under `code` (RW0100, RW0203) and the error says what could not be
/// set up. `global_used`: the configuration names `%{GLOBAL}`, which then keeps the main
/// interpreter.
pub fn set_up<'s>(
    py: Python<'_>,
    code: &str,
    setup: Setup,
    global_used: bool,
    preload: impl IntoIterator<Item = Preload<'s>>,
) -> Result<(), String> {
    let failed = |what: &str, e: PyErr| {
        traceback::log(py, &format!("{code}: {what}"), &e);
        format!("{what} (traceback above)")
    };
    recording::set_process(
        u32::try_from(setup.server.max_threads).unwrap_or(1),
        !setup.process_group.is_empty(),
    );
    let main = Context::new(py, Api::Native, &setup)
        .map_err(|e| failed("building the base environ failed", e))?;
    main.objects(py)
        .and_then(|objects| {
            // Without `%{GLOBAL}` the main interpreter's group is the first one served.
            modules::install(py, objects, &setup.info(), global_used.then_some(""))
        })
        .map_err(|e| failed("setting up the Python interpreter failed", e))?;
    let _ = CHILD.set(Interpreters::new(setup, main, global_used));
    if let Some(child) = CHILD.get() {
        for p in preload {
            let imported = child.run(py, p.group, p.script, |py, context| {
                if let Err(err) = context.scripts.module(py, p.script, false, None) {
                    log_load_error(py, context, p.group, &err);
                }
            });
            if let Err(line) = imported {
                py.detach(|| tracing::error!("{line}; not imported"));
            }
        }
    }
    Ok(())
}

/// Ends the sub-interpreters at process exit (with the GIL of the main interpreter); the
/// error says why Python must not be finalised after.
pub fn end_sub_interpreters(py: Python<'_>) -> Result<(), String> {
    CHILD.get().map_or(Ok(()), |child| child.end_all(py))
}

/// Publishes `process_stopping` with `reason` in every interpreter (event and shutdown
/// subscribers, in the order they subscribed). Call once, from a thread that may take the
/// GIL (`with_gil`).
pub fn publish_stopping(py: Python<'_>, reason: &str) {
    if let Some(child) = CHILD.get() {
        child.each(py, |py, context| {
            context.subscribers.process_stopping(py, reason)
        });
    }
}

#[cfg(unix)]
/// Publishes `process_signal` in every interpreter (event and signal subscribers).
pub fn publish_signal(py: Python<'_>, signum: i32, signame: &str) {
    if let Some(child) = CHILD.get() {
        child.each(py, |py, context| {
            context.subscribers.process_signal(py, signum, signame)
        });
    }
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
    /// What runs, in which application group, how (the same value in both modes).
    pub route: &'a Route,
    /// The Apache process that took the request (events' `server_pid`; 0 if unknown).
    pub server_pid: u32,
    /// Daemon mode: the request came over a connection from an Apache child.
    pub daemon: bool,
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
        let ran = child.run(
            py,
            &app.route.application_group,
            &app.route.script,
            |py, context| {
                run_in(
                    py,
                    context,
                    app,
                    channel,
                    header_only,
                    times,
                    &input_failure,
                    fill,
                )
            },
        );
        ran.unwrap_or_else(|line| {
            py.detach(|| tracing::error!("{line}"));
            Outcome::Failed { status: 500 }
        })
    })
}

/// [`run_app`] inside the interpreter of the request's group.
#[allow(clippy::too_many_arguments)]
fn run_in(
    py: Python<'_>,
    context: &Context,
    app: &App<'_>,
    channel: &Channel,
    header_only: bool,
    times: Times,
    input_failure: &Arc<Mutex<Option<super::BodyError>>>,
    fill: impl for<'py, 'k> FnOnce(&mut EnvironBuilder<'py, 'k>),
) -> Outcome {
    let callable = match context.scripts.callable(
        py,
        &app.route.script,
        &app.route.callable,
        app.route.reload,
        app.route.script_mtime_us,
    ) {
        Ok(callable) => {
            if FAILING_SINCE_US.load(Ordering::Relaxed) != 0 {
                FAILING_SINCE_US.store(0, Ordering::Relaxed);
            }
            callable
        }
        Err(err) => {
            log_load_error(py, context, &app.route.application_group, &err);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_micros() as u64);
            let _ = FAILING_SINCE_US.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
            return Outcome::Failed { status: 500 };
        }
    };
    let errors_stream = LogStream::new("<wsgi.errors>");
    let errors = match context.log(py, errors_stream.clone()) {
        Ok(e) => e,
        Err(err) => {
            traceback::log(py, "RW0104: cannot create wsgi.errors", &err);
            return Outcome::Failed { status: 500 };
        }
    };
    let environ = EnvironBuilder::new(context.base_environ.bind(py), &context.var_keys).and_then(
        |mut env| {
            fill(&mut env);
            env.finish(Streams {
                input: context.input(py, Input::new(channel.clone(), input_failure.clone()))?,
                errors: &errors,
                times,
            })
        },
    );
    let outcome = match environ {
        Ok(environ) => call_app(
            py,
            context,
            app,
            &callable,
            &environ,
            channel,
            header_only,
            times,
            input_failure,
        ),
        Err(err) => {
            traceback::log(py, "RW0104: cannot build the WSGI environ", &err);
            Outcome::Failed { status: 500 }
        }
    };
    errors_stream.flush_pending(py);
    outcome
}

/// Calls the application with its environ, as an active request (`mod_wsgi.request_data()`,
/// `active_requests`), publishing its events when anything subscribed and recording it when
/// metrics are.
#[allow(clippy::too_many_arguments)]
fn call_app(
    py: Python<'_>,
    context: &Context,
    app: &App<'_>,
    callable: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    channel: &Channel,
    header_only: bool,
    times: Times,
    input_failure: &Arc<Mutex<Option<super::BodyError>>>,
) -> Outcome {
    let request_id = environ
        .get_item(context.var_keys[Var::RequestId as usize].bind(py))
        .ok()
        .flatten();
    let active = active::enter(py, request_id.clone());
    let recording = recording::enabled();
    let application_start_us = recording::now_us();
    if recording {
        recording::request_started(application_start_us);
    }
    let application_start = application_start_us as f64 / 1e6;
    let origin = Origin {
        thread_id: active.thread_id(),
        server_pid: app.server_pid,
        daemon_connects: u32::from(app.daemon),
        times,
    };
    // As mod_wsgi gives them: the thread's number (an int) and the Apache child's pid (a
    // string, like the CGI variables). Setting a str key of a dict cannot fail.
    let _ = environ.set_item("mod_wsgi.thread_id", origin.thread_id);
    if app.server_pid != 0 {
        let _ = environ.set_item("mod_wsgi.server_pid", app.server_pid.to_string());
    }
    let events = context
        .subscribers
        .any(py)
        .then(|| {
            RequestEvents::new(
                py,
                &context.subscribers,
                request_id.as_ref(),
                &origin,
                active.data(py),
            )
            .map_err(|err| traceback::log(py, "RW0127: cannot build the request's events", &err))
            .ok()
        })
        .flatten()
        .map(Arc::new);
    let cpu_start = events.as_ref().and_then(|_| usage::thread_cpu());
    let callable = match &events {
        Some(events) => events.request_started(
            py,
            &origin,
            callable,
            &app.route.callable,
            environ,
            application_start,
        ),
        None => callable.clone(),
    };
    let call = Call {
        channel,
        header_only,
        input_failure,
        label: &app.route.script,
        group: &app.route.application_group,
        in_subinterpreter: !context.is_main(),
        events: events.as_ref(),
    };
    let (outcome, app_status) = super::run(py, context, &callable, environ, &call);
    if events.is_none() && !recording {
        return outcome;
    }
    let application_finish_us = recording::now_us();
    let status = match outcome {
        Outcome::Failed { status } => status,
        _ => app_status.unwrap_or(0),
    };
    // Without the GIL: a thread the application started may be blocked in a body read.
    let io = py.detach(|| channel.io());
    let gil_wait = active::gil_wait();
    if let Some(events) = &events {
        let cpu = cpu_start
            .zip(usage::thread_cpu())
            .map(|((u0, s0), (u1, s1))| ((u1 - u0).max(0.0), (s1 - s0).max(0.0)));
        events.request_finished(
            py,
            &Finished {
                io,
                application_start,
                application_finish: application_finish_us as f64 / 1e6,
                cpu,
                status,
                gil_wait,
            },
        );
    }
    if recording {
        let us = |seconds: f64| (seconds * 1e6) as u64;
        recording::request_ended(&Sample {
            request_start_us: us(times.request_start),
            queue_start_us: if app.daemon { us(times.queue_start) } else { 0 },
            daemon_start_us: us(times.daemon_start),
            application_start_us,
            application_finish_us,
            input_bytes: io.read_bytes,
            input_reads: io.reads,
            input_read_us: io.read_us,
            output_bytes: io.written_bytes,
            output_writes: io.writes,
            output_write_us: io.write_us,
            gil_wait_count: gil_wait.0,
            gil_wait_us: gil_wait.1,
            status,
            thread_id: active.thread_id(),
        });
    }
    drop(active);
    outcome
}

pub fn log_load_error(py: Python<'_>, context: &Context, group: &str, err: &LoadError) {
    match err.python_error() {
        Some(py_err) => {
            traceback::log(py, &err.to_string(), py_err);
            groups::explain_refusal(py, group, !context.is_main(), py_err);
        }
        None => {
            let message = err.to_string();
            py.detach(|| tracing::error!("{message}"));
        }
    }
}
