//! Process set-up after Python starts: the `mod_wsgi` and `apache` modules apps and
//! frameworks look for, stdout/stderr into the error log, `sys.path` additions, and the
//! signal guard (`WSGIRestrictSignal`).

use pyo3::prelude::*;
use pyo3::types::{PyList, PyModule, PyType};

use super::events::Subscribers;
use super::{active, recording};
use crate::python::metrics::{self, ScoreboardSource};
use rwsgi_core::python_settings::PythonSettings;

pyo3::create_exception!(
    mod_wsgi,
    RequestTimeout,
    pyo3::exceptions::PyBaseException,
    "Raised in a request thread that ran past request-timeout when interrupt-timeout is set."
);

/// The mod_wsgi API level rwsgi follows (what `mod_wsgi.version` reports).
pub const MOD_WSGI_API_VERSION: (u32, u32, u32) = (6, 1, 1);

/// rwsgi's own version as a tuple.
pub fn rwsgi_version() -> (u32, u32, u32) {
    let mut parts = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// What applications are told about the server they run in, by value (the WSGI layer
/// never asks Apache).
#[derive(Clone, Debug)]
pub struct ServerFacts {
    /// Processes and threads of what serves the application (Apache's MPM in an Apache
    /// child, `processes=` and `threads=` in a daemon).
    pub max_daemons: i32,
    pub max_threads: i32,
    /// Apache's version (major, minor, patch).
    pub apache_version: (u32, u32, u32),
    /// `SERVER_SOFTWARE`, e.g. `Apache/2.4.71 (Debian)`.
    pub banner: String,
}

/// What every interpreter of a process is told about it.
pub struct ProcessInfo<'a> {
    pub settings: &'a PythonSettings,
    pub server: &'a ServerFacts,
    /// The daemon group's name; empty in an Apache child.
    pub process_group: &'a str,
    pub server_metrics: Option<ScoreboardSource>,
}

/// The interpreter's own objects `install` puts in place.
pub struct Objects<'py> {
    pub stdout: Bound<'py, PyAny>,
    pub stderr: Bound<'py, PyAny>,
    /// The classes the `mod_wsgi` module exposes.
    pub classes: Vec<(&'static str, Bound<'py, PyType>)>,
    /// The interpreter's subscriber lists.
    pub subscribers: Subscribers,
}

/// Installs everything in a freshly made interpreter (the current one), which runs
/// `application_group` (`None`: a main interpreter whose group is the first one served).
pub fn install(
    py: Python<'_>,
    objects: Objects<'_>,
    info: &ProcessInfo<'_>,
    application_group: Option<&str>,
) -> PyResult<()> {
    let ProcessInfo {
        settings,
        server,
        process_group,
        server_metrics,
    } = *info;
    // `threading` records the thread that first imports it as the main thread and waits
    // for it at finalisation: that must be the real main thread, not a request thread whose
    // state lives on (else every child hangs at exit).
    py.import("threading")?;
    let sys = py.import("sys")?;
    sys.setattr("stdout", &objects.stdout)?;
    sys.setattr("stderr", objects.stderr)?;
    // A WSGI app must not read the server's stdin (Apache's is /dev/null anyway).
    sys.setattr("argv", vec![String::from("mod_wsgi")])?;

    let modules = sys.getattr("modules")?;
    let m = PyModule::new(py, "mod_wsgi")?;
    m.add("version", MOD_WSGI_API_VERSION)?;
    m.add("rwsgi_version", rwsgi_version())?;
    m.add("process_group", process_group)?;
    m.add("application_group", application_group.unwrap_or(""))?;
    // What sys.stdout is when WSGIRestrictStdout is Off (`configure`).
    m.add("_log_stdout", objects.stdout)?;
    m.add("maximum_processes", server.max_daemons.max(1))?;
    m.add("threads_per_process", server.max_threads.max(1))?;
    for (name, class) in objects.classes {
        m.add(name, class)?;
    }
    metrics::enable(server_metrics);
    m.add_function(wrap_pyfunction!(metrics::server_metrics, &m)?)?;
    add_event_api(py, &m, &objects.subscribers)?;
    modules.set_item("mod_wsgi", &m)?;

    let apache = PyModule::new(py, "apache")?;
    apache.add("version", server.apache_version)?;
    apache.add("description", &server.banner)?;
    apache.add("maximum_processes", server.max_daemons.max(1))?;
    apache.add("threads_per_process", server.max_threads.max(1))?;
    modules.set_item("apache", &apache)?;
    configure(
        py,
        &settings.for_interpreter(process_group, application_group),
    )
}

/// Applies the settings `<WSGIInterpreterOptions>` can scope to this interpreter (the
/// current one): at its start, and again when a main interpreter learns which group it
/// runs. Restrictions a later call lifts are undone.
pub fn configure(py: Python<'_>, settings: &PythonSettings) -> PyResult<()> {
    let sys = py.import("sys")?;
    let m = py.import("mod_wsgi")?;
    let stdin = if settings.restrict_stdin == Some(true) {
        restricted(py, "stdin", "WSGIRestrictStdin")?
    } else {
        sys.getattr("__stdin__")?
    };
    sys.setattr("stdin", stdin)?;
    let stdout = if settings.restrict_stdout == Some(true) {
        restricted(py, "stdout", "WSGIRestrictStdout")?
    } else {
        m.getattr("_log_stdout")?
    };
    sys.setattr("stdout", stdout)?;
    if let Some(interval) = settings.switch_interval {
        sys.call_method1("setswitchinterval", (interval,))?;
    }
    let path = sys.getattr("path")?.cast_into::<PyList>()?;
    prepend_site_dirs(py, &path, &settings.path)?;
    for layer in &settings.path_layers {
        prepend_site_dirs(py, &path, layer)?;
    }
    if let Some(first) = &settings.first_path {
        let is_first = path.get_item(0).is_ok_and(|p| p.eq(first).unwrap_or(false));
        if !is_first {
            path.insert(0, first)?;
        }
    }
    let signal = py.import("signal")?;
    let original = m.getattr("_original_signal").ok();
    match (settings.restrict_signal.unwrap_or(true), original) {
        (true, None) => {
            m.setattr("_original_signal", signal.getattr("signal")?)?;
            restrict_signals(py)?;
        }
        (false, Some(original)) => {
            signal.setattr("signal", original)?;
            m.delattr("_original_signal")?;
        }
        _ => {}
    }
    Ok(())
}

