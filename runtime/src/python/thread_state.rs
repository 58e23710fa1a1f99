//! One persistent Python thread state per Apache worker thread.
//!
//! Without it, each request would create and destroy a thread state: `threading.local`
//! would reset between requests and throughput drops by about 30 %. The state is created
//! once (`PyGILState_Ensure`) and the GIL released again (`PyEval_SaveThread`) while keeping
//! the state registered, so later `Python::attach` calls only take the GIL.
#![allow(unsafe_code)]

use std::cell::Cell;

use pyo3::{Python, ffi};

thread_local! {
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the GIL on this thread's persistent thread state. Callers must have
/// checked that Python is running ([`super::interpreter::is_running`]).
pub fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    REGISTERED.with(|registered| {
        if !registered.get() {
            // SAFETY: Python is initialised (caller contract) and this thread holds no GIL:
            // Ensure creates (or finds) the thread's state and takes the GIL; SaveThread
            // releases the GIL while leaving the state registered for this thread, with its
            // gilstate counter above zero so Release never destroys it.
            unsafe {
                ffi::PyGILState_Ensure();
                ffi::PyEval_SaveThread();
            }
            registered.set(true);
        }
    });
    Python::attach(f)
}

#[cfg(unix)]
/// Raises `exception` asynchronously in the thread with Python ident `thread` (the next time
/// it runs Python code; a thread blocked in C, e.g. `time.sleep`, sees it on return).
/// Returns whether such a thread exists.
pub fn interrupt(
    py: Python<'_>,
    thread: u64,
    exception: &pyo3::Bound<'_, pyo3::types::PyType>,
) -> bool {
    let _ = py;
    // SAFETY: the GIL is held (`py`) and `exception` is a live exception type object,
    // which SetAsyncExc takes a new reference to.
    unsafe { ffi::PyThreadState_SetAsyncExc(thread as std::ffi::c_long, exception.as_ptr()) == 1 }
}
