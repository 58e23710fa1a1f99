//! `start_response` and the response writer behind it (`write()` and the body iterable
//! both end up in [`StartResponse::emit`]).

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use super::events::RequestEvents;
use super::transport::{Channel, OsFile, ResponseHead};
use rwsgi_core::http::{check_header, parse_status};

/// What goes to the transport after the head.
enum Op<'a> {
    Body(&'a [u8], bool),
    File { file: OsFile, offset: u64, len: u64 },
    HeadOnly,
}

/// The per-request `start_response` callable.
#[pyclass(module = "mod_wsgi")]
pub struct StartResponse {
    channel: Channel,
    head: Option<ResponseHead>,
    /// The head has been handed to the transport (body bytes may have gone out).
    pub(super) started: bool,
    content_length: Option<u64>,
    pub(super) sent: u64,
    /// HEAD request: the body is produced but not sent.
    header_only: bool,
    overflow_logged: bool,
    client_gone: Option<String>,
    /// Where `response_started` goes, when anything subscribed to events.
    events: Option<Arc<RequestEvents>>,
}

impl StartResponse {
    pub fn new(channel: Channel, header_only: bool) -> StartResponse {
        StartResponse {
            channel,
            head: None,
            started: false,
            content_length: None,
            sent: 0,
            header_only,
            overflow_logged: false,
            client_gone: None,
            events: None,
        }
    }

    /// Publishes `response_started` to these subscribers.
    pub fn with_events(mut self, events: Option<Arc<RequestEvents>>) -> StartResponse {
        self.events = events;
        self
    }

    /// The status the application gave, once it called `start_response`.
    pub fn status(&self) -> Option<u16> {
        self.head.as_ref().map(|h| h.status)
    }

    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Adds `Content-Length` when the app did not set one and the runner knows the total.
    pub fn set_content_length_if_missing(&mut self, len: u64) {
        if let Some(head) = self.head.as_mut() {
            if self.content_length.is_none() && !self.started {
                head.headers
                    .push(("Content-Length".to_owned(), len.to_string()));
                self.content_length = Some(len);
            }
        }
    }

    /// Hands the transport the head (the first time) and then `op`, in one GIL release. A
    /// failure means the client cannot be reached any more; it is remembered so it is not
    /// reported as the application's fault.
    fn send(&mut self, py: Python<'_>, op: Op<'_>) -> PyResult<()> {
        let head = if self.started {
            None
        } else {
            Some(self.head.as_ref().ok_or_else(|| {
                PyRuntimeError::new_err("response body produced before start_response() was called")
            })?)
        };
        let header_only = self.header_only;
        let (body_len, flush, counted) = match op {
            _ if header_only => (0, false, 0),
            Op::Body(data, flush) => (data.len(), flush, data.len() as u64),
            // Read from the file as it is sent: that may block.
            Op::File { len, .. } => (usize::MAX, false, len),
            Op::HeadOnly => (0, false, 0),
        };
        let head_len = head.map_or(0, |h| {
            h.status_line.len()
                + h.headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 8)
                    .sum::<usize>()
        });
        let result = self
            .channel
            .with_send(py, body_len.saturating_add(head_len), counted, flush, |t| {
                if let Some(head) = head {
                    t.send_head(head)?;
                }
                match op {
                    _ if header_only => Ok(()),
                    Op::Body(data, flush) => t.send_body(data, flush),
                    Op::File { file, offset, len } => t.send_file(file, offset, len),
                    Op::HeadOnly => Ok(()),
                }
            })
            .and_then(|r| r);
        self.started = true;
        result.map_err(|reason| {
            self.client_gone = Some(reason.to_string());
            pyo3::exceptions::PyOSError::new_err(reason.to_string())
        })
    }

    /// Why sending to the client failed, if it did.
    pub fn client_gone(&self) -> Option<&str> {
        self.client_gone.as_deref()
    }

    /// Sends one body chunk (truncated to Content-Length, which is never exceeded).
    pub fn emit(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>, flush: bool) -> PyResult<()> {
        let Ok(bytes) = data.cast::<PyBytes>() else {
            return Err(PyTypeError::new_err(format!(
                "response body chunks must be bytes, not {}",
                data.get_type().name()?
            )));
        };
        let mut chunk = bytes.as_bytes();
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(cl) = self.content_length {
            let room = cl.saturating_sub(self.sent) as usize;
            if chunk.len() > room {
                if !self.overflow_logged {
                    self.overflow_logged = true;
                    tracing::warn!(
                        "RW0111: application returned more data than its Content-Length ({cl}); the excess was dropped"
                    );
                }
                chunk = &chunk[..room];
                if chunk.is_empty() {
                    return Ok(());
                }
            }
        }
        self.sent += chunk.len() as u64;
        self.send(py, Op::Body(chunk, flush))
    }

    /// Sends a file's bytes by descriptor.
    pub fn emit_file(
        &mut self,
        py: Python<'_>,
        file: OsFile,
        offset: u64,
        len: u64,
    ) -> PyResult<()> {
        self.sent += len;
        let op = if len == 0 {
            Op::HeadOnly
        } else {
            Op::File { file, offset, len }
        };
        self.send(py, op)
    }

    /// Ends a successful response: sends a head not sent yet (empty body); a body shorter
    /// than its Content-Length is an error (the caller aborts the connection).
    pub fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.head.is_none() {
            return Err(PyRuntimeError::new_err(
                "the application returned without calling start_response()",
            ));
        }
        if !self.started {
            self.send(py, Op::HeadOnly)?;
        }
        match self.content_length {
            Some(cl) if self.sent < cl && !self.header_only => {
                Err(PyRuntimeError::new_err(format!(
                    "the application returned {} bytes but its Content-Length said {cl}",
                    self.sent
                )))
            }
            _ => Ok(()),
        }
    }
}

