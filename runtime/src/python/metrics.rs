//! `mod_wsgi.server_metrics()`: Apache's scoreboard as Python data, for monitoring code
//! written against mod_wsgi. It returns None, as in mod_wsgi, unless `WSGIServerMetrics On`
//! (embedded mode) or the daemon group's `server-metrics=On` turned it on.

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use rwsgi_core::scoreboard::{ProcessScore, Snapshot, WorkerScore};

/// Where this process reads the scoreboard from (Apache's shared memory, in a process
/// forked once it exists); `None` when none can be read.
pub type ScoreboardSource = fn() -> Option<Snapshot>;

static SOURCE: OnceLock<ScoreboardSource> = OnceLock::new();

/// Turns `server_metrics()` on for this process, reading `source`.
pub fn enable(source: Option<ScoreboardSource>) {
    if let Some(source) = source {
        let _ = SOURCE.set(source);
    }
}

fn seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

/// The scoreboard: limits, generation, times (seconds since the epoch) and, for each live
/// Apache child, its workers with mod_status's state letters.
#[pyfunction]
pub fn server_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(&source) = SOURCE.get() else {
        return Ok(None);
    };
    let Some(board) = py.detach(source) else {
        return Ok(None);
    };
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let d = PyDict::new(py);
    d.set_item("server_limit", board.server_limit)?;
    d.set_item("thread_limit", board.thread_limit)?;
    d.set_item("running_generation", board.running_generation)?;
    d.set_item("restart_time", seconds(board.restart_time_us))?;
    d.set_item("current_time", seconds(now_us))?;
    d.set_item(
        "running_time",
        (now_us - board.restart_time_us).max(0) / 1_000_000,
    )?;
    let processes = PyList::empty(py);
    for p in &board.processes {
        processes.append(process(py, p)?)?;
    }
    d.set_item("processes", processes)?;
    Ok(Some(d))
}

fn process<'py>(py: Python<'py>, p: &ProcessScore) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("process_num", p.slot)?;
    d.set_item("pid", p.pid)?;
    d.set_item("generation", p.generation)?;
    d.set_item("quiescing", p.quiescing)?;
    let workers = PyList::empty(py);
    for w in &p.workers {
        workers.append(worker(py, w)?)?;
    }
    d.set_item("workers", workers)?;
    Ok(d)
}

fn worker<'py>(py: Python<'py>, w: &WorkerScore) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("thread_num", w.thread_num)?;
    d.set_item("generation", w.generation)?;
    d.set_item("status", w.status.to_string())?;
    d.set_item("access_count", w.access_count)?;
    d.set_item("bytes_served", w.bytes_served)?;
    d.set_item("start_time", seconds(w.start_time_us))?;
    d.set_item("stop_time", seconds(w.stop_time_us))?;
    d.set_item("last_used", seconds(w.last_used_us))?;
    d.set_item("client", &w.client)?;
    d.set_item("request", &w.request)?;
    d.set_item("vhost", &w.vhost)?;
    Ok(d)
}
