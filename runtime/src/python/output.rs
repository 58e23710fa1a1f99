//! `sys.stdout`, `sys.stderr` and `wsgi.errors`: text streams whose complete lines go to the
//! Apache error log (with the request's context when written on a request's thread).

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

/// A write-only text stream into the Apache error log. Clones share the partial line.
#[pyclass(module = "mod_wsgi", name = "Log")]
#[derive(Clone)]
pub struct LogStream {
    name: &'static str,
    /// Bytes of the line not ended yet: text writes add UTF-8, `buffer` writes any bytes.
    pending: Arc<Mutex<Vec<u8>>>,
}

/// `Log.buffer`: the binary side of a log stream, as `sys.stdout.buffer` is of a text
/// stream (Mercurial, for one, writes its output there). Lines are decoded as UTF-8 when
/// logged; other bytes show as `\xNN`.
#[pyclass(module = "mod_wsgi", name = "LogBuffer")]
pub struct LogBuffer(LogStream);

/// `line` as text: UTF-8, with each byte that is not UTF-8 shown as `\xNN` (Python's
/// `backslashreplace`, as mod_wsgi's error log stream decodes).
fn decode(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

impl LogStream {
    pub fn new(name: &'static str) -> LogStream {
        LogStream {
            name,
            pending: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn take_lines(&self, bytes: &[u8], flush_all: bool) -> Vec<String> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
            lines.push(decode(&pending[..pos]));
            pending.drain(..=pos);
        }
        if flush_all && !pending.is_empty() {
            lines.push(decode(&pending));
            pending.clear();
        }
        lines
    }

    fn emit(py: Python<'_>, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        // Writing the log is a blocking call: let other Python threads run meanwhile.
        py.detach(|| {
            for line in lines {
                tracing::error!(target: "python", "{line}");
            }
        });
    }

    /// Logs whatever partial line is left (at the end of a request).
    pub fn flush_pending(&self, py: Python<'_>) {
        Self::emit(py, self.take_lines(b"", true));
    }

    /// `buffer.write(b)`: `bytes` or `bytearray`; returns how many bytes it took.
    pub(crate) fn write_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let lines = if let Ok(b) = data.cast::<PyBytes>() {
            self.take_lines(b.as_bytes(), false)
        } else if let Ok(b) = data.cast::<PyByteArray>() {
            self.take_lines(&b.to_vec(), false)
        } else {
            return Err(PyTypeError::new_err(format!(
                "a bytes-like object is required, not '{}'",
                data.get_type().name()?
            )));
        };
        let written = data.len()?;
        Self::emit(py, lines);
        Ok(written)
    }
}

#[pymethods]
impl LogBuffer {
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.0.write_bytes(py, data)
    }
    fn writelines(&self, py: Python<'_>, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.0.write_bytes(py, &line?)?;
        }
        Ok(())
    }
    fn flush(&self, py: Python<'_>) {
        self.0.flush_pending(py);
    }
    fn writable(&self) -> bool {
        true
    }
    fn close(&self) {}
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name
    }
    #[getter]
    fn closed(&self) -> bool {
        false
    }
    fn __repr__(&self) -> String {
        format!("<mod_wsgi.LogBuffer name='{}'>", self.0.name)
    }
}

#[pymethods]
impl LogStream {
    pub(crate) fn write(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<usize> {
        let Ok(text) = text.extract::<&str>() else {
            return Err(PyTypeError::new_err(format!(
                "write() argument must be str, not {}",
                text.get_type().name()?
            )));
        };
        Self::emit(py, self.take_lines(text.as_bytes(), false));
        Ok(text.chars().count())
    }

    pub(crate) fn writelines(&self, py: Python<'_>, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(py, &line?)?;
        }
        Ok(())
    }

    pub(crate) fn flush(&self, py: Python<'_>) {
        self.flush_pending(py);
    }

    fn isatty(&self) -> bool {
        false
    }
    fn writable(&self) -> bool {
        true
    }
    fn readable(&self) -> bool {
        false
    }
    fn seekable(&self) -> bool {
        false
    }
    fn fileno(&self) -> PyResult<i32> {
        Err(PyOSError::new_err(format!(
            "{} is the Apache error log and has no file descriptor",
            self.name
        )))
    }
    fn close(&self) {}

    fn __repr__(&self) -> String {
        format!("<mod_wsgi.Log name='{}'>", self.name)
    }

    #[getter]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
    #[getter]
    fn closed(&self) -> bool {
        false
    }
    #[getter]
    fn encoding(&self) -> &'static str {
        "utf-8"
    }
    #[getter]
    fn errors(&self) -> &'static str {
        "backslashreplace"
    }
    #[getter]
    fn line_buffering(&self) -> bool {
        true
    }
    /// The binary side, as a text stream's `buffer`.
    #[getter]
    fn buffer(&self) -> LogBuffer {
        LogBuffer(self.clone())
    }
}
