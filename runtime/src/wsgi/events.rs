//! mod_wsgi's event API: the subscriber lists of an interpreter, and the events a request
//! and the process publish to them (`request_started`, `response_started`,
//! `request_exception`, `request_finished`, `process_stopping`, `process_signal`), with
//! mod_wsgi's names for every field.
//!
//! A callback is called as `callback(name, **event)`. If it returns a dict, its items are
//! merged into the event the next callback sees (and `request_started`'s
//! `application_object` replaces the application). A callback that raises is logged with
//! its traceback (RW0127); the request goes on.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::Times;
use super::transport::IoStats;
use crate::python::traceback;

/// An interpreter's subscriber lists: `mod_wsgi.event_callbacks`, `shutdown_callbacks`
/// and `signal_callbacks`.
pub struct Subscribers {
    pub events: Py<PyList>,
    pub shutdown: Py<PyList>,
    pub signals: Py<PyList>,
}

impl Subscribers {
    pub fn new(py: Python<'_>) -> Subscribers {
        Subscribers {
            events: PyList::empty(py).unbind(),
            shutdown: PyList::empty(py).unbind(),
            signals: PyList::empty(py).unbind(),
        }
    }

    /// The same lists.
    pub fn clone_ref(&self, py: Python<'_>) -> Subscribers {
        Subscribers {
            events: self.events.clone_ref(py),
            shutdown: self.shutdown.clone_ref(py),
            signals: self.signals.clone_ref(py),
        }
    }

    /// Whether anything subscribed to events: the request path does no event work
    /// otherwise.
    pub fn any(&self, py: Python<'_>) -> bool {
        !self.events.bind(py).is_empty()
    }

    /// Publishes `process_stopping` (to event and shutdown subscribers, in the order they
    /// subscribed).
    pub fn process_stopping(&self, py: Python<'_>, reason: &str) {
        let event = PyDict::new(py);
        if let Err(err) = event.set_item("shutdown_reason", reason) {
            traceback::log(
                py,
                "RW0127: cannot build the 'process_stopping' event",
                &err,
            );
            return;
        }
        publish(py, self.events.bind(py), "process_stopping", &event);
        publish(py, self.shutdown.bind(py), "process_stopping", &event);
    }

    /// Publishes `process_signal` (to event and signal subscribers).
    pub fn process_signal(&self, py: Python<'_>, signum: i32, signame: &str) {
        let event = PyDict::new(py);
        let built = event
            .set_item("signum", signum)
            .and_then(|()| event.set_item("signame", signame));
        if let Err(err) = built {
            traceback::log(py, "RW0127: cannot build the 'process_signal' event", &err);
            return;
        }
        publish(py, self.events.bind(py), "process_signal", &event);
        publish(py, self.signals.bind(py), "process_signal", &event);
    }
}

/// Calls each of `callbacks` (as they were when the event started) with the event.
pub fn publish(
    py: Python<'_>,
    callbacks: &Bound<'_, PyList>,
    name: &str,
    event: &Bound<'_, PyDict>,
) {
    if callbacks.is_empty() {
        return;
    }
    let snapshot: Vec<Bound<'_, PyAny>> = callbacks.iter().collect();
    let name = PyString::new(py, name);
    for callback in snapshot {
        let merged = callback.call((&name,), Some(event)).and_then(|returned| {
            match returned.cast::<PyDict>() {
                Ok(update) => event.update(update.as_mapping()),
                Err(_) => Ok(()),
            }
        });
        if let Err(err) = merged {
            traceback::log(
                py,
                &format!(
                    "RW0127: a mod_wsgi event callback ({}) raised handling '{name}'; the request goes on",
                    describe(&callback)
                ),
                &err,
            );
        }
    }
}

fn describe(callback: &Bound<'_, PyAny>) -> String {
    callback
        .getattr("__qualname__")
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| {
            callback
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        })
}

/// What the events of one request share, made when it starts if anything subscribed.
pub struct RequestEvents {
    callbacks: Py<PyList>,
    /// request_id, thread_id, server_pid and the request's start times.
    common: Py<PyDict>,
    request_data: Py<PyDict>,
}

/// Where a request came from, for `request_started`.
pub struct Origin {
    pub thread_id: u32,
    pub server_pid: u32,
    /// Connections the Apache child made to the daemon for it (0 in embedded mode).
    pub daemon_connects: u32,
    pub times: Times,
}

impl RequestEvents {
    pub fn new(
        py: Python<'_>,
        subscribers: &Subscribers,
        request_id: Option<&Bound<'_, PyAny>>,
        origin: &Origin,
        request_data: Bound<'_, PyDict>,
    ) -> PyResult<RequestEvents> {
        let common = PyDict::new(py);
        if let Some(id) = request_id {
            common.set_item("request_id", id)?;
        }
        common.set_item("thread_id", origin.thread_id)?;
        common.set_item("server_pid", origin.server_pid)?;
        common.set_item("request_start", origin.times.request_start)?;
        common.set_item("queue_start", origin.times.queue_start)?;
        common.set_item("daemon_start", origin.times.daemon_start)?;
        Ok(RequestEvents {
            callbacks: subscribers.events.clone_ref(py),
            common: common.unbind(),
            request_data: request_data.unbind(),
        })
    }

