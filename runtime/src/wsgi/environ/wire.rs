//! Daemon mode: a worker thread's Python strings for the variables of the `Request` frames
//! it serves, reused from one request to the next.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::{EnvironBuilder, latin1};

/// The Python strings of a daemon thread's last request variables, by position. An Apache
/// child sends the same variables in the same order, most with the same values as the
/// request before, so most keys and values are reused instead of built and hashed again
/// (the keys are interned, as the application's own literals are). Strings belong to the
/// interpreter that made them, so a thread keeps one set per interpreter it has served.
#[derive(Default)]
pub struct WireStrings {
    /// By interpreter: the address of its key table ([`super::var_keys`]), which lives as long
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

impl EnvironBuilder<'_, '_> {
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
}
