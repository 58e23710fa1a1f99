//! `wsgi.input`: the request body, streamed from the transport on demand (never buffered
//! whole), with `read`, `readline`, `readlines` and iteration as PEP 3333 asks.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::transport::{BodyError, Channel};

/// How much to ask the transport for when the caller did not say.
const CHUNK: usize = 64 * 1024;
const LINE_CHUNK: usize = 8 * 1024;

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

    /// Reads up to `want` more bytes from the transport into the buffer; false at EOF.
    fn fill(&mut self, py: Python<'_>, want: usize) -> PyResult<bool> {
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
        let result = self.channel.with(py, |t| t.read_body(&mut chunk[old..]));
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
                return Err(PyOSError::new_err(gone));
            }
        };
        chunk.truncate(old + n);
        self.buffer = chunk;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buffered().len());
        let out = self.buffer[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    fn read_line(&mut self, py: Python<'_>, limit: Option<usize>) -> PyResult<Vec<u8>> {
        let mut scanned = 0;
        loop {
            let buf = self.buffered();
            let window = limit.map_or(buf.len(), |l| buf.len().min(l));
            if let Some(pos) = buf[scanned..window].iter().position(|&b| b == b'\n') {
                return Ok(self.take(scanned + pos + 1));
            }
            if limit.is_some_and(|l| buf.len() >= l) {
                return Ok(self.take(window));
            }
            scanned = window;
            let want = limit.map_or(LINE_CHUNK, |l| (l - buf.len()).min(LINE_CHUNK));
            if !self.fill(py, want)? {
                let rest = self.buffered().len();
                return Ok(self.take(rest));
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
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        match size_arg(size) {
            None => {
                while self.fill(py, CHUNK)? {}
                let rest = self.buffered().len();
                Ok(PyBytes::new(py, &self.take(rest)))
            }
            Some(n) => {
                while self.buffered().len() < n {
                    let want = (n - self.buffered().len()).min(CHUNK);
                    if !self.fill(py, want)? {
                        break;
                    }
                }
                Ok(PyBytes::new(py, &self.take(n)))
            }
        }
    }

    #[pyo3(signature = (size=None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let line = self.read_line(py, size_arg(size))?;
        Ok(PyBytes::new(py, &line))
    }

    #[pyo3(signature = (hint=None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = size_arg(hint).filter(|h| *h > 0);
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.read_line(py, None)?;
            if line.is_empty() {
                break;
            }
            total += line.len();
            lines.push(PyBytes::new(py, &line));
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
        Ok((!line.is_empty()).then(|| PyBytes::new(py, &line)))
    }

    fn close(&self) {}
}
