//! The one owner of the embedded interpreter: builds `PyConfig` from the `WSGIPython*`
//! directives, starts Python in an Apache child (never in the parent) and finalises it.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi;

use rwsgi_core::python_settings::PythonSettings;

/// Why Python could not start, with the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error("{context}: {message}")]
    Status { context: String, message: String },
    #[error("{0}")]
    Unusable(String),
}

/// What `WSGIPythonHome` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonHome {
    /// A Python installation prefix (`PyConfig.home`).
    Prefix(PathBuf),
    /// A virtual environment: Python finds it from its interpreter (`pyvenv.cfg`).
    Venv {
        root: PathBuf,
        version: Option<String>,
    },
}

impl PythonHome {
    pub fn detect(home: &str) -> PythonHome {
        if home.contains(rwsgi_core::directive_args::PATH_LIST_SEPARATOR) {
            return PythonHome::Prefix(PathBuf::from(home));
        }
        let root = PathBuf::from(home);
        match std::fs::read_to_string(root.join("pyvenv.cfg")) {
            Ok(cfg) => PythonHome::Venv {
                version: rwsgi_core::venv::venv_version(&cfg),
                root,
            },
            Err(_) => PythonHome::Prefix(root),
        }
    }
}

/// The main thread state, saved while the GIL is released after start-up.
static MAIN_THREAD: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(std::ptr::null_mut());

/// Is Python running in this process?
pub fn is_running() -> bool {
    !MAIN_THREAD.load(Ordering::Acquire).is_null()
}

fn check(status: ffi::PyStatus, context: impl Fn() -> String) -> Result<(), InterpreterError> {
    // SAFETY: PyStatus_Exception only inspects the status value.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    let message = if status.err_msg.is_null() {
        "unknown error".to_owned()
    } else {
        // SAFETY: err_msg is a static C string set by CPython.
        unsafe { CStr::from_ptr(status.err_msg) }
            .to_string_lossy()
            .into_owned()
    };
    Err(InterpreterError::Status {
        context: context(),
        message,
    })
}

fn cstring(s: &str) -> Result<CString, InterpreterError> {
    CString::new(s).map_err(|_| InterpreterError::Unusable(format!("'{s}' contains a NUL byte")))
}

/// Starts Python with the given settings for a process of `process_group` (`""`: an
/// Apache child) and releases the GIL. Call once per process.
pub fn start(settings: &PythonSettings, process_group: &str) -> Result<(), InterpreterError> {
    if is_running() {
        return Ok(());
    }
    if let Some(eggs) = &settings.eggs {
        // SAFETY: single-threaded at child start, before any thread reads the environment.
        unsafe { std::env::set_var("PYTHON_EGG_CACHE", eggs) };
    }
    let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
    // SAFETY: PyConfig_InitPythonConfig fully initialises the struct.
    unsafe { ffi::PyConfig_InitPythonConfig(config.as_mut_ptr()) };
    // SAFETY: initialised just above.
    let mut config = unsafe { config.assume_init() };
    let result = configure_and_start(&mut config, settings, process_group);
    // SAFETY: the config was initialised; Clear frees the strings it owns.
    unsafe { ffi::PyConfig_Clear(&mut config) };
    result?;
    // SAFETY: Python is initialised and this thread holds the GIL; save it so request
    // threads can take the GIL, and keep the main thread state for finalisation.
    let tstate = unsafe { ffi::PyEval_SaveThread() };
    MAIN_THREAD.store(tstate, Ordering::Release);
    Ok(())
}

