//! `sys.stdout`, `sys.stderr` and `wsgi.errors`: text streams whose complete lines go to the
//! Apache error log (with the request's context when written on a request's thread).

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;

/// A write-only text stream into the Apache error log. Clones share the partial line.
#[pyclass(module = "mod_wsgi", name = "Log")]
#[derive(Clone)]
pub struct LogStream {
    name: &'static str,
    pending: Arc<Mutex<String>>,
}

impl LogStream {
    pub fn new(name: &'static str) -> LogStream {
        LogStream {
            name,
            pending: Arc::new(Mutex::new(String::new())),
        }
    }

    fn take_lines(&self, text: &str, flush_all: bool) -> Vec<String> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.push_str(text);
        let mut lines = Vec::new();
        while let Some(pos) = pending.find('\n') {
            lines.push(pending[..pos].to_owned());
            pending.drain(..=pos);
        }
        if flush_all && !pending.is_empty() {
            lines.push(std::mem::take(&mut *pending));
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
        Self::emit(py, self.take_lines("", true));
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
        Self::emit(py, self.take_lines(text, false));
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
}
