//! `mod_wsgi.start_recording_metrics()`, `request_metrics()` and `process_metrics()`.
//!
//! Nothing is recorded until an application calls `start_recording_metrics()` (both
//! readers return None before): a process whose applications never ask pays one atomic
//! load per request. Then each finished request is added to the current interval, which
//! `request_metrics()` reports and restarts. The numbers are the process's, whatever
//! interpreter asks.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rwsgi_core::metrics::{Busy, Interval, Phase, Sample};

use super::active;
use crate::usage::{self, CpuTimes};

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROCESS_START_US: AtomicU64 = AtomicU64::new(0);
static THREADS_MAXIMUM: AtomicU32 = AtomicU32::new(1);
static DAEMON: AtomicBool = AtomicBool::new(false);

/// The interval `request_metrics()` reports next.
struct Recording {
    start_us: u64,
    cpu: Option<CpuTimes>,
    busy_seconds: f64,
    interval: Interval,
    busy: Busy,
}

static RECORDING: Mutex<Option<Recording>> = Mutex::new(None);

fn recording() -> MutexGuard<'static, Option<Recording>> {
    RECORDING.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Says what this process is, once Python runs in it.
pub fn set_process(threads_maximum: u32, daemon: bool) {
    PROCESS_START_US.store(now_us(), Ordering::Relaxed);
    THREADS_MAXIMUM.store(threads_maximum.max(1), Ordering::Relaxed);
    DAEMON.store(daemon, Ordering::Relaxed);
}

/// Whether requests are being recorded.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A request starts (only called while recording).
pub fn request_started(now_us: u64) {
    if let Some(r) = recording().as_mut() {
        r.busy.request_started(now_us);
    }
}

/// A request ended (only called while recording).
pub fn request_ended(sample: &Sample) {
    if let Some(r) = recording().as_mut() {
        r.busy.request_ended(sample.application_finish_us);
        r.interval.record(sample);
    }
}

/// `mod_wsgi.start_recording_metrics()`: starts recording (again a no-op once it has).
#[pyfunction]
pub fn start_recording_metrics() {
    let mut recording = recording();
    if recording.is_none() {
        *recording = Some(Recording {
            start_us: now_us(),
            cpu: usage::process_cpu(),
            busy_seconds: 0.0,
            interval: Interval::default(),
            busy: Busy::default(),
        });
        ENABLED.store(true, Ordering::Relaxed);
    }
}