fn configure_and_start(
    config: &mut ffi::PyConfig,
    settings: &PythonSettings,
    process_group: &str,
) -> Result<(), InterpreterError> {
    // Apache owns the process's signals; Python must not install handlers (SIGINT, …).
    config.install_signal_handlers = 0;
    // A free-threaded build keeps its GIL unless WSGIFreeThreading turns it off (as
    // mod_wsgi: Off is PYTHON_GIL=1). On is Python's default (-1), not a forced 0: an
    // extension that needs the GIL turns it back on (RW0131 says which) instead of
    // running without it; PYTHON_GIL=0 in the environment forces it off.
    #[cfg(Py_GIL_DISABLED)]
    {
        config.enable_gil = if settings.free_threading_in(process_group) {
            -1
        } else {
            1
        };
    }
    #[cfg(not(Py_GIL_DISABLED))]
    let _ = process_group;
    config.parse_argv = 0;
    config.optimization_level = i32::from(settings.optimize);
    config.write_bytecode = i32::from(!settings.dont_write_bytecode);
    if let Some(seed) = settings.hash_seed {
        config.use_hash_seed = 1;
        config.hash_seed = seed as _;
    }
    match settings.home.as_deref().map(PythonHome::detect) {
        Some(PythonHome::Venv { root, .. }) => {
            let python = rwsgi_core::venv::venv_python(&root);
            let c = cstring(&python.to_string_lossy())?;
            check(
                // SAFETY: the field belongs to `config`; the bytes are copied (locale-decoded).
                unsafe {
                    ffi::PyConfig_SetBytesString(config, &mut config.program_name, c.as_ptr())
                },
                || format!("setting the program name to {}", python.display()),
            )?;
        }
        Some(PythonHome::Prefix(prefix)) => {
            let c = cstring(&prefix.to_string_lossy())?;
            check(
                // SAFETY: as above.
                unsafe { ffi::PyConfig_SetBytesString(config, &mut config.home, c.as_ptr()) },
                || format!("setting the Python home to {}", prefix.display()),
            )?;
        }
        None => {}
    }
    for w in &settings.warnings {
        let c = cstring(w)?;
        // SAFETY: Py_DecodeLocale returns a PyMem_Raw buffer or NULL; Append copies it.
        unsafe {
            let wide = ffi::Py_DecodeLocale(c.as_ptr(), std::ptr::null_mut());
            if wide.is_null() {
                return Err(InterpreterError::Unusable(format!(
                    "cannot decode warning option '{w}'"
                )));
            }
            let status = ffi::PyWideStringList_Append(&mut config.warnoptions, wide);
            ffi::PyMem_RawFree(wide.cast());
            check(status, || format!("adding warning option '{w}'"))?;
        }
    }
    // SAFETY: a fully set-up config; called once per process.
    check(unsafe { ffi::Py_InitializeFromConfig(config) }, || {
        "initialising Python".to_owned()
    })
}

/// Set once finalisation returned, so the watchdog stands down.
static FINALIZED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long finalisation (atexit handlers, non-daemon threads) may delay a child's exit.
const FINALIZE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Python's work at a child's exit: `before` (shutdown callbacks, ending sub-interpreters),
/// then, when `finalize` (`WSGIDestroyInterpreter On`), finalisation (atexit handlers
/// run). Called from the child's cleanup on the thread that started Python. Bounded: an
/// app thread or callback that never ends must not keep the child (and an Apache restart)
/// waiting.
pub fn finish(finalize: bool, before: impl FnOnce(pyo3::Python<'_>) -> Result<(), String>) {
    let tstate = MAIN_THREAD.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if tstate.is_null() {
        return;
    }
    std::thread::spawn(|| {
        std::thread::sleep(FINALIZE_LIMIT);
        if FINALIZED.load(Ordering::Acquire) {
            return;
        }
        tracing::warn!(
            "RW0121: Python's exit work did not finish within {} s (a shutdown callback, atexit handler or application thread is still running); exiting the child without waiting",
            FINALIZE_LIMIT.as_secs()
        );
        // SAFETY: ends the process immediately; nothing else needs to run at this point.
        unsafe { libc::_exit(0) };
    });
    // SAFETY: `tstate` is the main thread state saved in `start`; restoring it takes the GIL
    // on this thread.
    unsafe { ffi::PyEval_RestoreThread(tstate) };
    // The thread's own state is current, so this attach only counts (pyo3 then treats the
    // thread as attached while `before` runs).
    let ran = pyo3::Python::attach(before);
    if let Err(why) = &ran {
        tracing::info!("RW0122: Python was not finalised at exit: {why}");
    }
    if ran.is_err() || !finalize {
        // Python stays up for the rest of the exit, and this thread keeps its GIL: the
        // application's own threads stay parked instead of running while the process's
        // exit handlers tear down what they use. Apache's worker threads have ended.
        FINALIZED.store(true, Ordering::Release);
        return;
    }
    // SAFETY: the GIL is held with the main state current, no sub-interpreter is left, and
    // this runs once (MAIN_THREAD was taken above).
    unsafe { ffi::Py_FinalizeEx() };
    FINALIZED.store(true, Ordering::Release);
}

/// In an interpreter that imported the runtime as an extension (an exec'd daemon): Python
/// runs already, started by its own executable; `start` then leaves it as it is.
pub fn adopt(_py: pyo3::Python<'_>) {
    // SAFETY: the Python token shows this thread holds the GIL, so it has a current
    // thread state; it is only recorded (an adopted interpreter is never finalised here:
    // a daemon ends with `_exit`).
    let tstate = unsafe { ffi::PyThreadState_Get() };
    MAIN_THREAD.store(tstate, Ordering::Release);
}