fn validate(status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<ResponseHead> {
    let status: String = status.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "status must be a str, not {}",
            status
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let code = parse_status(&status).map_err(PyValueError::new_err)?;
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err("response headers must be a list of (name, value) tuples")
    })?;
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "response header must be a (name, value) tuple, got {item}"
            ))
        })?;
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(format!(
                "response header must be a (name, value) tuple, got {pair}"
            )));
        }
        let name: String = pair
            .get_item(0)?
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("header name must be a str in {pair}")))?;
        let value: String = pair
            .get_item(1)?
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("header value must be a str in {pair}")))?;
        check_header(&name, &value).map_err(PyValueError::new_err)?;
        out.push((name, value));
    }
    Ok(ResponseHead {
        status: code,
        status_line: status,
        headers: out,
    })
}

impl StartResponse {
    /// `start_response(status, response_headers, exc_info=None)` without its return value.
    pub(crate) fn start(
        &mut self,
        status: &Bound<'_, PyAny>,
        response_headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let exc_info = exc_info.filter(|e| !e.is_none());
        match exc_info {
            Some(info) if self.started => {
                // Too late to change the response: re-raise the app's exception (PEP 3333).
                let value = info.get_item(1)?;
                return Err(PyErr::from_value(value));
            }
            None if self.head.is_some() => {
                return Err(PyRuntimeError::new_err(
                    "start_response() called a second time without exc_info",
                ));
            }
            _ => {}
        }
        if let Some(events) = &self.events {
            events.response_started(status.py(), status, response_headers, exc_info);
        }
        let head = validate(status, response_headers)?;
        let content_length = head
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
            .map(|(_, v)| {
                v.trim().parse::<u64>().map_err(|_| {
                    PyValueError::new_err(format!("invalid Content-Length value {v:?}"))
                })
            })
            .transpose()?;
        self.content_length = content_length;
        self.head = Some(head);
        Ok(())
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, response_headers, exc_info=None))]
    fn __call__<'py>(
        mut slf: PyRefMut<'py, Self>,
        status: &Bound<'py, PyAny>,
        response_headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        slf.start(status, response_headers, exc_info)?;
        // The `write` callable PEP 3333 returns: a bound method of this object (the main
        // interpreter only runs this class, so the interned name stays in it).
        let this = slf.into_pyobject(py)?;
        this.getattr(pyo3::intern!(py, "write"))
    }

    /// The legacy `write(data)` callable: sent and flushed at once.
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.emit(py, data, true)
    }
}

/// A request's `start_response` and the state behind it: the `#[pyclass]` in the main
/// interpreter; in a sub-interpreter, plain Rust state shared with the native closures
/// the application calls (`shims.rs`), since pyo3's class objects are the main
/// interpreter's.
pub enum Responder<'py> {
    Native(Bound<'py, StartResponse>),
    Shared {
        state: Arc<Mutex<StartResponse>>,
        callable: Bound<'py, PyAny>,
    },
}

impl<'py> Responder<'py> {
    /// What the application is given as `start_response`.
    pub fn callable(&self) -> &Bound<'py, PyAny> {
        match self {
            Responder::Native(sr) => sr.as_any(),
            Responder::Shared { callable, .. } => callable,
        }
    }

    /// Runs `f` on the state; fails as a borrowed `#[pyclass]` does when another thread
    /// is using it (the one holding it may be waiting for the GIL this thread holds).
    pub fn with<R>(&self, f: impl FnOnce(&mut StartResponse) -> PyResult<R>) -> PyResult<R> {
        match self {
            Responder::Native(sr) => f(&mut *sr.try_borrow_mut()?),
            Responder::Shared { state, .. } => f(&mut *try_lock(state)?),
        }
    }

    /// Whether the response has started and why sending failed, if it did; `None` while
    /// another thread holds the state.
    pub fn progress(&self) -> Option<(bool, Option<String>)> {
        let of = |s: &StartResponse| (s.started, s.client_gone().map(str::to_owned));
        match self {
            Responder::Native(sr) => sr.try_borrow().ok().map(|s| of(&s)),
            Responder::Shared { state, .. } => try_lock(state).ok().map(|s| of(&s)),
        }
    }
}

/// Locks shared per-request state without waiting (see [`Responder::with`]).
pub fn try_lock<T>(m: &Mutex<T>) -> PyResult<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Ok(g),
        Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
            "this request object is in use by another thread",
        )),
    }
}
