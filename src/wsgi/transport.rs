//! The boundary between PEP 3333 and a concrete server: reading the request body and
//! sending the response head and body.

use std::sync::{Arc, Mutex};

use pyo3::Python;

pub use crate::apache::OsFile;

/// A failed body read and the status the client should get for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub status: u16,
    pub reason: String,
}

/// A validated response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// The full status line as the app gave it, e.g. `200 OK`.
    pub status_line: String,
    pub headers: Vec<(String, String)>,
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
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), String>;
    /// Sends body bytes; `flush` pushes them to the client now (streaming).
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), String>;
    /// Sends `len` bytes of an open regular file from `offset`, without copying it through
    /// Python.
    fn send_file(&mut self, file: OsFile, offset: u64, len: u64) -> Result<(), String>;
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

/// A transport shared by the Python objects of one request. Revoked when the request ends,
/// so objects an app keeps afterwards fail cleanly instead of touching a finished request.
#[derive(Clone)]
pub struct Channel(Arc<Mutex<Option<Box<dyn Transport>>>>);

impl Channel {
    pub fn new(transport: Box<dyn Transport>) -> Channel {
        Channel(Arc::new(Mutex::new(Some(transport))))
    }

    /// Runs `f` on the transport with the GIL released (the lock is also taken without the
    /// GIL, so a thread waiting for it never blocks one that needs the GIL to finish).
    pub fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut dyn Transport) -> R + Send,
    ) -> Result<R, String> {
        let inner = &self.0;
        py.detach(|| {
            let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(t) => Ok(f(t.as_mut())),
                None => Err("the request this object belonged to has finished".to_owned()),
            }
        })
    }

    /// As `with`, for sending `len` bytes with `flush`: keeps the GIL when the transport
    /// only buffers them (and nobody else holds it, e.g. a thread reading `wsgi.input`).
    pub fn with_send<R: Send>(
        &self,
        py: Python<'_>,
        len: usize,
        flush: bool,
        f: impl FnOnce(&mut dyn Transport) -> R + Send,
    ) -> Result<R, String> {
        if let Ok(mut guard) = self.0.try_lock() {
            if let Some(t) = guard.as_mut().filter(|t| t.buffers(len, flush)) {
                return Ok(f(t.as_mut()));
            }
        }
        self.with(py, f)
    }

    /// Tells the transport how the request ended, then revokes it. Call without the GIL.
    pub fn close(&self, outcome: &super::Outcome) {
        let transport = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut t) = transport {
            t.finish(outcome);
        }
    }

    /// Ends the request's use of the transport.
    pub fn revoke(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
