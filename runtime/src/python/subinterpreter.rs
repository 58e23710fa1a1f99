//! Python sub-interpreters: creating one, running code in it on any thread, ending it.
//!
//! pyo3 knows only the main interpreter, so code runs in a sub-interpreter from inside a
//! `Python::attach` of the main one (see `docs/internals.md`, "Soundness with pyo3"): the
//! attach makes pyo3 treat the thread as attached (a `Python` token, immediate decrefs),
//! then the thread's own state for the sub-interpreter is made current, and the main
//! state again before the attach ends. The GIL-state API (`PyGILState_*`) knows only the
//! main interpreter, so each thread gets its own state per sub-interpreter here, created
//! on its first entry and kept (like the main interpreter's, `thread_state.rs`).
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::PyAnyMethods;
use pyo3::{Python, ffi};

use crate::linked::OWN_GIL_AVAILABLE;

/// Why a sub-interpreter could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SubInterpreterError {
    #[error("Python could not create a sub-interpreter: {0}")]
    Create(String),
}

/// A thread state pointer that may sit in a shared list (only ever used with the GIL of its
/// interpreter held, or after every thread has left it).
#[derive(Clone, Copy, PartialEq, Eq)]
struct StatePtr(*mut ffi::PyThreadState);
// SAFETY: the pointer is only dereferenced by CPython, under the rules above.
unsafe impl Send for StatePtr {}

thread_local! {
    /// This thread's state in each sub-interpreter it has entered.
    static THREAD_STATES: RefCell<Vec<(usize, StatePtr)>> = const { RefCell::new(Vec::new()) };
}

/// One sub-interpreter, kept for the life of the process (or until [`SubInterpreter::end`]).
pub struct SubInterpreter {
    interp: *mut ffi::PyInterpreterState,
    own_gil: bool,
    /// Every thread state made for it, so ending it can delete them first.
    states: Mutex<Vec<StatePtr>>,
    /// Threads running in it now.
    inside: AtomicUsize,
}

// SAFETY: the interpreter is only used through CPython calls made with the right thread
// state current and its GIL held; the struct itself is immutable but for the Mutex and
// atomic.
unsafe impl Send for SubInterpreter {}
// SAFETY: as for Send.
unsafe impl Sync for SubInterpreter {}

impl SubInterpreter {
    /// Creates a sub-interpreter (with its own GIL when `own_gil` and Python allows it),
    /// runs `init` in it, and returns with the main interpreter current again. `py` must
    /// be attached to the main interpreter.
    pub fn create(
        py: Python<'_>,
        own_gil: bool,
        init: impl FnOnce(Python<'_>),
    ) -> Result<SubInterpreter, SubInterpreterError> {
        let own_gil = own_gil && OWN_GIL_AVAILABLE;
        // SAFETY: `py` proves this thread holds the main interpreter's GIL with its state
        // current, which both creation functions require.
        let (main, created) = unsafe {
            let main = ffi::PyThreadState_Get();
            (main, new_interpreter(own_gil))
        };
        let created = created?;
        // SAFETY: `created` is the new interpreter's current thread state.
        let interp = unsafe { ffi::PyThreadState_GetInterpreter(created) };
        let sub = SubInterpreter {
            interp,
            own_gil,
            states: Mutex::new(vec![StatePtr(created)]),
            inside: AtomicUsize::new(1),
        };
        THREAD_STATES.with(|s| s.borrow_mut().push((interp as usize, StatePtr(created))));
        let back = Back {
            sub: &sub,
            main,
            own: created,
        };
        init(py);
        drop(back);
        Ok(sub)
    }

    /// Whether it has a GIL of its own.
    pub fn own_gil(&self) -> bool {
        self.own_gil
    }

    /// Runs `f` in this sub-interpreter on the calling thread. `py` must be attached to the
    /// main interpreter (with this thread's persistent state, `thread_state::with_gil`).
    pub fn enter<R>(&self, py: Python<'_>, f: impl FnOnce(Python<'_>) -> R) -> R {
        let own = self.thread_state();
        self.inside.fetch_add(1, Ordering::AcqRel);
        // SAFETY: the main interpreter's state is current and its GIL held (`py`); `own`
        // is this thread's state in this interpreter, not current anywhere else (it is
        // this thread's alone). With a shared GIL the swap keeps the one GIL; with its own
        // GIL, the main GIL is released before this interpreter's is taken.
        let main = unsafe { self.switch_to(own.0) };
        let _back = Back {
            sub: self,
            main,
            own: own.0,
        };
        f(py)
    }

