//! Whether this process's Python runs with its GIL, and catching the import that turns it
//! back on. A free-threaded Python started without its GIL (`WSGIFreeThreading On`)
//! enables it for good, with a RuntimeWarning that is easy to miss, when it loads an
//! extension module that does not declare it can run without it: every request thread
//! then runs Python one at a time again. rwsgi says so in the error log, naming the
//! module and the fix.
#![cfg_attr(Py_GIL_DISABLED, allow(unsafe_code))]

use pyo3::prelude::*;

/// Whether Python runs with a GIL now: always on a build with one; on a free-threaded
/// build, unless it was started without it and nothing turned it back on.
pub fn enabled(py: Python<'_>) -> bool {
    if !cfg!(Py_GIL_DISABLED) {
        return true;
    }
    py.import("sys")
        .and_then(|sys| sys.call_method0("_is_gil_enabled"))
        .and_then(|v| v.extract::<bool>())
        .unwrap_or(true)
}

/// Taken before an application's code runs, while the GIL is off: the extension modules
/// loaded so far.
pub struct ImportWatch {
    before: std::collections::HashSet<String>,
}

/// Logged once per process: the GIL stays on once enabled.
static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl ImportWatch {
    /// `None` when there is nothing to watch: a build with a GIL, or the GIL is on.
    pub fn start(py: Python<'_>) -> Option<ImportWatch> {
        if enabled(py) {
            return None;
        }
        let before = extension_modules(py).ok()?;
        Some(ImportWatch {
            before: before.into_iter().map(|(name, _)| name).collect(),
        })
    }

    /// After `what` (a script) ran: when the GIL came on meanwhile, an RW0131 line names
    /// the extension modules it loaded that do not declare free-threading support.
    pub fn finish(self, py: Python<'_>, what: &str) {
        if !enabled(py) || REPORTED.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return;
        }
        let loaded: Vec<String> = extension_modules(py)
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, module)| !self.before.contains(name) && !declares_no_gil(module))
            .map(|(name, _)| format!("'{name}'"))
            .collect();
        let culprit = match loaded.as_slice() {
            [] => "an extension module".to_owned(),
            [one] => format!("extension module {one}"),
            several => format!("one of the extension modules {}", several.join(", ")),
        };
        py.detach(|| {
            tracing::warn!(
                "RW0131: loading {what} enabled the GIL in this free-threaded Python: {culprit} does not declare that it runs safely without it, so this process runs Python one thread at a time again (WSGIFreeThreading On has no effect here). Install a release of it built for free-threading (a cp3XXt wheel), or remove it; setting PYTHON_GIL=0 in the environment forces the GIL off at your own risk"
            )
        });
    }
}

/// The extension modules in `sys.modules` (those loaded from a shared library), by name.
fn extension_modules(py: Python<'_>) -> PyResult<Vec<(String, Bound<'_, PyAny>)>> {
    let suffixes = py
        .import("importlib.machinery")?
        .getattr("EXTENSION_SUFFIXES")?
        .extract::<Vec<String>>()?;
    let modules = py.import("sys")?.getattr("modules")?.call_method0("copy")?;
    let mut out = Vec::new();
    for item in modules.call_method0("items")?.try_iter()? {
        let (name, module): (String, Bound<'_, PyAny>) = item?.extract()?;
        let origin = module
            .getattr("__spec__")
            .and_then(|spec| spec.getattr("origin"))
            .and_then(|o| o.extract::<String>());
        if origin.is_ok_and(|o| suffixes.iter().any(|s| o.ends_with(s.as_str()))) {
            out.push((name, module));
        }
    }
    Ok(out)
}

/// Whether the module's definition declares `Py_mod_gil = Py_MOD_GIL_NOT_USED` (a module
/// that declares it the way single-phase modules do, at run time, is not seen: it stays a
/// suspect).
#[cfg(Py_GIL_DISABLED)]
fn declares_no_gil(module: &Bound<'_, PyAny>) -> bool {
    use pyo3::ffi;
    if !module.is_instance_of::<pyo3::types::PyModule>() {
        return false;
    }
    // SAFETY: `module` is a live module object (checked above) and the thread is
    // attached; the definition, when there is one, is static data of the extension,
    // whose slot array ends with a zero slot.
    unsafe {
        let def = ffi::PyModule_GetDef(module.as_ptr());
        if def.is_null() {
            ffi::PyErr_Clear();
            return false;
        }
        let mut slot = (*def).m_slots;
        while !slot.is_null() && (*slot).slot != 0 {
            // Python 3.15 renumbered the slot and still reads the old number (4).
            if (*slot).slot == ffi::Py_mod_gil || (*slot).slot == 4 {
                return (*slot).value == ffi::Py_MOD_GIL_NOT_USED;
            }
            slot = slot.add(1);
        }
    }
    false
}

#[cfg(not(Py_GIL_DISABLED))]
fn declares_no_gil(_: &Bound<'_, PyAny>) -> bool {
    false
}
