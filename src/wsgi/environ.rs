//! Building the environ dict: CGI variables as latin-1 native strings (PEP 3333), the
//! HTTP_* mapping of request headers, and the per-process entries copied from a base dict.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rwsgi_core::proxy::Overrides;

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
pub struct EnvironBuilder<'py> {
    dict: Bound<'py, PyDict>,
}

impl<'py> EnvironBuilder<'py> {
    pub fn new(base: &Bound<'py, PyDict>) -> PyResult<EnvironBuilder<'py>> {
        Ok(EnvironBuilder { dict: base.copy()? })
    }

    pub fn py(&self) -> Python<'py> {
        self.dict.py()
    }

    /// A CGI variable from raw bytes (latin-1). Keys are interned strings (`intern!`): a
    /// fresh key string per entry and request was the largest cost of building the environ.
    pub fn var(&self, key: &Bound<'py, PyString>, value: &[u8]) -> PyResult<()> {
        self.dict.set_item(key, latin1(self.py(), value))
    }

    /// A CGI variable whose name is only known per request (request headers, SetEnv).
    pub fn var_named(&self, key: &str, value: &[u8]) -> PyResult<()> {
        self.dict.set_item(key, latin1(self.py(), value))
    }

    /// Any Python value under an interned key.
    pub fn set(&self, key: &Bound<'py, PyString>, value: impl IntoPyObject<'py>) -> PyResult<()> {
        self.dict.set_item(key, value)
    }

    /// Applies what trusted proxy headers decided (`WSGITrustedProxyHeaders`). Called after
    /// every other variable is set, so these values win. (Leaving out the removed header
    /// variables is the caller's job, while it adds them.)
    pub fn apply_proxy(&self, o: &Overrides) -> PyResult<()> {
        let py = self.py();
        let vars = [
            (intern!(py, "REMOTE_ADDR"), &o.remote_addr),
            (intern!(py, "HTTP_X_FORWARDED_FOR"), &o.forwarded_for),
            (intern!(py, "HTTP_HOST"), &o.host),
            (intern!(py, "SERVER_NAME"), &o.server_name),
            (intern!(py, "SERVER_PORT"), &o.server_port),
            (intern!(py, "SCRIPT_NAME"), &o.script_name),
            (intern!(py, "mod_wsgi.script_name"), &o.script_name),
        ];
        for (key, value) in vars {
            if let Some(v) = value {
                self.var(key, v)?;
            }
        }
        if let Some(scheme) = o.scheme {
            self.set(intern!(py, "REQUEST_SCHEME"), scheme.as_str())?;
            self.set(intern!(py, "wsgi.url_scheme"), scheme.as_str())?;
        }
        Ok(())
    }

    pub fn finish(self) -> Bound<'py, PyDict> {
        self.dict
    }
}
