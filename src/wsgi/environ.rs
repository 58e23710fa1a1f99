//! Building the environ dict: CGI variables as latin-1 native strings (PEP 3333), the
//! HTTP_* mapping of request headers, and the per-process entries copied from a base dict.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::input::Input;
use super::vars::{Var, VarSink};
use crate::python::output::LogStream;

/// A native string from raw bytes, decoded as latin-1 as PEP 3333 requires.
pub fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => PyString::new(py, s),
        _ => PyString::new(
            py,
            &bytes.iter().map(|&b| char::from(b)).collect::<String>(),
        ),
    }
}

/// Fills one request's environ, starting from a copy of the per-process base dict.
pub struct EnvironBuilder<'py, 'k> {
    dict: Bound<'py, PyDict>,
    /// The interned [`Var`] keys, indexed by variant.
    keys: &'k [Py<PyString>],
    /// The first failure of a [`VarSink`] call, reported by `finish`.
    failed: Option<PyErr>,
}

/// The interned keys of [`Var::NAMES`], built once per process.
pub fn var_keys(py: Python<'_>) -> Vec<Py<PyString>> {
    Var::NAMES
        .iter()
        .map(|n| PyString::intern(py, n).unbind())
        .collect()
}

impl<'py, 'k> EnvironBuilder<'py, 'k> {
    pub fn new(
        base: &Bound<'py, PyDict>,
        keys: &'k [Py<PyString>],
    ) -> PyResult<EnvironBuilder<'py, 'k>> {
        Ok(EnvironBuilder {
            dict: base.copy()?,
            keys,
            failed: None,
        })
    }

    pub fn py(&self) -> Python<'py> {
        self.dict.py()
    }

    fn record(&mut self, result: PyResult<()>) {
        if let Err(e) = result {
            self.failed.get_or_insert(e);
        }
    }

    /// A variable whose key arrived as bytes (the daemon's `Environ` frame).
    pub fn wire_var(&mut self, key: &[u8], value: &[u8]) {
        match Var::lookup(key) {
            Some(i) => {
                let r = self
                    .dict
                    .set_item(self.keys[i].bind(self.py()), latin1(self.py(), value));
                self.record(r);
            }
            None => {
                let key = latin1(self.py(), key);
                let r = self.dict.set_item(key, latin1(self.py(), value));
                self.record(r);
            }
        }
    }

    /// Any Python value under an interned key.
    pub fn set(&self, key: &Bound<'py, PyString>, value: impl IntoPyObject<'py>) -> PyResult<()> {
        self.dict.set_item(key, value)
    }

    /// Sets the entries only Python can hold (input and error streams, timestamps) and
    /// returns the environ, or the first error of any earlier call.
    pub fn finish(self, streams: Streams<'_, 'py>) -> PyResult<Bound<'py, PyDict>> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let py = self.py();
        self.set(intern!(py, "wsgi.input"), streams.input)?;
        self.set(intern!(py, "wsgi.errors"), streams.errors)?;
        self.set(
            intern!(py, "mod_wsgi.request_start"),
            streams.times.request_start,
        )?;
        self.set(
            intern!(py, "mod_wsgi.queue_start"),
            streams.times.queue_start,
        )?;
        self.set(
            intern!(py, "mod_wsgi.daemon_start"),
            streams.times.daemon_start,
        )?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.set(intern!(py, "mod_wsgi.application_start"), now)?;
        Ok(self.dict)
    }
}

impl VarSink for EnvironBuilder<'_, '_> {
    fn var(&mut self, key: Var, value: &[u8]) {
        let py = self.py();
        let r = self
            .dict
            .set_item(self.keys[key as usize].bind(py), latin1(py, value));
        self.record(r);
    }
    fn named(&mut self, key: &str, value: &[u8]) {
        let r = self.dict.set_item(key, latin1(self.py(), value));
        self.record(r);
    }
}

/// When the request started, was queued for a daemon and reached it (seconds since the
/// epoch; `daemon_start` is 0 in embedded mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct Times {
    pub request_start: f64,
    pub queue_start: f64,
    pub daemon_start: f64,
}

/// The Python objects and times `finish` adds.
pub struct Streams<'a, 'py> {
    pub input: Bound<'py, Input>,
    pub errors: &'a Bound<'py, LogStream>,
    pub times: Times,
}

/// Keys every request sets, so the base dict is already full-sized (see `base_environ`).
pub fn always_set_keys() -> impl Iterator<Item = &'static str> {
    Var::NAMES[..Var::ALWAYS].iter().copied().chain([
        "wsgi.input",
        "wsgi.errors",
        "mod_wsgi.request_start",
        "mod_wsgi.queue_start",
        "mod_wsgi.daemon_start",
        "mod_wsgi.application_start",
    ])
}
