//! Which interpreter runs each application group of this process (docs/internals.md,
//! "Which interpreter runs a group"): the main interpreter runs `%{GLOBAL}` when the
//! configuration uses it, else the first group the process serves; every other group gets
//! a sub-interpreter of its own, created on first use and kept for the life of the process.

use std::collections::HashMap;
use std::ffi::OsString;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use pyo3::prelude::*;

use super::context::{Api, Context, Setup};
use super::modules;
use super::shims::Shims;
use crate::python::subinterpreter::SubInterpreter;
use crate::python::traceback;

/// A sub-interpreter and its context. The context's objects belong to the interpreter:
/// they are dropped inside it ([`Interpreters::end_all`]) or never.
struct SubGroup {
    interp: SubInterpreter,
    context: ManuallyDrop<Context>,
}

enum Slot {
    /// A thread is creating the interpreter; others wait (without the GIL).
    Creating,
    Ready(Arc<SubGroup>),
}

/// The interpreters of this process, by application group.
pub struct Interpreters {
    setup: Setup,
    /// The process environment before any application ran: each sub-interpreter's
    /// `os.environ` starts from it, not from what other groups have set since.
    environ: Vec<(OsString, OsString)>,
    main: Context,
    /// The group the main interpreter runs.
    main_group: OnceLock<String>,
    /// The main interpreter is set up for its group (`<WSGIInterpreterOptions>` applied):
    /// requests wait for it, without the GIL, so none runs before.
    main_ready: AtomicBool,
    main_ready_lock: Mutex<()>,
    main_ready_cond: Condvar,
    subs: Mutex<HashMap<String, Slot>>,
    created: Condvar,
}

/// Marks the main interpreter ready for its group when dropped, and wakes the requests
/// waiting for it.
struct MainReady<'a>(&'a Interpreters);

impl Drop for MainReady<'_> {
    fn drop(&mut self) {
        let interpreters = self.0;
        let _guard = lock(&interpreters.main_ready_lock);
        interpreters.main_ready.store(true, Ordering::Release);
        interpreters.main_ready_cond.notify_all();
    }
}

/// `""` is how `%{GLOBAL}` reads in a message.
pub fn group_label(group: &str) -> String {
    if group.is_empty() {
        "%{GLOBAL}".to_owned()
    } else {
        format!("'{group}'")
    }
}

impl Interpreters {
    /// Takes the main interpreter (already set up, `main`). When `global_used`, it is kept
    /// for `%{GLOBAL}`; otherwise the first group served takes it.
    pub fn new(setup: Setup, main: Context, global_used: bool) -> Interpreters {
        let main_group = OnceLock::new();
        if global_used {
            let _ = main_group.set(String::new());
        }
        Interpreters {
            setup,
            environ: std::env::vars_os().collect(),
            main,
            main_ready: AtomicBool::new(global_used),
            main_group,
            main_ready_lock: Mutex::new(()),
            main_ready_cond: Condvar::new(),
            subs: Mutex::new(HashMap::new()),
            created: Condvar::new(),
        }
    }

    #[cfg(unix)]
    /// Whether a script this process loaded has changed since (see
    /// [`crate::python::app::Scripts::changed_since_loaded`]).
    pub fn script_changed(&self, path: &str, mtime_us: Option<i64>) -> bool {
        self.main.scripts.changed_since_loaded(path, mtime_us)
    }