    #[cfg(unix)]
    /// Runs `f` in this sub-interpreter from a short-lived thread that holds no Python
    /// thread state at all (not even the main interpreter's), on a temporary state deleted
    /// afterwards. The GIL is taken through this interpreter, so a thread busy in it is
    /// asked to let go: Python 3.11 and 3.12 ask only the waiting interpreter's threads.
    pub fn visit<R>(&self, f: impl FnOnce(Python<'_>) -> R) -> R {
        self.inside.fetch_add(1, Ordering::AcqRel);
        // SAFETY: the interpreter is alive (`inside` keeps `end` away); the new state is this
        // thread's first, so the GIL-state API takes it for this thread, and restoring it
        // takes this interpreter's GIL.
        unsafe { ffi::PyEval_RestoreThread(ffi::PyThreadState_New(self.interp)) };
        let _leave = Temporary { sub: self };
        // The state is current: this attach only counts, for pyo3.
        Python::attach(f)
    }

    /// Whether a thread state not made here (by a thread Python code started) exists.
    /// This interpreter's state is current on this thread.
    fn has_foreign_threads(&self, py: Python<'_>) -> bool {
        // Without a GIL the interpreter's other threads run while the list below is walked:
        // a thread Python started that is still alive is answer enough, and without one
        // nobody adds or deletes a state (a thread's own ends with it).
        if cfg!(Py_GIL_DISABLED) {
            let alive = py
                .import("_thread")
                .and_then(|t| t.call_method0("_count"))
                .and_then(|n| n.extract::<usize>());
            if alive.is_ok_and(|n| n > 0) {
                return true;
            }
        }
        let ours = lock(&self.states);
        // SAFETY: walks the interpreter's thread list with its GIL held (`end` made this
        // thread's state current): no thread of it runs, so none adds or deletes a state
        // (on a free-threaded build: no thread Python started is alive, see above).
        unsafe {
            let mut ts = ffi::PyInterpreterState_ThreadHead(self.interp);
            while !ts.is_null() {
                if !ours.contains(&StatePtr(ts)) {
                    return true;
                }
                ts = ffi::PyThreadState_Next(ts);
            }
        }
        false
    }

    /// This thread's state in this interpreter, created on first use.
    fn thread_state(&self) -> StatePtr {
        let key = self.interp as usize;
        THREAD_STATES.with(|s| {
            if let Some((_, ts)) = s.borrow().iter().find(|(k, _)| *k == key) {
                return *ts;
            }
            // SAFETY: the interpreter is alive (it is only ended once no thread is inside
            // and none can enter); a new state is not yet current anywhere.
            let ts = StatePtr(unsafe { ffi::PyThreadState_New(self.interp) });
            s.borrow_mut().push((key, ts));
            lock(&self.states).push(ts);
            ts
        })
    }

    /// Ends the interpreter (its `atexit` handlers run) if no thread is in it, after
    /// deleting every thread state made for it. `py` must be attached to the main
    /// interpreter, which no other thread can then enter this interpreter through. Returns
    /// false (and leaves it to the process's exit) when a thread is still inside.
    pub fn end(self, py: Python<'_>) -> Result<(), &'static str> {
        if self.inside.load(Ordering::Acquire) != 0 {
            std::mem::forget(self);
            return Err("a request is still running in it");
        }
        // This thread's own state ends it: `threading` takes the thread that imported it in
        // this interpreter (its creator) for the main thread, expects that thread's state
        // alive if it ends the interpreter, and otherwise waits for the state to be deleted.
        let own = self.thread_state();
        // SAFETY: the main GIL is held and no thread of ours is inside this interpreter, so
        // none of our states is current on another thread; this thread's is made current
        // (taking this interpreter's GIL when it has its own).
        let main = unsafe { self.switch_to(own.0) };
        // A thread the application started (a daemon thread still running) has a state of
        // its own here, and Py_EndInterpreter would abort the process ("not the last
        // thread"): such an interpreter is left to the process's exit.
        if self.has_foreign_threads(py) {
            // SAFETY: back to the main state, as `switch_to` left it.
            unsafe { self.switch_back(main) };
            std::mem::forget(self);
            return Err("a thread the application started is still running in it");
        }
        let states = std::mem::take(&mut *lock(&self.states));
        // SAFETY: this interpreter's GIL is held with `own` current; the other states are
        // ours and current nowhere: they are cleared and deleted, and Py_EndInterpreter is
        // called with `own` current, leaving no current state; the main state is then made
        // current again.
        unsafe {
            for ts in states.iter().filter(|s| **s != own) {
                ffi::PyThreadState_Clear(ts.0);
                ffi::PyThreadState_Delete(ts.0);
            }
            ffi::Py_EndInterpreter(own.0);
            if self.own_gil {
                ffi::PyEval_RestoreThread(main);
            } else {
                ffi::PyThreadState_Swap(main);
            }
        }
        let key = self.interp as usize;
        THREAD_STATES.with(|s| s.borrow_mut().retain(|(k, _)| *k != key));
        Ok(())
    }

    /// Makes `own` (this thread's state here) current, from the main state; returns the
    /// main state.
    ///
    /// # Safety
    /// The main interpreter's state is current with its GIL held, and `own` is this
    /// thread's state in this interpreter.
    unsafe fn switch_to(&self, own: *mut ffi::PyThreadState) -> *mut ffi::PyThreadState {
        // SAFETY: caller contract.
        unsafe {
            if self.own_gil {
                let main = ffi::PyEval_SaveThread();
                ffi::PyEval_RestoreThread(own);
                main
            } else {
                ffi::PyThreadState_Swap(own)
            }
        }
    }

    /// Undoes [`Self::switch_to`].
    ///
    /// # Safety
    /// This thread's state here is current, `main` is what `switch_to` returned.
    unsafe fn switch_back(&self, main: *mut ffi::PyThreadState) {
        // SAFETY: caller contract.
        unsafe {
            if self.own_gil {
                ffi::PyEval_SaveThread();
                ffi::PyEval_RestoreThread(main);
            } else {
                ffi::PyThreadState_Swap(main);
            }
        }
    }
}

/// Makes the main interpreter's state current again when dropped (also on unwinding, so a
/// panic never leaves pyo3's attach ending on a sub-interpreter's state).
struct Back<'a> {
    sub: &'a SubInterpreter,
    main: *mut ffi::PyThreadState,
    own: *mut ffi::PyThreadState,
}

impl Drop for Back<'_> {
    fn drop(&mut self) {
        // SAFETY: `own` is current on this thread (set by `enter`/`create`, and every
        // Python detach inside restores it before returning), `main` is this thread's
        // main-interpreter state that was current before.
        unsafe {
            if self.sub.own_gil {
                let own = ffi::PyEval_SaveThread();
                debug_assert_eq!(own, self.own);
                ffi::PyEval_RestoreThread(self.main);
            } else {
                let own = ffi::PyThreadState_Swap(self.main);
                debug_assert_eq!(own, self.own);
            }
        }
        self.sub.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(unix)]
/// Deletes a [`SubInterpreter::visit`]'s state, releasing the GIL.
struct Temporary<'a> {
    sub: &'a SubInterpreter,
}

