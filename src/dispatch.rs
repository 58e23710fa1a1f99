//! `WSGIDispatchScript`: a Python script in the Apache child chooses, per request, the
//! process group, the application group and the callable, through its optional functions
//! `process_group(environ)`, `application_group(environ)` and `callable_object(environ)`
//! (each a string, or None to keep what the configuration says), as in mod_wsgi.

use pyo3::prelude::*;

use crate::apache::Request;
use crate::config::HookScript;
use crate::hook_scripts;

/// What the dispatch script chose; `None` keeps the configuration's choice.
#[derive(Debug, Default)]
pub struct Dispatch {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
}

/// Asks the script; `None` after logging why it could not answer (the request gets 500).
pub fn ask(r: &mut Request<'_>, script: &HookScript) -> Option<Dispatch> {
    hook_scripts::run(r, script, "dispatch script", |_, environ, module| {
        let choice = |name: &str| -> PyResult<Option<String>> {
            if !module.hasattr(name)? {
                return Ok(None);
            }
            let value = module.getattr(name)?.call1((environ,))?;
            if value.is_none() {
                return Ok(None);
            }
            value.extract::<String>().map(Some).map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "{name}() must return a str or None, not {}",
                    value
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })
        };
        Ok(Dispatch {
            process_group: choice("process_group")?,
            application_group: choice("application_group")?,
            callable_object: choice("callable_object")?,
        })
    })
}
