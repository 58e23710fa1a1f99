//! `mod_ssl.is_https()` and `mod_ssl.var_lookup(name)`, the callables mod_wsgi puts into
//! embedded environs (and the auth hooks') when mod_ssl is loaded.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

use crate::apache::SslVars;

/// The request's SSL variables, shared with the callables; dropping this revokes them (a
/// callable kept past its request raises instead of reading a finished request).
pub struct SslCallables(Arc<Mutex<Option<SslVars>>>);

impl SslCallables {
    pub fn new(vars: SslVars) -> SslCallables {
        SslCallables(Arc::new(Mutex::new(Some(vars))))
    }

    /// The two callables, by environ key, made in the current interpreter.
    pub fn make<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<[(&'static str, Bound<'py, PyCFunction>); 2]> {
        let vars = self.0.clone();
        let is_https = PyCFunction::new_closure(
            py,
            Some(c"is_https"),
            None,
            move |_: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| -> PyResult<bool> {
                with(&vars, |v| v.is_https())
            },
        )?;
        let vars = self.0.clone();
        let var_lookup = PyCFunction::new_closure(
            py,
            Some(c"var_lookup"),
            None,
            move |args: &Bound<'_, PyTuple>,
                  _: Option<&Bound<'_, PyDict>>|
                  -> PyResult<Option<String>> {
                let name: String = args.get_item(0)?.extract()?;
                with(&vars, |v| v.lookup(&name))
            },
        )?;
        Ok([
            ("mod_ssl.is_https", is_https),
            ("mod_ssl.var_lookup", var_lookup),
        ])
    }
}

fn with<T>(
    vars: &Mutex<Option<SslVars>>,
    f: impl FnOnce(&SslVars) -> Result<T, crate::apache::SslVarsError>,
) -> PyResult<T> {
    let vars = vars.lock().unwrap_or_else(|e| e.into_inner());
    let vars = vars
        .as_ref()
        .ok_or_else(|| PyRuntimeError::new_err("the request this callable belongs to has ended"))?;
    f(vars).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

impl Drop for SslCallables {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