#[cfg(unix)]
impl Drop for Temporary<'_> {
    fn drop(&mut self) {
        // SAFETY: the temporary state is current with this interpreter's GIL held;
        // DeleteCurrent deletes it and releases that GIL.
        unsafe {
            ffi::PyThreadState_Clear(ffi::PyThreadState_Get());
            ffi::PyThreadState_DeleteCurrent();
        }
        self.sub.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Creates the interpreter; on success its new thread state is current.
///
/// # Safety
/// The main interpreter's GIL must be held with this thread's state current.
unsafe fn new_interpreter(own_gil: bool) -> Result<*mut ffi::PyThreadState, SubInterpreterError> {
    #[cfg(Py_3_12)]
    if own_gil {
        // Isolated as PEP 684 requires (own object allocator, only multi-phase extension
        // modules), but threads, daemon threads and subprocesses stay allowed: web
        // applications use them. fork() stays refused, as in any isolated interpreter.
        let mut config = ffi::_PyInterpreterConfig_INIT;
        config.allow_threads = 1;
        config.allow_daemon_threads = 1;
        config.allow_exec = 1;
        let mut ts = std::ptr::null_mut();
        // SAFETY: caller contract; `config` outlives the call.
        let status = unsafe { ffi::Py_NewInterpreterFromConfig(&mut ts, &config) };
        // SAFETY: `status` was just returned.
        if unsafe { ffi::PyStatus_Exception(status) } != 0 {
            let message = if status.err_msg.is_null() {
                "unknown error".to_owned()
            } else {
                // SAFETY: a non-null err_msg is a static C string.
                unsafe { std::ffi::CStr::from_ptr(status.err_msg) }
                    .to_string_lossy()
                    .into_owned()
            };
            return Err(SubInterpreterError::Create(message));
        }
        return Ok(ts);
    }
    let _ = own_gil;
    // SAFETY: caller contract.
    let ts = unsafe { ffi::Py_NewInterpreter() };
    if ts.is_null() {
        // SAFETY: on failure the exception is set in the main interpreter, still current.
        unsafe { ffi::PyErr_Clear() };
        return Err(SubInterpreterError::Create(
            "Py_NewInterpreter failed".to_owned(),
        ));
    }
    Ok(ts)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An identity for the interpreter the thread runs in now (for keeping per-interpreter
/// records apart); stable for the interpreter's life.
pub fn current_interpreter(py: Python<'_>) -> usize {
    let _ = py;
    // SAFETY: the GIL is held (`py`), so the thread has a current interpreter.
    unsafe { ffi::PyInterpreterState_Get() as usize }
}
