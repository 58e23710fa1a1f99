//! `wsgi.input`: the request body, streamed from the transport on demand (never buffered
//! whole), with `read`, `readline`, `readlines` and iteration as PEP 3333 asks.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::transport::{BodyError, Channel};

/// How much `read()` asks the transport for at a time.
const CHUNK: usize = 256 * 1024;
const LINE_CHUNK: usize = 8 * 1024;
/// From this size on, `read(n)` fills the returned bytes object directly (one copy less).
const DIRECT_READ: usize = 16 * 1024;

/// The request body as a file-like object (`mod_wsgi.Input`).
#[pyclass(module = "mod_wsgi", name = "Input")]
pub struct Input {
    channel: Channel,
    /// Bytes read from the transport but not yet returned.
    buffer: Vec<u8>,
    start: usize,
    eof: bool,
    /// The first read failure, for the runner to answer with its status (413, 400, …).
    failure: Arc<Mutex<Option<BodyError>>>,
}

impl Input {
    pub fn new(channel: Channel, failure: Arc<Mutex<Option<BodyError>>>) -> Input {
        Input {
            channel,
            buffer: Vec::new(),
            start: 0,
            eof: false,
            failure,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// Reads up to `want` more bytes into the buffer (all of them unless the body ends, when
    /// `fill`); false at the end of the body. One GIL release per call.
    fn fill(&mut self, py: Python<'_>, want: usize, fill: bool) -> PyResult<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let old = self.buffer.len();
        self.buffer.resize(old + want, 0);
        let mut chunk = std::mem::take(&mut self.buffer);
        let result = self
            .channel
            .read(py, |t| t.read_body(&mut chunk[old..], fill));
        let n = match result {
            Ok(Ok(n)) => n,
            Ok(Err(err)) => {
                chunk.truncate(old);
                self.buffer = chunk;
                self.eof = true;
                let message = format!("request body read failed: {}", err.reason);
                self.failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(err);
                return Err(PyOSError::new_err(message));
            }
            Err(gone) => {
                chunk.truncate(old);
                self.buffer = chunk;
                return Err(PyOSError::new_err(gone.to_string()));
            }
        };
        chunk.truncate(old + n);
        self.buffer = chunk;
        if n == 0 || (fill && n < want) {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// `read(n)` with nothing buffered: the body is read straight into the bytes object
    /// returned, instead of through the buffer (large uploads are copy-bound).
    fn read_direct<'py>(&mut self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyBytes>> {
        let mut got = 0;
        let channel = &self.channel;
        let failure = &self.failure;
        let bytes = crate::python::bytes::filled(py, n, |buf| {
            match channel.read(py, |t| t.read_body_uninit(buf, true)) {
                Ok(Ok(read)) => {
                    got = read;
                    Ok(read)
                }
                Ok(Err(err)) => {
                    let message = format!("request body read failed: {}", err.reason);
                    failure
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(err);
                    Err(PyOSError::new_err(message))
                }
                Err(gone) => Err(PyOSError::new_err(gone.to_string())),
            }
        });
        // A filled read is short only at the end of the body (or on an error).
        if bytes.is_err() || got < n {
            self.eof = true;
        }
        bytes
    }

    /// Returns the next `n` buffered bytes (or fewer, if fewer are buffered).
    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let n = n.min(self.buffered().len());
        let out = PyBytes::new(py, &self.buffer[self.start..self.start + n]);
        self.start += n;
        out
    }

    fn read_line<'py>(
        &mut self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut scanned = 0;
        loop {
            let buf = self.buffered();
            let window = limit.map_or(buf.len(), |l| buf.len().min(l));
            if let Some(pos) = buf[scanned..window].iter().position(|&b| b == b'\n') {
                return Ok(self.take(py, scanned + pos + 1));
            }
            if limit.is_some_and(|l| buf.len() >= l) {
                return Ok(self.take(py, window));
            }
            scanned = window;
            let want = limit.map_or(LINE_CHUNK, |l| (l - buf.len()).min(LINE_CHUNK));
            // Not `fill`: a line must be returned as soon as it has arrived.
            if !self.fill(py, want, false)? {
                let rest = self.buffered().len();
                return Ok(self.take(py, rest));
            }
        }
    }
}

fn size_arg(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl Input {
    /// `read()` / `read(-1)` reads the rest of the body; `read(n)` up to n bytes (fewer only
    /// at the end of the body).
    #[pyo3(signature = (size=None))]
    pub(crate) fn read<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        match size_arg(size) {
            None => {
                while self.fill(py, CHUNK, true)? {}
                let rest = self.buffered().len();
                Ok(self.take(py, rest))
            }
            Some(n)
                if (DIRECT_READ..=CHUNK).contains(&n)
                    && self.buffered().is_empty()
                    && !self.eof =>
            {
                self.read_direct(py, n)
            }
            Some(n) => {
                // In steps, so read(huge) does not allocate `huge` bytes up front.
                while self.buffered().len() < n {
                    let want = (n - self.buffered().len()).min(CHUNK);
                    if !self.fill(py, want, true)? {
                        break;
                    }
                }
                Ok(self.take(py, n))
            }
        }
    }

    #[pyo3(signature = (size=None))]
    pub(crate) fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.read_line(py, size_arg(size))
    }

    #[pyo3(signature = (hint=None))]
    pub(crate) fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = size_arg(hint).filter(|h| *h > 0);
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.read_line(py, None)?;
            let len = line.as_bytes().len();
            if len == 0 {
                break;
            }
            total += len;
            lines.push(line);
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.read_line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }

    fn close(&self) {}
}
