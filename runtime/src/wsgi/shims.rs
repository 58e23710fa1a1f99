//! The Python-facing WSGI objects of a sub-interpreter.
//!
//! pyo3 creates each `#[pyclass]` type object once per process, in the main interpreter,
//! so a sub-interpreter must not see them. There the same objects are instances of small
//! Python classes defined in that interpreter ([`SOURCE`]) whose methods are native
//! closures made for each object (`PyCFunction::new_closure`, which keeps no process-wide
//! object). The closures call the same Rust code as the classes do (`Input`, `LogStream`,
//! `StartResponse`); only this thin layer differs.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple, PyType};

use super::input::Input;
use super::start_response::{Responder, StartResponse, try_lock};
use crate::python::output::LogStream;

/// Executed in each sub-interpreter (as module `mod_wsgi`).
const SOURCE: &str = r#"
class LogBuffer:
    """The binary side of a Log (its `buffer`)."""
    __slots__ = ("name", "write", "flush")
    closed = False

    def __init__(self, name, write, flush):
        self.name = name
        self.write = write
        self.flush = flush

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def writable(self):
        return True

    def close(self):
        pass

    def __repr__(self):
        return f"<mod_wsgi.LogBuffer name='{self.name}'>"


class Log:
    """A write-only text stream into the Apache error log."""
    __slots__ = ("name", "write", "writelines", "flush", "buffer")
    encoding = "utf-8"
    errors = "backslashreplace"
    line_buffering = True
    closed = False

    def __init__(self, name, write, writelines, flush, write_bytes):
        self.name = name
        self.write = write
        self.writelines = writelines
        self.flush = flush
        self.buffer = LogBuffer(name, write_bytes, flush)

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def fileno(self):
        raise OSError(f"{self.name} is the Apache error log and has no file descriptor")

    def close(self):
        pass

    def __repr__(self):
        return f"<mod_wsgi.Log name='{self.name}'>"


class Input:
    """The request body as a file-like object (wsgi.input)."""
    __slots__ = ("read", "readline", "readlines")

    def __init__(self, read, readline, readlines):
        self.read = read
        self.readline = readline
        self.readlines = readlines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self):
        pass


