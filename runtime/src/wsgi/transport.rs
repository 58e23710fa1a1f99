//! The boundary between PEP 3333 and a concrete server: reading the request body and
//! sending the response head and body.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pyo3::Python;
use rwsgi_core::http::latin1_encode;

pub use rwsgi_core::os_file::OsFile;

/// A failed body read and the status the client should get for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub status: u16,
    pub reason: String,
}

/// Why a transport could not send; its text is the application's `OSError` and the log's.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// An object the application kept is used after its request ended.
    #[error("the request this object belonged to has finished")]
    Finished,
    /// The server's side failed (the client or the Apache child went away, a write or a
    /// file failed), in the transport's own terms.
    #[error(transparent)]
    Transport(Box<dyn std::error::Error + Send + Sync>),
}

/// A validated response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// The full status line as the app gave it, e.g. `200 OK`.
    pub status_line: String,
    pub headers: Vec<(String, String)>,
}

/// A response head's bytes: the status line and the headers.
pub type Latin1Head<'a> = (Cow<'a, [u8]>, Vec<(Cow<'a, [u8]>, Cow<'a, [u8]>)>);

impl ResponseHead {
    /// The status line and headers as the bytes HTTP sends: latin-1 (PEP 3333's native
    /// strings), borrowed when they are ASCII.
    pub fn latin1(&self) -> Latin1Head<'_> {
        let headers = self
            .headers
            .iter()
            .map(|(n, v)| (latin1_encode(n), latin1_encode(v)))
            .collect();
        (latin1_encode(&self.status_line), headers)
    }
}

/// What a server offers the WSGI layer. Every method may block; callers release the GIL
/// unless `buffers` says the operation cannot.
pub trait Transport: Send {
    /// Reads up to `buf.len()` body bytes; `Ok(0)` at the end of the body. With `fill` it
    /// returns early only at the end of the body; without, as soon as any bytes arrived.
    fn read_body(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError>;
    /// As `read_body`, into memory that need not be initialised; on `Ok(n)` the first `n`
    /// bytes of `buf` are.
    fn read_body_uninit(
        &mut self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError>;
    /// Records the status and headers; they are sent with the first body bytes.
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), SendError>;
    /// Sends body bytes; `flush` pushes them to the client now (streaming).
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), SendError>;
    /// Sends `len` bytes of an open regular file from `offset`, without copying it through
    /// Python.
    fn send_file(&mut self, file: OsFile, offset: u64, len: u64) -> Result<(), SendError>;
    /// Cuts a response that has started so the client sees it is incomplete.
    fn abort(&mut self);
    /// The request is over with `outcome` (daemon mode says so on the wire).
    fn finish(&mut self, outcome: &super::Outcome) {
        let _ = outcome;
    }
    /// True if sending `len` bytes (head and body) with `flush` only stores them in memory
    /// and cannot block, so the caller may keep the GIL: releasing it while other threads
    /// wait for it hands it over, which costs two thread switches.
    fn buffers(&self, len: usize, flush: bool) -> bool {
        let _ = (len, flush);
        false
    }
}

/// A request's body reads and response writes so far: counts, bytes, and the time spent in
/// them (with the GIL released), for `request_finished` and the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    pub reads: u64,
    pub read_bytes: u64,
    pub read_us: u64,
    pub writes: u64,
    pub written_bytes: u64,
    pub write_us: u64,
}

struct Slot {
    transport: Option<Box<dyn Transport>>,
    io: IoStats,
}

/// A transport shared by the Python objects of one request. Revoked when the request ends,
/// so objects an app keeps afterwards fail cleanly instead of touching a finished request.
#[derive(Clone)]
pub struct Channel(Arc<Mutex<Slot>>);

/// Microseconds since `start`.
fn micros_since(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

impl Channel {
    pub fn new(transport: Box<dyn Transport>) -> Channel {
        Channel(Arc::new(Mutex::new(Slot {
            transport: Some(transport),
            io: IoStats::default(),
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the transport with the GIL released (the lock is also taken without the
    /// GIL, so a thread waiting for it never blocks one that needs the GIL to finish).
    pub fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut dyn Transport) -> R + Send,
    ) -> Result<R, SendError> {
        self.detached(py, |slot| match slot.transport.as_mut() {
            Some(t) => Ok(f(t.as_mut())),
            None => Err(SendError::Finished),
        })
    }

    /// `f` on the slot with the GIL released; the wait to take the GIL back is recorded.
    fn detached<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Slot) -> R + Send) -> R {
        let (result, released) = py.detach(|| {
            let result = f(&mut self.lock());
            (result, Instant::now())
        });
        super::active::gil_waited(micros_since(released));
        result
    }

    /// Reads body bytes with `f` (GIL released), counting them.
    pub fn read(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut dyn Transport) -> Result<usize, BodyError> + Send,
    ) -> Result<Result<usize, BodyError>, SendError> {
        self.detached(py, |slot| {
            let start = Instant::now();
            let t = slot.transport.as_mut().ok_or(SendError::Finished)?;
            let read = f(t.as_mut());
            slot.io.reads += 1;
            slot.io.read_us += micros_since(start);
            if let Ok(n) = read {
                slot.io.read_bytes += n as u64;
            }
            Ok(read)
        })
    }

    /// As `with`, for sending `len` bytes (head and body; `body` of them body bytes) with
    /// `flush`, counted as one write: keeps the GIL when the transport only buffers them
    /// (and nobody else holds it, e.g. a thread reading `wsgi.input`).
    pub fn with_send<R: Send>(
        &self,
        py: Python<'_>,
        len: usize,
        body: u64,
        flush: bool,
        f: impl FnOnce(&mut dyn Transport) -> R + Send,
    ) -> Result<R, SendError> {
        if let Ok(mut slot) = self.0.try_lock() {
            if slot
                .transport
                .as_ref()
                .is_some_and(|t| t.buffers(len, flush))
            {
                return send_counted(&mut slot, body, f);
            }
        }
        self.detached(py, |slot| send_counted(slot, body, f))
    }

    /// The reads and writes so far.
    pub fn io(&self) -> IoStats {
        self.lock().io
    }

    /// Tells the transport how the request ended, then revokes it. Call without the GIL.
    pub fn close(&self, outcome: &super::Outcome) {
        let transport = self.lock().transport.take();
        if let Some(mut t) = transport {
            t.finish(outcome);
        }
    }

    /// Ends the request's use of the transport.
    pub fn revoke(&self) {
        self.lock().transport.take();
    }
}

/// `f` (a send of `body` body bytes) on the slot's transport, counted.
fn send_counted<R>(
    slot: &mut Slot,
    body: u64,
    f: impl FnOnce(&mut dyn Transport) -> R,
) -> Result<R, SendError> {
    let start = Instant::now();
    let t = slot.transport.as_mut().ok_or(SendError::Finished)?;
    let result = f(t.as_mut());
    if body > 0 {
        slot.io.writes += 1;
        slot.io.written_bytes += body;
    }
    slot.io.write_us += micros_since(start);
    Ok(result)
}
