//! Process control for daemon mode: forking from the Apache parent, the process title,
//! and letting go of what a daemon must not keep (Apache's listening sockets).

use std::ffi::CStr;

use super::{Pool, Server, sys};

/// Which side of a fork this is.
pub enum Forked {
    Child,
    Parent(i32),
}

/// Forks this process.
///
/// Only for a single-threaded caller (the Apache parent in `post_config`, or the daemon
/// supervisor): the child then holds no lock another thread owned.
pub fn fork() -> std::io::Result<Forked> {
    // SAFETY: callers are single-threaded (see above), so the child's copy of the address
    // space is consistent; the child only runs Rust code that ends in `_exit`.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Closes Apache's listening sockets in a forked process that must never accept clients.
pub fn close_apache_listeners() {
    // SAFETY: closes the listener fds recorded in ap_listeners; safe to call in a fork.
    unsafe { sys::ap_close_listeners() }
}

/// `DefaultRuntimeDir`-relative path (Apache's run directory).
pub fn runtime_dir_relative(pool: Pool, name: &str) -> Option<String> {
    let c = pool.strdup(name);
    // SAFETY: `c` is a pool string; the result is a pool string or NULL.
    let out = unsafe { sys::ap_runtime_dir_relative(pool.as_ptr(), c) };
    (!out.is_null()).then(|| {
        // SAFETY: non-NULL results are NUL-terminated pool strings.
        unsafe { CStr::from_ptr(out) }
            .to_string_lossy()
            .into_owned()
    })
}

/// Apache's configuration generation: 0 at start-up, one more after each restart.
pub fn config_generation() -> i32 {
    // SAFETY: ap_state_query only reads process globals.
    unsafe { sys::ap_state_query(sys::AP_SQ_CONFIG_GEN as i32) }
}

extern "C" fn wake_parent(_: std::ffi::c_int) {}

/// In a process forked from the Apache parent: takes back `wake_parent_on_child_exit`'s
/// handler, so blocking calls there are not interrupted by their own children's exits.
pub fn forget_parent_sigchld() {
    // SAFETY: reads the disposition, and installs SIG_DFL (no handler code) over ours only.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction
                == wake_parent as extern "C" fn(std::ffi::c_int) as libc::sighandler_t
        {
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        }
    }
}

/// Restores the default disposition of SIGCHLD (the supervisor waits for its daemons).
pub fn default_sigchld() {
    // SAFETY: installing SIG_DFL runs no handler code.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// What the parent does when an other child (below) dies: called with its wait status.
pub type OnDeath = Box<dyn FnOnce(i32)>;

/// An other child's record: APR keeps a pointer to `proc_` and uses the record's address as
/// its key.
struct OtherChild {
    proc_: sys::apr_proc_t,
    on_death: Option<OnDeath>,
}

/// Tells APR that `pid`, a child of the Apache parent that is not one of the MPM's, is
/// ours: the MPM then reaps it quietly instead of logging AH00291 ("long lost child came
/// home!") when it exits, and `on_death` runs in the parent's loop when it dies.
/// Registered in the process pool, which outlives restarts (a supervisor drains after the
/// restart that replaced it). Parent only.
pub fn register_other_child(server: Server<'_>, pid: i32, on_death: Option<OnDeath>) {
    /// APR calls this from the MPM's wait loop: on the child's death (or if it was lost),
    /// the record is removed, and removal frees it.
    unsafe extern "C" fn maintenance(
        reason: std::ffi::c_int,
        data: *mut std::ffi::c_void,
        status: std::ffi::c_int,
    ) {
        let reason = reason as u32;
        if reason == sys::APR_OC_REASON_DEATH || reason == sys::APR_OC_REASON_LOST {
            // SAFETY: `data` is the live record this callback was registered with.
            let on_death = unsafe { (*data.cast::<OtherChild>()).on_death.take() };
            // SAFETY: `data` is the record's key; unregistering calls back with
            // APR_OC_REASON_UNREGISTER, which frees the record (below).
            unsafe { sys::apr_proc_other_child_unregister(data) };
            if let (Some(f), true) = (on_death, reason == sys::APR_OC_REASON_DEATH) {
                // Never unwind into APR.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(status)));
            }
        } else if reason == sys::APR_OC_REASON_UNREGISTER {
            // SAFETY: `data` came from Box::into_raw in register_other_child, and APR
            // calls UNREGISTER once, as it drops the record.
            drop(unsafe { Box::from_raw(data.cast::<OtherChild>()) });
        }
    }
    // SAFETY: an all-zero apr_proc_t is valid (pid 0, no pipes); only `pid` is read.
    let mut proc_: sys::apr_proc_t = unsafe { std::mem::zeroed() };
    proc_.pid = pid;
    let record = Box::into_raw(Box::new(OtherChild { proc_, on_death }));
    // SAFETY: `server` is live, and its process record and pool exist for the whole run.
    let pool = unsafe { (*(*server.as_ptr()).process).pool };
    // SAFETY: the record (and `proc_` in it) stays valid until APR drops it (maintenance
    // frees it then); its address is the key. The parent is single-threaded.
    unsafe {
        sys::apr_proc_other_child_register(
            &mut (*record).proc_,
            Some(maintenance),
            record.cast(),
            std::ptr::null_mut(),
            pool,
        )
    };
}

/// A no-op SIGCHLD handler for the Apache parent: the MPM's maintenance loop sleeps a whole
/// second between looks at its children, and after a graceful restart it starts the new
/// generation's children only as old ones are reaped, or once a second passes with none.
/// Interrupted by a child's exit, it reacts at once: new connections wait milliseconds
/// for the new children instead of up to a second. Installed only over the default
/// disposition; Apache's children get the default back (`forget_parent_sigchld`).
/// Whether the handler is in place.
pub fn wake_parent_on_child_exit() -> bool {
    let ours = wake_parent as extern "C" fn(std::ffi::c_int) as libc::sighandler_t;
    // SAFETY: a zeroed sigaction with an empty mask is valid; `wake_parent` is
    // async-signal-safe (it does nothing). Without SA_RESTART the MPM's sleep is
    // interrupted, which its loop treats as a timeout.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut current) != 0 {
            return false;
        }
        if current.sa_sigaction == ours {
            return true;
        }
        if current.sa_sigaction != libc::SIG_DFL {
            return false;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ours;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = libc::SA_NOCLDSTOP;
        libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut()) == 0
    }
}

/// After a restart: when the old children are slow to exit (embedded mode finalises
/// Python), no child's exit wakes the parent's loop, which then waits its second before
/// starting the new children. A short-lived child of the parent wakes it every 50 ms for
/// a second instead (the parent's first wake-up starts the new children). Needs
/// `wake_parent_on_child_exit`'s handler. Parent only, in post_config.
pub fn wake_parent_soon(server: Server<'_>) {
    match fork() {
        Ok(Forked::Child) => {
            close_apache_listeners();
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
            let parent = nix::unistd::getppid();
            for _ in 0..20 {
                std::thread::sleep(std::time::Duration::from_millis(50));
                // SAFETY: a plain syscall; the parent's SIGCHLD handler does nothing.
                if unsafe { libc::kill(parent.as_raw(), libc::SIGCHLD) } != 0 {
                    break;
                }
            }
            rwsgi_runtime::os::exit_now(0)
        }
        Ok(Forked::Parent(pid)) => register_other_child(server, pid, None),
        Err(e) => tracing::debug!("cannot fork the restart waker: {e}"),
    }
}