    /// Runs `f` in the interpreter of `group` (creating it if needed), with that
    /// interpreter's context. `py` is attached to the main interpreter with this thread's
    /// persistent state. The error is the log line when no interpreter can run the group.
    pub fn run<R>(
        &self,
        py: Python<'_>,
        group: &str,
        script: &str,
        f: impl FnOnce(Python<'_>, &Context) -> R,
    ) -> Result<R, String> {
        if self.main_group_is(py, group, script) {
            return Ok(f(py, &self.main));
        }
        let sub = self.sub(py, group)?;
        Ok(sub.interp.enter(py, |py| f(py, &sub.context)))
    }

    /// Whether the main interpreter runs `group`; the first group asked for takes it, and
    /// sets the interpreter up for it before any request runs there.
    fn main_group_is(&self, py: Python<'_>, group: &str, script: &str) -> bool {
        // No Python inside get_or_init: a thread waiting there holds the GIL.
        let mut took = false;
        let owner = self.main_group.get_or_init(|| {
            took = true;
            group.to_owned()
        });
        if took {
            // Also on unwinding: waiting requests must not wait for ever.
            let _ready = MainReady(self);
            self.claim_main(py, group, script);
        } else if owner == group && !self.main_ready.load(Ordering::Acquire) {
            // Wait without the GIL: the claiming thread needs it to finish.
            py.detach(|| {
                let guard = lock(&self.main_ready_lock);
                let _unused = self
                    .main_ready_cond
                    .wait_while(guard, |_| !self.main_ready.load(Ordering::Acquire))
                    .unwrap_or_else(|e| e.into_inner());
            });
        }
        owner == group
    }

    /// The main interpreter learns the group it runs: `mod_wsgi.application_group`, and
    /// the group's `<WSGIInterpreterOptions>`.
    fn claim_main(&self, py: Python<'_>, group: &str, script: &str) {
        let named = py
            .import("mod_wsgi")
            .and_then(|m| m.setattr("application_group", group));
        if let Err(err) = named {
            traceback::log(py, "RW0104: cannot set mod_wsgi.application_group", &err);
        }
        let settings = &self.setup.settings;
        let process_group = &self.setup.process_group;
        let unscoped = settings.for_interpreter(process_group, None);
        let mut scoped = settings.for_interpreter(process_group, Some(group));
        if scoped.switch_interval != unscoped.switch_interval {
            // The main interpreter shares its GIL with the whole process: a group's own
            // interval would be everyone's.
            scoped.switch_interval = unscoped.switch_interval;
            py.detach(|| {
                tracing::warn!(
                    "RW0130: the WSGISwitchInterval of <WSGIInterpreterOptions> for application group {} is not applied: the group runs in the main interpreter, whose GIL the whole process shares",
                    group_label(group)
                )
            });
        }
        if scoped != unscoped {
            if let Err(err) = modules::configure(py, &scoped) {
                traceback::log(py, "RW0104: cannot apply <WSGIInterpreterOptions>", &err);
            }
        }
        if !group.is_empty() {
            py.detach(|| {
                tracing::debug!(
                    "application group {} ({script}) runs in the main interpreter",
                    group_label(group)
                )
            });
        }
    }

    /// The sub-interpreter of `group`, created on first use.
    fn sub(&self, py: Python<'_>, group: &str) -> Result<Arc<SubGroup>, String> {
        loop {
            let mut subs = lock(&self.subs);
            match subs.get(group) {
                Some(Slot::Ready(sub)) => return Ok(sub.clone()),
                Some(Slot::Creating) => {
                    drop(subs);
                    // Wait without the GIL: the creating thread needs it.
                    py.detach(|| {
                        let subs = lock(&self.subs);
                        let _unused = self
                            .created
                            .wait_while(subs, |s| matches!(s.get(group), Some(Slot::Creating)))
                            .unwrap_or_else(|e| e.into_inner());
                    });
                }
                None => {
                    subs.insert(group.to_owned(), Slot::Creating);
                    drop(subs);
                    // Also on unwinding: the slot must not stay `Creating` for ever.
                    let mut creating = Creating {
                        interpreters: self,
                        group,
                        made: None,
                    };
                    let made = self.create(py, group);
                    let result = made.map(Arc::new);
                    if let Ok(sub) = &result {
                        creating.made = Some(sub.clone());
                    }
                    drop(creating);
                    return result;
                }
            }
        }
    }

    fn create(&self, py: Python<'_>, group: &str) -> Result<SubGroup, String> {
        let label = group_label(group);
        let mut context = None;
        let mut failed = None;
        let own_gil = self
            .setup
            .settings
            .for_interpreter(&self.setup.process_group, Some(group))
            .per_interpreter_gil
            == Some(true);
        let interp = SubInterpreter::create(py, own_gil, |py| {
            let built = Shims::define(py)
                .and_then(|shims| Context::new(py, Api::Shim(shims), &self.setup))
                .and_then(|c| {
                modules::install(py, c.objects(py)?, &self.setup.info(), Some(group)).map(|()| c)
            })
            .and_then(|c| self.reset_environ(py).map(|()| c));
            match built {
                Ok(c) => context = Some(c),
                // Logged (and the error dropped) inside the interpreter it belongs to.
                Err(err) => {
                    traceback::log(
                        py,
                        &format!(
                            "RW0115: setting up the sub-interpreter of application group {label} failed"
                        ),
                        &err,
                    );
                    failed = Some(());
                }
            }
        })
        .map_err(|e| format!("RW0115: application group {label}: {e}"))?;
        match context {
            Some(context) if failed.is_none() => {
                py.detach(|| {
                    tracing::info!(
                        "RW0118: application group {label} runs in a new sub-interpreter{}",
                        if own_gil { " with its own GIL" } else { "" }
                    )
                });
                Ok(SubGroup {
                    interp,
                    context: ManuallyDrop::new(context),
                })
            }
            _ => {
                // Threads its set-up started may keep it alive: then it stays, unused.
                let _ = interp.end(py);
                Err(format!(
                    "RW0115: application group {label} has no interpreter (its set-up failed, traceback above)"
                ))
            }
        }
    }

    /// Gives the current (new) interpreter's `os.environ` the process environment as it
    /// was before any application ran. Only the mapping is replaced, without `putenv`:
    /// the C environment is the process's, shared by every interpreter.
    fn reset_environ(&self, py: Python<'_>) -> PyResult<()> {
        let environ = py.import("os")?.getattr("environ")?;
        let data = environ.getattr("_data")?;
        data.call_method0("clear")?;
        for (key, value) in &self.environ {
            data.set_item(
                environ.call_method1("encodekey", (key,))?,
                environ.call_method1("encodevalue", (value,))?,
            )?;
        }
        Ok(())
    }

    #[cfg(unix)]
    /// Runs `f` in the interpreter of `group` (with its context) from a short-lived thread
    /// that has never run Python (request-timeout's reporter): the GIL is taken through that
    /// interpreter, so a request busy in it is asked to let go.
    /// `None` when no interpreter runs the group yet.
    pub fn visit<R>(&self, group: &str, f: impl FnOnce(Python<'_>, &Context) -> R) -> Option<R> {
        if self.main_group.get().is_none_or(|o| o == group) {
            return Some(Python::attach(|py| f(py, &self.main)));
        }
        let sub = match lock(&self.subs).get(group) {
            Some(Slot::Ready(sub)) => sub.clone(),
            _ => return None,
        };
        Some(sub.interp.visit(|py| f(py, &sub.context)))
    }

    /// Runs `f` in every interpreter of the process, the main one first. `py` is attached
    /// to the main interpreter with this thread's persistent state.
    pub fn each(&self, py: Python<'_>, f: impl Fn(Python<'_>, &Context)) {
        f(py, &self.main);
        let subs: Vec<Arc<SubGroup>> = lock(&self.subs)
            .values()
            .filter_map(|slot| match slot {
                Slot::Ready(sub) => Some(sub.clone()),
                Slot::Creating => None,
            })
            .collect();
        for sub in subs {
            sub.interp.enter(py, |py| f(py, &sub.context));
        }
    }

    #[cfg(unix)]
    /// Whether sub-interpreters may get their own GIL (they then run in parallel with the
    /// thread that asks).
    pub fn own_gil(&self) -> bool {
        self.setup.own_gil
    }

    /// Ends every sub-interpreter no thread is in (their contexts dropped inside them
    /// first). `py` is attached to the main interpreter. The error says why the main
    /// interpreter must not be finalised after (Python refuses to with sub-interpreters
    /// left).
    pub fn end_all(&self, py: Python<'_>) -> Result<(), String> {
        let subs = std::mem::take(&mut *lock(&self.subs));
        let mut result = Ok(());
        let mut ended = false;
        for (group, slot) in subs {
            let Slot::Ready(sub) = slot else {
                continue;
            };
            let label = group_label(&group);
            match Arc::try_unwrap(sub) {
                Ok(SubGroup { interp, context }) => {
                    interp.enter(py, |_| drop(ManuallyDrop::into_inner(context)));
                    let own_gil = interp.own_gil();
                    match interp.end(py) {
                        Ok(()) => ended |= own_gil,
                        Err(why) => {
                            result = Err(format!(
                                "the sub-interpreter of application group {label} was not ended: {why}"
                            ));
                        }
                    }
                }
                Err(_) => {
                    result = Err(format!(
                        "the sub-interpreter of application group {label} was still in use"
                    ));
                }
            }
        }
        // CPython 3.12 can leave objects of an ended own-GIL interpreter in the main
        // interpreter's free lists, and its finalisation then frees them (a crash at
        // exit, python/cpython#112140); 3.13 does not.
        if ended && !cfg!(Py_3_13) {
            result = result.and(Err(
                "Python 3.12 cannot finalise after ending sub-interpreters with their own GIL \
                 (the main interpreter's atexit handlers did not run)"
                    .to_owned(),
            ));
        }
        result
    }
}

/// After the traceback of `err`, raised in the interpreter of `group`: when it is an
/// extension module refusing to load there, says which and how to run it (RW0119). In the
/// main interpreter that happens only when a sub-interpreter loaded the module first.
pub fn explain_refusal(py: Python<'_>, group: &str, in_sub: bool, err: &PyErr) {
    let Some(package) = traceback::refused_subinterpreter(py, err) else {
        return;
    };
    let package = package.map_or_else(|| "a C extension module".to_owned(), |p| format!("'{p}'"));
    let label = group_label(group);
    let why = if in_sub {
        format!(
            "{package} cannot be loaded in a sub-interpreter, and application group {label} \
             runs in one because its process also serves another group"
        )
    } else {
        format!(
            "{package} can be loaded in one interpreter per process only, and a sub-interpreter \
             of this process (another application group) loaded it before application group \
             {label}"
        )
    };
    py.detach(|| {
        tracing::error!(
            "RW0119: {why}. Run the applications that use it in the main interpreter: \
             WSGIApplicationGroup %{{GLOBAL}} (or application-group=%{{GLOBAL}}), or each in a \
             WSGIDaemonProcess group of its own (process-group=), where it is the only group"
        )
    });
}

/// Settles a group's `Creating` slot when dropped: `Ready`, or removed (the next request
/// tries again), and wakes the threads waiting for it.
struct Creating<'a> {
    interpreters: &'a Interpreters,
    group: &'a str,
    made: Option<Arc<SubGroup>>,
}

impl Drop for Creating<'_> {
    fn drop(&mut self) {
        let mut subs = lock(&self.interpreters.subs);
        match self.made.take() {
            Some(sub) => subs.insert(self.group.to_owned(), Slot::Ready(sub)),
            None => subs.remove(self.group),
        };
        drop(subs);
        self.interpreters.created.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
