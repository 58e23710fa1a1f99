//! Loading WSGI scripts: each script file becomes its own module (named after the path, as
//! mod_wsgi names them), cached per process and re-imported when the file changes and
//! reloading is on.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString};

/// Why a script could not provide its callable.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("RW0101: cannot read WSGI script '{path}': {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("RW0102: failed to exec WSGI script '{path}'")]
    Exec { path: String, err: PyErr },
    /// A generated loader (rwsgi-express's handler.wsgi) failed to load the user's
    /// application, which it names in `__rwsgi_loads__`: the log names that, never the
    /// generated file.
    #[error("RW0102: failed to load the WSGI application {application}")]
    Application { application: String, err: PyErr },
    #[error(
        "RW0103: WSGI script '{path}' does not contain the callable '{name}' (set WSGICallableObject or callable-object= if it has another name)"
    )]
    NoCallable { path: String, name: String },
}

struct Loaded {
    module: Py<PyModule>,
    mtime_us: Option<i64>,
}

/// Scripts loaded in this process, by path.
#[derive(Default)]
pub struct Scripts {
    /// `WSGICaseSensitivity Off`: paths that differ only in case are one script.
    case_insensitive: bool,
    loaded: Mutex<HashMap<String, Loaded>>,
    /// Serialises (re)loading: two first requests must not exec the same script twice
    /// (Django's `populate() isn't reentrant`). Waited for with the GIL released.
    loading: Mutex<()>,
    /// Callable names as interned strings: attribute lookups with an interned name hit
    /// CPython's type attribute cache instead of walking the module type's MRO each time.
    names: Mutex<Vec<(String, Py<PyString>)>>,
}

/// The mtime each script had when this process last loaded it, in any interpreter, by the
/// script's key: what a daemon compares a request's script with, to restart rather than
/// run new code beside the old modules it imported.
static LOADED_AT: Mutex<Option<HashMap<String, Option<i64>>>> = Mutex::new(None);

/// Callable names kept interned; a config normally names one or two.
const NAMES_KEPT: usize = 16;

fn mtime_of(path: &str) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_micros() as i64)
}

impl LoadError {
    /// The Python exception behind the failure, if one was raised.
    pub fn python_error(&self) -> Option<&PyErr> {
        match self {
            LoadError::Exec { err, .. } | LoadError::Application { err, .. } => Some(err),
            LoadError::Read { .. } | LoadError::NoCallable { .. } => None,
        }
    }
}

impl Scripts {
    /// `case_sensitive`: `WSGICaseSensitivity` (whether paths differing in case are
    /// different files).
    pub fn new(case_sensitive: bool) -> Scripts {
        Scripts {
            case_insensitive: !case_sensitive,
            ..Scripts::default()
        }
    }

    /// The name a path is known by: its cache key and what its module name is made from
    /// (borrowed, so the per-request lookup allocates nothing unless case is ignored).
    fn key<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        if self.case_insensitive {
            std::borrow::Cow::Owned(path.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(path)
        }
    }

    fn cached(
        &self,
        py: Python<'_>,
        path: &str,
        mtime_us: Option<i64>,
        reload: bool,
    ) -> Option<Py<PyModule>> {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let entry = loaded.get(self.key(path).as_ref())?;
        if reload && entry.mtime_us != mtime_us {
            return None;
        }
        Some(entry.module.clone_ref(py))
    }