/// `mod_wsgi.request_metrics()`: the requests since the last call (or since recording
/// started); None unless recording.
#[pyfunction]
pub fn request_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let now = now_us();
    let taken = {
        let mut guard = recording();
        let Some(r) = guard.as_mut() else {
            return Ok(None);
        };
        let (busy_seconds, _, _) = r.busy.read(now);
        let cpu = usage::process_cpu();
        let taken = (
            r.start_us,
            std::mem::take(&mut r.interval),
            busy_seconds - r.busy_seconds,
            cpu.zip(r.cpu),
        );
        r.start_us = now;
        r.busy_seconds = busy_seconds;
        r.cpu = cpu;
        taken
    };
    let (start_us, interval, busy, cpu) = taken;
    let period = now.saturating_sub(start_us) as f64 / 1e6;
    let per_second = |x: f64| if period > 0.0 { x / period } else { 0.0 };
    let threads_maximum = THREADS_MAXIMUM.load(Ordering::Relaxed);
    let daemon = DAEMON.load(Ordering::Relaxed);
    let d = PyDict::new(py);
    d.set_item("pid", std::process::id())?;
    d.set_item("start_time", start_us as f64 / 1e6)?;
    d.set_item("stop_time", now as f64 / 1e6)?;
    d.set_item("sample_period", period)?;
    let (user, system) = cpu.map_or((0.0, 0.0), |((u1, s1), (u0, s0))| {
        (per_second(u1 - u0), per_second(s1 - s0))
    });
    for (key, value) in [
        ("cpu_user_utilization", user),
        ("cpu_user_time", user),
        ("cpu_system_utilization", system),
        ("cpu_system_time", system),
        ("cpu_utilization", user + system),
        ("cpu_time", user + system),
    ] {
        d.set_item(key, value)?;
    }
    memory(&d)?;
    d.set_item("request_threads_maximum", threads_maximum)?;
    d.set_item("request_threads_started", active::threads().len())?;
    // Threads that finished a request in the interval or are running one now.
    let mut busy_threads: Vec<u32> = interval.completed_by_thread.keys().copied().collect();
    busy_threads.extend(active::running_threads());
    busy_threads.sort_unstable();
    busy_threads.dedup();
    d.set_item("request_threads_active", busy_threads.len())?;
    d.set_item(
        "capacity_utilization",
        per_second(busy) / f64::from(threads_maximum),
    )?;
    // Requests finished in the interval, so the status classes add up to it.
    d.set_item("request_count", interval.requests)?;
    d.set_item("request_throughput", per_second(interval.requests as f64))?;
    for (i, count) in interval.status.iter().enumerate() {
        d.set_item(format!("status_{}xx", i + 1), count)?;
    }
    d.set_item("input_bytes", interval.input_bytes)?;
    d.set_item("input_reads", interval.input_reads)?;
    d.set_item("output_bytes", interval.output_bytes)?;
    d.set_item("output_writes", interval.output_writes)?;
    d.set_item("gil_wait_count", interval.gil_wait_count)?;
    let phases: [(&str, &Phase, bool); 8] = [
        ("server_time", &interval.server, true),
        ("queue_time", &interval.queue, daemon),
        ("daemon_time", &interval.daemon, daemon),
        ("application_time", &interval.application, true),
        ("request_time", &interval.request, true),
        ("gil_wait_time", &interval.gil_wait, true),
        ("input_read_time", &interval.input_read, true),
        ("output_write_time", &interval.output_write, true),
    ];
    for (name, phase, applies) in phases {
        let none = py.None();
        if applies {
            d.set_item(name, interval.mean(phase))?;
            d.set_item(format!("{name}_min_us"), phase.min_us)?;
            d.set_item(format!("{name}_max_us"), phase.max_us)?;
        } else {
            d.set_item(name, &none)?;
            d.set_item(format!("{name}_min_us"), &none)?;
            d.set_item(format!("{name}_max_us"), &none)?;
        }
        d.set_item(
            name.replace("_time", "_time_buckets"),
            PyList::new(py, phase.buckets)?,
        )?;
    }
    // Requests finished per thread, indexed by thread_id - 1.
    let longest = interval
        .completed_by_thread
        .keys()
        .copied()
        .max()
        .unwrap_or(0)
        .max(threads_maximum) as usize;
    let mut completed = vec![0u64; longest];
    for (thread_id, n) in &interval.completed_by_thread {
        if let Some(slot) = (*thread_id as usize)
            .checked_sub(1)
            .and_then(|i| completed.get_mut(i))
        {
            *slot = *n;
        }
    }
    d.set_item("request_threads_completed", PyList::new(py, &completed)?)?;
    d.set_item("request_threads_buckets", PyList::new(py, &completed)?)?;
    Ok(Some(d))
}

fn memory(d: &Bound<'_, PyDict>) -> PyResult<()> {
    d.set_item("memory_max_rss", usage::peak_resident_bytes())?;
    d.set_item("memory_rss", usage::resident_bytes())
}

/// `mod_wsgi.process_metrics()`: the process since it started; None unless recording.
#[pyfunction]
pub fn process_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let now = now_us();
    let Some((busy, _, running)) = recording().as_mut().map(|r| r.busy.read(now)) else {
        return Ok(None);
    };
    let d = PyDict::new(py);
    d.set_item("pid", std::process::id())?;
    d.set_item("request_busy_time", busy)?;
    // Every request the process served, also those before recording started.
    let threads = active::threads();
    let served: u64 = threads
        .iter()
        .map(|t| t.requests.load(Ordering::Relaxed))
        .sum();
    d.set_item("request_count", served)?;
    memory(&d)?;
    if let Some((user, system)) = usage::process_cpu() {
        d.set_item("cpu_user_time", user)?;
        d.set_item("cpu_system_time", system)?;
        d.set_item("cpu_time", user + system)?;
    }
    let start = PROCESS_START_US.load(Ordering::Relaxed);
    d.set_item("restart_time", start as f64 / 1e6)?;
    d.set_item("current_time", now as f64 / 1e6)?;
    d.set_item("running_time", now.saturating_sub(start) / 1_000_000)?;
    d.set_item("request_threads", threads.len())?;
    d.set_item("active_requests", running)?;
    d.set_item("gil_enabled", crate::python::gil::enabled(py))?;
    let list = PyList::empty(py);
    let mut threads: Vec<_> = threads
        .iter()
        .map(|t| (t.thread_id, t.requests.load(Ordering::Relaxed)))
        .collect();
    threads.sort_unstable();
    for (thread_id, request_count) in threads {
        let entry = PyDict::new(py);
        entry.set_item("thread_id", thread_id)?;
        entry.set_item("request_count", request_count)?;
        list.append(entry)?;
    }
    d.set_item("threads", list)?;
    Ok(Some(d))
}