    /// An event with the request's id and data.
    fn event<'py>(&self, py: Python<'py>, all_common: bool) -> PyResult<Bound<'py, PyDict>> {
        let event = if all_common {
            self.common.bind(py).copy()?
        } else {
            let event = PyDict::new(py);
            if let Some(id) = self.common.bind(py).get_item("request_id")? {
                event.set_item("request_id", id)?;
            }
            event
        };
        event.set_item("request_data", self.request_data.bind(py))?;
        Ok(event)
    }

    fn publish(&self, py: Python<'_>, name: &str, event: PyResult<Bound<'_, PyDict>>) {
        match event {
            Ok(event) => publish(py, self.callbacks.bind(py), name, &event),
            Err(err) => traceback::log(
                py,
                &format!("RW0127: cannot build the '{name}' event"),
                &err,
            ),
        }
    }

    /// `request_started`: returns the application to call, which a callback may replace
    /// through `application_object`.
    pub fn request_started<'py>(
        &self,
        py: Python<'py>,
        origin: &Origin,
        application: &Bound<'py, PyAny>,
        callable_object: &str,
        environ: &Bound<'py, PyDict>,
        application_start: f64,
    ) -> Bound<'py, PyAny> {
        let event = self.event(py, true).and_then(|event| {
            event.set_item("daemon_connects", origin.daemon_connects)?;
            event.set_item("daemon_restarts", 0)?;
            event.set_item("application_object", application)?;
            event.set_item("callable_object", callable_object)?;
            event.set_item("request_environ", environ)?;
            event.set_item("application_start", application_start)?;
            Ok(event)
        });
        let Ok(event) = event else {
            self.publish(py, "request_started", event);
            return application.clone();
        };
        publish(py, self.callbacks.bind(py), "request_started", &event);
        match event.get_item("application_object") {
            Ok(Some(replaced)) if !replaced.is_none() => replaced,
            _ => application.clone(),
        }
    }

    /// `response_started`, when the application calls `start_response`.
    pub fn response_started(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) {
        let event = self.event(py, false).and_then(|event| {
            event.set_item("response_status", status)?;
            event.set_item("response_headers", headers)?;
            event.set_item(
                "exception_info",
                exc_info.map_or_else(|| py.None(), |e| e.clone().unbind()),
            )?;
            Ok(event)
        });
        self.publish(py, "response_started", event);
    }

    /// `request_exception`, when the application's exception is logged.
    pub fn request_exception(&self, py: Python<'_>, err: &PyErr) {
        let event = self.event(py, false).and_then(|event| {
            let info = PyTuple::new(
                py,
                [
                    err.get_type(py).into_any(),
                    err.value(py).clone().into_any(),
                    err.traceback(py)
                        .map_or_else(|| py.None().into_bound(py), Bound::into_any),
                ],
            )?;
            event.set_item("exception_info", info)?;
            Ok(event)
        });
        self.publish(py, "request_exception", event);
    }

    /// `request_finished`, once the response has been sent and the iterable closed.
    pub fn request_finished(&self, py: Python<'_>, finished: &Finished) {
        let event = self.event(py, true).and_then(|event| {
            let io = &finished.io;
            let seconds = |us: u64| us as f64 / 1e6;
            event.set_item("input_reads", io.reads)?;
            event.set_item("input_length", io.read_bytes)?;
            event.set_item("input_time", seconds(io.read_us))?;
            event.set_item("output_length", io.written_bytes)?;
            event.set_item("output_writes", io.writes)?;
            event.set_item("output_time", seconds(io.write_us))?;
            let application_time =
                (finished.application_finish - finished.application_start).max(0.0);
            if let Some((user, system)) = finished.cpu {
                // Thread CPU clocks tick coarser than wall time: never report more CPU
                // than elapsed time, as mod_wsgi does.
                let total = user + system;
                let (user, system) = if total > application_time && total > 0.0 {
                    let user = user / total * application_time;
                    (user, application_time - user)
                } else {
                    (user, system)
                };
                event.set_item("cpu_user_time", user)?;
                event.set_item("cpu_system_time", system)?;
                event.set_item("cpu_time", user + system)?;
            }
            event.set_item("application_finish", finished.application_finish)?;
            event.set_item("application_time", application_time)?;
            event.set_item("status", finished.status)?;
            event.set_item("gil_wait_count", finished.gil_wait.0)?;
            event.set_item("gil_wait_time", seconds(finished.gil_wait.1))?;
            event.set_item("gil_enabled", crate::python::gil::enabled(py))?;
            Ok(event)
        });
        self.publish(py, "request_finished", event);
    }
}

/// How a request went, for `request_finished`.
pub struct Finished {
    pub io: IoStats,
    pub application_start: f64,
    pub application_finish: f64,
    /// The thread's CPU time (user, system) in seconds while the request ran, where the
    /// platform reports it.
    pub cpu: Option<(f64, f64)>,
    pub status: u16,
    /// GIL re-acquisitions: (count, µs waited).
    pub gil_wait: (u64, u64),
}