/// Adds `dirs` with `site.addsitedir()` (so their `.pth` files count, as for a venv's
/// site-packages), then moves everything that added to the front of `sys.path`, in order:
/// the application's directories win over the standard library and installed packages,
/// as in mod_wsgi. A directory already on the path is left where it is (this runs again
/// when a main interpreter learns its group).
fn prepend_site_dirs(py: Python<'_>, path: &Bound<'_, PyList>, dirs: &[String]) -> PyResult<()> {
    let before: Vec<Bound<'_, PyAny>> = path.iter().collect();
    let site = py.import("site")?;
    for dir in dirs {
        if !path.contains(dir)? {
            site.call_method1("addsitedir", (dir,))?;
        }
    }
    let mut added = Vec::new();
    let mut kept = Vec::new();
    for entry in path.iter() {
        let old = before.iter().any(|b| b.eq(&entry).unwrap_or(false));
        if old {
            kept.push(entry)
        } else {
            added.push(entry)
        }
    }
    if !added.is_empty() {
        added.extend(kept);
        path.set_slice(0, path.len(), PyList::new(py, added)?.as_any())?;
    }
    Ok(())
}

/// The event API, request data, metrics and `LogHandler` (`mod_wsgi_api.py` and the
/// native functions it calls).
fn add_event_api(
    py: Python<'_>,
    m: &Bound<'_, PyModule>,
    subscribers: &Subscribers,
) -> PyResult<()> {
    m.add("event_callbacks", subscribers.events.bind(py))?;
    m.add("shutdown_callbacks", subscribers.shutdown.bind(py))?;
    m.add("signal_callbacks", subscribers.signals.bind(py))?;
    m.add_function(wrap_pyfunction!(active::request_data, m)?)?;
    m.add_function(wrap_pyfunction!(active::active_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(log_record, m)?)?;
    m.add_function(wrap_pyfunction!(recording::start_recording_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(recording::request_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(recording::process_metrics, m)?)?;
    let code = std::ffi::CString::new(API_SOURCE)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    py.run(&code, Some(&m.dict()), None)
}

const API_SOURCE: &str = include_str!("mod_wsgi_api.py");

/// `LogHandler`'s output: `message` into the error log at the Apache level matching the
/// Python level `levelno`, a log line per line.
#[pyfunction]
#[pyo3(name = "_log")]
fn log_record(py: Python<'_>, levelno: i64, message: &str) {
    py.detach(|| {
        for line in message.lines() {
            crate::log::python_record(levelno, line);
        }
    });
}

/// A stand-in for `sys.<stream>` whose every use raises, naming the directive.
fn restricted<'py>(py: Python<'py>, stream: &str, directive: &str) -> PyResult<Bound<'py, PyAny>> {
    const SOURCE: &str = r#"
class Restricted:
    """sys.stdin or sys.stdout while WSGIRestrictStdin/WSGIRestrictStdout is On."""
    __slots__ = ("_message",)

    def __init__(self, message):
        object.__setattr__(self, "_message", message)

    def __getattr__(self, name):
        raise OSError(object.__getattribute__(self, "_message"))

    def __repr__(self):
        return "<mod_wsgi.Restricted>"
"#;
    let namespace = pyo3::types::PyDict::new(py);
    namespace.set_item("__name__", "mod_wsgi")?;
    let builtins = py.import("builtins")?;
    namespace.set_item("__builtins__", &builtins)?;
    builtins.call_method1("exec", (SOURCE, &namespace))?;
    let message = format!(
        "sys.{stream} access restricted by mod_wsgi ({directive} On); Apache's {stream} is not \
         the client's{}",
        if stream == "stdout" {
            ": write to sys.stderr (the error log) or the response"
        } else {
            ": read the request body from environ['wsgi.input']"
        }
    );
    namespace
        .get_item("Restricted")?
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("Restricted not defined"))?
        .call1((message,))
}

/// Replaces `signal.signal` so apps cannot take Apache's signals away: the call is logged
/// (with where it came from) and the current handler returned, as mod_wsgi does.
fn restrict_signals(py: Python<'_>) -> PyResult<()> {
    #[pyfunction]
    #[pyo3(signature = (signum, handler))]
    fn guarded_signal<'py>(
        py: Python<'py>,
        signum: i32,
        handler: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = handler;
        let stack: String = py
            .import("traceback")?
            .call_method0("format_stack")?
            .extract::<Vec<String>>()?
            .concat();
        tracing::warn!(
            "RW0120: callback registration for signal {signum} ignored (WSGIRestrictSignal On); \
             Apache owns the process's signals"
        );
        for line in stack.lines() {
            tracing::warn!("{line}");
        }
        py.import("signal")?.call_method1("getsignal", (signum,))
    }
    let signal = py.import("signal")?;
    let f = wrap_pyfunction!(guarded_signal, &signal)?;
    signal.setattr("signal", f)?;
    Ok(())
}
