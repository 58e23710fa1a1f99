//! Building the environ dict: CGI variables as latin-1 native strings (PEP 3333), the
//! HTTP_* mapping of request headers, and the per-process entries copied from a base dict.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::vars::{Var, VarSink};

#[cfg(unix)]
mod wire;
#[cfg(unix)]
pub use wire::WireStrings;

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
    /// [`var_keys`]: the [`Var`] keys indexed by variant, then the stream keys.
    keys: &'k [Py<PyString>],
    /// The first failure of a [`VarSink`] call, reported by `finish`.
    failed: Option<PyErr>,
}

/// The keys `finish` sets, after the [`Var`] keys in [`var_keys`].
const STREAM_KEYS: [&str; 6] = [
    "wsgi.input",
    "wsgi.errors",
    "mod_wsgi.request_start",
    "mod_wsgi.queue_start",
    "mod_wsgi.daemon_start",
    "mod_wsgi.application_start",
];

/// The interned keys of [`Var::NAMES`] and then of [`STREAM_KEYS`], built once per
/// interpreter (strings belong to the interpreter that made them, so no process-wide
/// `intern!` cache).
pub fn var_keys(py: Python<'_>) -> Vec<Py<PyString>> {
    Var::NAMES
        .iter()
        .chain(&STREAM_KEYS)
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

    /// A Python value, or the error making it, under `key` (failures reported by
    /// `finish`).
    pub fn insert(&mut self, key: &str, value: PyResult<impl IntoPyObject<'py>>) {
        let r = value.and_then(|v| self.dict.set_item(key, v));
        self.record(r);
    }

    /// Any Python value under an interned key.
    pub fn set(&self, key: &Bound<'py, PyString>, value: impl IntoPyObject<'py>) -> PyResult<()> {
        self.dict.set_item(key, value)
    }

    /// The variables set so far, without the streams (the auth hooks' environ), or the
    /// first error of any earlier call.
    pub fn into_dict(self) -> PyResult<Bound<'py, PyDict>> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.dict),
        }
    }

    /// Sets the entries only Python can hold (input and error streams, timestamps) and
    /// returns the environ, or the first error of any earlier call.
    pub fn finish(self, streams: Streams<'_, 'py>) -> PyResult<Bound<'py, PyDict>> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let py = self.py();
        let key = |i: usize| self.keys[Var::NAMES.len() + i].bind(py);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.set(key(0), streams.input)?;
        self.set(key(1), streams.errors)?;
        self.set(key(2), streams.times.request_start)?;
        self.set(key(3), streams.times.queue_start)?;
        self.set(key(4), streams.times.daemon_start)?;
        self.set(key(5), now)?;
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
    pub input: Bound<'py, PyAny>,
    pub errors: &'a Bound<'py, PyAny>,
    pub times: Times,
}

/// Keys every request sets, so the base dict is already full-sized (see `base_environ`).
pub fn always_set_keys() -> impl Iterator<Item = &'static str> {
    Var::NAMES[..Var::ALWAYS].iter().copied().chain(STREAM_KEYS)
}
