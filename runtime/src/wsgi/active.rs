//! The requests this process is running, one per request thread: what
//! `mod_wsgi.request_data()` and `mod_wsgi.active_requests` read, and the per-thread
//! numbers (thread id, requests served, GIL waits) that events and metrics report.
//!
//! A thread registers once, at its first request; after that a request costs two
//! uncontended lock operations, and its `request_data` dict is only made when something
//! asks for it.

use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::python::subinterpreter::current_interpreter;

/// The request a thread is running. Its objects belong to interpreter `interp` and are
/// only touched with that interpreter's GIL held.
struct Current {
    interp: usize,
    /// Which of the thread's requests (its `requests` count when it started).
    serial: u64,
    request_id: Option<Py<PyAny>>,
    data: Option<Py<PyDict>>,
}

/// One request thread.
pub struct ThreadRecord {
    /// 1, 2, … in the order threads served their first request (mod_wsgi's `thread_id`).
    pub thread_id: u32,
    /// Requests it has started.
    pub requests: AtomicU64,
    current: Mutex<Option<Current>>,
}

impl ThreadRecord {
    fn current(&self) -> MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static THREADS: Mutex<Vec<Weak<ThreadRecord>>> = Mutex::new(Vec::new());
static NEXT_THREAD_ID: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THIS: OnceCell<Arc<ThreadRecord>> = const { OnceCell::new() };
    /// GIL re-acquisitions of this thread's current request: (count, µs waited).
    static GIL_WAIT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn this_thread() -> Arc<ThreadRecord> {
    THIS.with(|this| {
        this.get_or_init(|| {
            let record = Arc::new(ThreadRecord {
                thread_id: NEXT_THREAD_ID.fetch_add(1, Ordering::Relaxed),
                requests: AtomicU64::new(0),
                current: Mutex::new(None),
            });
            let mut threads = THREADS.lock().unwrap_or_else(|e| e.into_inner());
            threads.retain(|t| t.strong_count() > 0);
            threads.push(Arc::downgrade(&record));
            record
        })
        .clone()
    })
}

/// The live request threads.
pub fn threads() -> Vec<Arc<ThreadRecord>> {
    THREADS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect()
}

/// Marks this thread as running a request (in the current interpreter) until dropped;
/// drop it in that interpreter, with its GIL held.
pub struct ActiveRequest {
    record: Arc<ThreadRecord>,
}

/// Starts the thread's request, known by `request_id` (`mod_wsgi.request_id`).
pub fn enter(py: Python<'_>, request_id: Option<Bound<'_, PyAny>>) -> ActiveRequest {
    let record = this_thread();
    let serial = record.requests.fetch_add(1, Ordering::Relaxed);
    *record.current() = Some(Current {
        interp: current_interpreter(py),
        serial,
        request_id: request_id.map(Bound::unbind),
        data: None,
    });
    GIL_WAIT.with(|w| w.set((0, 0)));
    ActiveRequest { record }
}

impl ActiveRequest {
    pub fn thread_id(&self) -> u32 {
        self.record.thread_id
    }

    /// The request's `request_data` dict (made now if nothing asked for it yet).
    pub fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        data_of(py, &self.record, current_interpreter(py)).unwrap_or_else(|| PyDict::new(py))
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        let ended = self.record.current().take();
        drop(ended);
    }
}

/// The `request_data` dict of the request `record`'s thread runs in interpreter `interp`,
/// made if nothing asked for it yet; `None` if it runs none there. No Python runs while the
/// record is locked (an allocation may collect garbage, and a finaliser may ask for the
/// same record).
fn data_of<'py>(
    py: Python<'py>,
    record: &ThreadRecord,
    interp: usize,
) -> Option<Bound<'py, PyDict>> {
    let serial = {
        let current = record.current();
        let current = current.as_ref().filter(|c| c.interp == interp)?;
        if let Some(data) = &current.data {
            return Some(data.clone_ref(py).into_bound(py));
        }
        current.serial
    };
    let fresh = PyDict::new(py);
    let mut current = record.current();
    let current = current
        .as_mut()
        .filter(|c| c.interp == interp && c.serial == serial)?;
    Some(
        current
            .data
            .get_or_insert_with(|| fresh.clone().unbind())
            .clone_ref(py)
            .into_bound(py),
    )
}

/// Records a wait of `us` µs to take the GIL back (after blocking I/O) for the thread's
/// request.
pub fn gil_waited(us: u64) {
    GIL_WAIT.with(|w| {
        let (count, total) = w.get();
        w.set((count + 1, total + us));
    });
}

/// The GIL re-acquisitions of the thread's request so far: (count, µs waited).
pub fn gil_wait() -> (u64, u64) {
    GIL_WAIT.with(Cell::get)
}

/// `mod_wsgi.request_data()`: the dict of the request this thread is running, the same
/// one every event of the request carries.
#[pyfunction]
pub fn request_data(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let no_request = || PyRuntimeError::new_err("no active request for thread");
    let record = THIS
        .with(|this| this.get().cloned())
        .ok_or_else(no_request)?;
    data_of(py, &record, current_interpreter(py)).ok_or_else(no_request)
}

/// What `mod_wsgi.active_requests` shows: `{request_id: request_data}` for the requests
/// running in this interpreter now.
#[pyfunction]
#[pyo3(name = "_active_snapshot")]
pub fn active_snapshot(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let interp = current_interpreter(py);
    let snapshot = PyDict::new(py);
    for record in threads() {
        let id = record
            .current()
            .as_ref()
            .filter(|c| c.interp == interp)
            .and_then(|c| c.request_id.as_ref().map(|id| id.clone_ref(py)));
        let Some(id) = id else {
            continue;
        };
        if let Some(data) = data_of(py, &record, interp) {
            snapshot.set_item(id, data)?;
        }
    }
    Ok(snapshot)
}

/// The thread ids of the requests running now.
pub fn running_threads() -> Vec<u32> {
    threads()
        .iter()
        .filter(|t| t.current().is_some())
        .map(|t| t.thread_id)
        .collect()
}