class FileWrapper:
    """wsgi.file_wrapper: a real file inside is sent by the server, not read here."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = max(int(blksize), 1)

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self):
        if hasattr(self.filelike, "close"):
            self.filelike.close()


class RequestTimeout(BaseException):
    """Raised in a request thread that ran past request-timeout when interrupt-timeout is set."""
"#;

/// The classes [`SOURCE`] defines, in the interpreter that ran it.
pub struct Shims {
    log: Py<PyType>,
    input: Py<PyType>,
    pub file_wrapper: Py<PyType>,
    pub request_timeout: Py<PyType>,
}

impl Shims {
    /// Defines the classes in the current (sub-)interpreter.
    pub fn define(py: Python<'_>) -> PyResult<Shims> {
        let namespace = PyDict::new(py);
        namespace.set_item("__name__", "mod_wsgi")?;
        namespace.set_item("__builtins__", py.import("builtins")?)?;
        py.import("builtins")?
            .call_method1("exec", (SOURCE, &namespace))?;
        let class = |name: &str| -> PyResult<Py<PyType>> {
            Ok(namespace
                .get_item(name)?
                .ok_or_else(|| PyTypeError::new_err(format!("{name} not defined")))?
                .cast_into::<PyType>()?
                .unbind())
        };
        Ok(Shims {
            log: class("Log")?,
            input: class("Input")?,
            file_wrapper: class("FileWrapper")?,
            request_timeout: class("RequestTimeout")?,
        })
    }

    /// The classes `mod_wsgi` exposes, by name.
    pub fn classes<'py>(&self, py: Python<'py>) -> [(&'static str, Bound<'py, PyType>); 4] {
        [
            ("Log", self.log.bind(py).clone()),
            ("Input", self.input.bind(py).clone()),
            ("FileWrapper", self.file_wrapper.bind(py).clone()),
            ("RequestTimeout", self.request_timeout.bind(py).clone()),
        ]
    }

    /// A `Log` writing into `stream`.
    pub fn log<'py>(&self, py: Python<'py>, stream: LogStream) -> PyResult<Bound<'py, PyAny>> {
        let write = {
            let s = stream.clone();
            closure(py, c"write", move |args, kwargs| {
                s.write(args.py(), &arg(args, kwargs, 0, "s")?)
            })?
        };
        let writelines = {
            let s = stream.clone();
            closure(py, c"writelines", move |args, kwargs| {
                s.writelines(args.py(), &arg(args, kwargs, 0, "lines")?)
            })?
        };
        let write_bytes = {
            let s = stream.clone();
            closure(py, c"write", move |args, kwargs| {
                s.write_bytes(args.py(), &arg(args, kwargs, 0, "b")?)
            })?
        };
        let name = stream.name();
        let flush = closure(py, c"flush", move |args, _| {
            stream.flush(args.py());
            Ok(())
        })?;
        self.log
            .bind(py)
            .call1((name, write, writelines, flush, write_bytes))
    }

    /// An `Input` reading the request body through `input`.
    pub fn input<'py>(&self, py: Python<'py>, input: Input) -> PyResult<Bound<'py, PyAny>> {
        let input = Arc::new(Mutex::new(input));
        let read = {
            let i = input.clone();
            closure(py, c"read", move |args, kwargs| {
                let size = size(args, kwargs, "size")?;
                try_lock(&i)?.read(args.py(), size).map(Bound::unbind)
            })?
        };
        let readline = {
            let i = input.clone();
            closure(py, c"readline", move |args, kwargs| {
                let size = size(args, kwargs, "size")?;
                try_lock(&i)?.readline(args.py(), size).map(Bound::unbind)
            })?
        };
        let readlines = closure(py, c"readlines", move |args, kwargs| {
            let hint = size(args, kwargs, "hint")?;
            let lines = try_lock(&input)?.readlines(args.py(), hint)?;
            Ok(lines.into_iter().map(Bound::unbind).collect::<Vec<_>>())
        })?;
        self.input.bind(py).call1((read, readline, readlines))
    }

    /// `start_response` for one request, and the state behind it.
    pub fn responder<'py>(&self, py: Python<'py>, sr: StartResponse) -> PyResult<Responder<'py>> {
        let state = Arc::new(Mutex::new(sr));
        let shared = state.clone();
        let callable = closure(py, c"start_response", move |args, kwargs| {
            let py = args.py();
            let status = arg(args, kwargs, 0, "status")?;
            let headers = arg(args, kwargs, 1, "response_headers")?;
            let exc_info = optional(args, kwargs, 2, "exc_info")?;
            try_lock(&shared)?.start(&status, &headers, exc_info.as_ref())?;
            let writer = shared.clone();
            // PEP 3333's legacy `write(data)`: sent and flushed at once.
            closure(py, c"write", move |args, kwargs| {
                try_lock(&writer)?.emit(args.py(), &arg(args, kwargs, 0, "data")?, true)
            })
            .map(Bound::unbind)
        })?;
        Ok(Responder::Shared {
            state,
            callable: callable.into_any(),
        })
    }
}

/// A native function object around `f`, made in the current interpreter.
fn closure<'py, R>(
    py: Python<'py>,
    name: &'static std::ffi::CStr,
    f: impl Fn(&Bound<'_, PyTuple>, Option<&Bound<'_, PyDict>>) -> PyResult<R> + Send + Sync + 'static,
) -> PyResult<Bound<'py, PyCFunction>>
where
    for<'p> PyResult<R>: pyo3::impl_::callback::IntoPyCallbackOutput<'p, *mut pyo3::ffi::PyObject>,
{
    PyCFunction::new_closure(py, Some(name), None, f)
}

/// Argument `index` (or keyword `name`), if given.
fn optional<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
    index: usize,
    name: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if index < args.len() {
        return Ok(Some(args.get_item(index)?));
    }
    match kwargs {
        Some(k) => k.get_item(name),
        None => Ok(None),
    }
}

/// Argument `index` (or keyword `name`), required.
fn arg<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
    index: usize,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    optional(args, kwargs, index, name)?
        .ok_or_else(|| PyTypeError::new_err(format!("missing required argument '{name}'")))
}

/// An optional size argument: absent or None is no limit.
fn size(
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    name: &str,
) -> PyResult<Option<isize>> {
    match optional(args, kwargs, 0, name)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
        _ => Ok(None),
    }
}
