//! Process control for daemon mode: forking from the Apache parent, the process title,
//! and letting go of what a daemon must not keep (Apache's listening sockets).

use std::ffi::CStr;

use super::{Pool, sys};

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

/// Rewrites the command line `ps` shows (the kernel's argv area, in place, truncated to
/// its length) and the short name in `/proc/self/comm`.
pub fn set_title(title: &str) {
    let short: Vec<u8> = title.bytes().filter(|b| *b != 0).take(15).collect();
    let _ = nix::sys::prctl::set_name(&std::ffi::CString::new(short).unwrap_or_default());
    // Fields 48 and 49 of /proc/self/stat (after the parenthesised name) delimit argv.
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (Some(start), Some(end)) = (
        fields.get(45).and_then(|f| f.parse::<usize>().ok()),
        fields.get(46).and_then(|f| f.parse::<usize>().ok()),
    ) else {
        return;
    };
    if end <= start || end - start > 1 << 20 {
        return;
    }
    // SAFETY: the kernel reports [start, end) as this process's argv strings, which live
    // in writable memory for the whole life of the process and which no code reads once
    // Apache has parsed its command line.
    let area = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
    area.fill(0);
    let n = title.len().min(area.len().saturating_sub(1));
    area[..n].copy_from_slice(&title.as_bytes()[..n]);
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

/// `setpriority(PRIO_PROCESS, 0, nice)`; failures are logged, not fatal.
pub fn set_priority(nice: i32) {
    // SAFETY: plain syscall on this process.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        tracing::warn!(
            "RW0203: cpu-priority={nice}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Sets environment variables in a daemon process before it starts any thread.
pub fn set_env(vars: &[(&str, String)]) {
    for (k, v) in vars {
        // SAFETY: called while the daemon is still single-threaded (before Python and the
        // worker threads start), so nothing reads the environment concurrently.
        unsafe { std::env::set_var(k, v) };
    }
}

/// Reads from `fd` at `offset` (the file a `wsgi.file_wrapper` holds open for the call).
pub fn pread(fd: i32, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; a closed fd only makes pread fail.
    let n = unsafe {
        libc::pread(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            offset as libc::off_t,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Restores the default disposition of SIGCHLD (the supervisor waits for its daemons).
pub fn default_sigchld() {
    // SAFETY: installing SIG_DFL runs no handler code.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// Ends a forked process without running Apache's (the parent's) exit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(code) }
}
