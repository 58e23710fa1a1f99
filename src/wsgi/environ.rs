//! Building the environ dict: CGI variables as latin-1 native strings (PEP 3333), the
//! HTTP_* mapping of request headers, and the per-process entries copied from a base dict.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::vars::{Var, VarSink};

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

/// The Python strings of a daemon thread's last request variables, by position. An Apache
/// child sends the same variables in the same order, most with the same values as the
/// request before, so most keys and values are reused instead of built and hashed again
/// (the keys are interned, as the application's own literals are). Strings belong to the
/// interpreter that made them, so a thread keeps one set per interpreter it has served.
#[derive(Default)]
pub struct WireStrings {
    /// By interpreter: the address of its key table ([`var_keys`]), which lives as long
    /// as the interpreter's context.
    sets: Vec<(usize, WireSet)>,
}

#[derive(Default)]
struct WireSet {
    slots: Vec<WireSlot>,
}

struct WireSlot {
    key: Vec<u8>,
    key_str: Py<PyString>,
    /// `None` when the value is too long to keep.
    value: Option<Vec<u8>>,
    value_str: Py<PyString>,
}

impl WireStrings {
    fn set_for(&mut self, keys: &[Py<PyString>]) -> &mut WireSet {
        let id = keys.as_ptr() as usize;
        let i = match self.sets.iter().position(|(k, _)| *k == id) {
            Some(i) => i,
            None => {
                self.sets.push((id, WireSet::default()));
                self.sets.len() - 1
            }
        };
        &mut self.sets[i].1
    }
}

impl WireSet {
    /// Positions kept; variables past these are built each time.
    const SLOTS: usize = 128;
    /// Longer values (cookies, long query strings) are built each time.
    const VALUE_KEPT: usize = 1024;

    fn get<'py>(
        &mut self,
        py: Python<'py>,
        i: usize,
        key: &[u8],
        value: &[u8],
    ) -> (Bound<'py, PyString>, Bound<'py, PyString>) {
        let kept = |value: &[u8]| (value.len() <= Self::VALUE_KEPT).then(|| value.to_vec());
        if i >= Self::SLOTS || i > self.slots.len() {
            return (key_string(py, key), latin1(py, value));
        }
        if i == self.slots.len() || self.slots[i].key != key {
            let slot = WireSlot {
                key: key.to_vec(),
                key_str: key_string(py, key).unbind(),
                value: kept(value),
                value_str: latin1(py, value).unbind(),
            };
            if i == self.slots.len() {
                self.slots.push(slot);
            } else {
                self.slots[i] = slot;
            }
        } else if self.slots[i].value.as_deref() != Some(value) {
            let slot = &mut self.slots[i];
            match &mut slot.value {
                // Values that change every request (REMOTE_PORT) reuse the slot's buffer.
                Some(buf) if value.len() <= Self::VALUE_KEPT => {
                    buf.clear();
                    buf.extend_from_slice(value);
                }
                other => *other = kept(value),
            }
            slot.value_str = latin1(py, value).unbind();
        }
        let slot = &self.slots[i];
        (
            slot.key_str.bind(py).clone(),
            slot.value_str.bind(py).clone(),
        )
    }
}

/// An environ key: interned when it is ASCII (every CGI name is).
fn key_string<'py>(py: Python<'py>, key: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(key) {
        Ok(s) if s.is_ascii() => PyString::intern(py, s),
        _ => latin1(py, key),
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

    /// The variables of a daemon's `Request` frame, in order, with Python strings reused
    /// from the thread's previous requests where they repeat.
    pub fn wire_vars<'a>(
        &mut self,
        vars: impl Iterator<Item = (&'a [u8], &'a [u8])>,
        strings: &mut WireStrings,
    ) {
        let py = self.py();
        let strings = strings.set_for(self.keys);
        for (i, (key, value)) in vars.enumerate() {
            let (key, value) = strings.get(py, i, key, value);
            let r = self.dict.set_item(key, value);
            self.record(r);
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