    fn name<'py>(&self, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, interned)) = names.iter().find(|(n, _)| n == name) {
            return interned.bind(py).clone();
        }
        if names.len() >= NAMES_KEPT {
            return PyString::new(py, name);
        }
        let interned = PyString::intern(py, name);
        names.push((name.to_owned(), interned.clone().unbind()));
        interned
    }

    /// Takes the loading lock without holding the GIL while waiting (the thread holding the
    /// lock needs the GIL to finish loading).
    fn lock_loading(&self, py: Python<'_>) -> MutexGuard<'_, ()> {
        loop {
            match self.loading.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(e)) => return e.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    py.detach(|| std::thread::sleep(Duration::from_millis(2)))
                }
            }
        }
    }

    #[cfg(unix)]
    /// Whether this process loaded the script at `path`, in any interpreter, from a file
    /// whose mtime was not `mtime_us` (`None`: this process's `stat` of it now). False
    /// for a script it has not loaded.
    pub fn changed_since_loaded(&self, path: &str, mtime_us: Option<i64>) -> bool {
        let loaded = LOADED_AT.lock().unwrap_or_else(|e| e.into_inner());
        match loaded.as_ref().and_then(|l| l.get(self.key(path).as_ref())) {
            Some(&at) => at != mtime_us.or_else(|| mtime_of(path)),
            None => false,
        }
    }

    /// The callable `name` of the script at `path`. `mtime_us` is the file's current mtime
    /// when the caller already has it (Apache's directory walk stat'ed the script).
    pub fn callable<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        name: &str,
        reload: bool,
        mtime_us: Option<i64>,
    ) -> Result<Bound<'py, PyAny>, LoadError> {
        let module = self.module(py, path, reload, mtime_us)?;
        module
            .bind(py)
            .getattr(self.name(py, name))
            .map_err(|_| LoadError::NoCallable {
                path: path.to_owned(),
                name: name.to_owned(),
            })
    }

    /// The module for `path`, loading or reloading it when needed.
    pub fn module(
        &self,
        py: Python<'_>,
        path: &str,
        reload: bool,
        mtime_us: Option<i64>,
    ) -> Result<Py<PyModule>, LoadError> {
        let current = if reload {
            mtime_us.or_else(|| mtime_of(path))
        } else {
            None
        };
        if let Some(m) = self.cached(py, path, current, reload) {
            return Ok(m);
        }
        let _guard = self.lock_loading(py);
        // Another thread may have loaded it while we waited.
        if let Some(m) = self.cached(py, path, current, reload) {
            return Ok(m);
        }
        let mtime = current.or_else(|| mtime_of(path));
        let key = self.key(path);
        let module = load(py, path, &key, mtime)?;
        LOADED_AT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(key.to_string(), mtime);
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key.into_owned(),
                Loaded {
                    module: module.clone_ref(py),
                    mtime_us: mtime,
                },
            );
        Ok(module)
    }
}

/// Reads, compiles and executes the script as a new module registered in `sys.modules`,
/// named after `key` (the path, lower-cased when case does not matter).
fn load(
    py: Python<'_>,
    path: &str,
    key: &str,
    mtime_us: Option<i64>,
) -> Result<Py<PyModule>, LoadError> {
    let source = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let exec_err = |err: PyErr| LoadError::Exec {
        path: path.to_owned(),
        err,
    };
    let name = module_name(py, key).map_err(exec_err)?;
    let sys_modules = py
        .import("sys")
        .and_then(|s| s.getattr("modules"))
        .map_err(exec_err)?;
    let module = PyModule::new(py, &name).map_err(exec_err)?;
    let run = || -> PyResult<()> {
        module.setattr("__file__", path)?;
        module.setattr("__mtime__", mtime_us.unwrap_or(0) as f64 / 1e6)?;
        sys_modules.set_item(&name, &module)?;
        let builtins = py.import("builtins")?;
        let code = builtins.call_method1(
            "compile",
            (
                pyo3::types::PyBytes::new(py, &source),
                path,
                "exec",
                0,
                true,
            ),
        )?;
        builtins.call_method1("exec", (code, module.dict()))?;
        Ok(())
    };
    let watch = super::gil::ImportWatch::start(py);
    let ran = run();
    if let Some(watch) = watch {
        watch.finish(py, &format!("the script {path}"));
    }
    if let Err(err) = ran {
        // A half-executed module must not linger: the next request loads it afresh.
        let _ = sys_modules.del_item(&name);
        let loads = module
            .dict()
            .get_item("__rwsgi_loads__")
            .ok()
            .flatten()
            .and_then(|v| v.extract::<String>().ok());
        return Err(match loads {
            Some(application) => LoadError::Application { application, err },
            None => exec_err(err),
        });
    }
    Ok(module.unbind())
}

/// `_mod_wsgi_<md5 of the path>`, the name mod_wsgi gives script modules.
fn module_name(py: Python<'_>, path: &str) -> PyResult<String> {
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("usedforsecurity", false)?;
    let digest: String = py
        .import("hashlib")?
        .call_method("md5", (path.as_bytes(),), Some(&kwargs))?
        .call_method0("hexdigest")?
        .extract()?;
    Ok(format!("_mod_wsgi_{digest}"))
}
