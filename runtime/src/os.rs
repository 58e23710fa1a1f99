//! The runtime's own fence: the libc calls a server process makes on itself that nix does
//! not wrap safely (identity queries for the permission checks, the process title, the
//! environment before threads start, `pread` on a passed descriptor, `_exit`, and the
//! descriptor moves before an exec). Unix only.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use rwsgi_core::errorlog_format::LocalTime;

/// Is this process running as root (the Apache parent usually is)?
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The groups `user` belongs to (primary `gid` first), as `initgroups` would set them.
pub fn groups_of(user: &str, gid: u32) -> Vec<u32> {
    let Ok(name) = CString::new(user) else {
        return vec![gid];
    };
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: the buffer holds `n` gids; getgrouplist writes at most that many.
    let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return vec![gid];
    }
    groups.truncate(n.max(0) as usize);
    groups
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

/// Ends a forked process without running Apache's (the parent's) exit handlers.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(code) }
}

/// Places each `(fd, target)` at descriptor number `target`, kept across an exec. Every
/// source is first copied above all targets, so no move overwrites a source still to come.
pub fn place_fds(moves: &[(RawFd, RawFd)]) -> std::io::Result<()> {
    let above = moves.iter().map(|m| m.1).max().unwrap_or(0) + 1;
    let mut copies = Vec::with_capacity(moves.len());
    for (fd, _) in moves {
        // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor; it closes on exec if left over.
        let copy = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, above) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error());
        }
        copies.push(copy);
    }
    for (copy, (_, target)) in copies.into_iter().zip(moves) {
        // SAFETY: dup2 only changes this process's descriptor table; the caller is about
        // to exec and holds no Rust value that uses the number `target`. The new
        // descriptor has no close-on-exec flag.
        if unsafe { libc::dup2(copy, *target) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The descriptor number `fd` this process inherited, if it is open: taken as owned once.
pub fn take_inherited(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_SETFD on a descriptor number: it fails if the number is not open, and
    // otherwise keeps it from the application's own child processes.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return None;
    }
    // SAFETY: the exec'd daemon's fixed descriptors were placed for it by the process that
    // exec'd it, and nothing else in this process claims them: taking each once owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes every descriptor from `first` up, before an exec: the new program gets only
/// what was placed below it on purpose.
pub fn close_from(first: RawFd) {
    // SAFETY: called just before exec in a single-threaded child; no Rust value there uses
    // a descriptor at or above `first` afterwards.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if rc != 0 {
        // Kernels before 5.9: one by one, as far as the limit goes.
        let max = nix::unistd::sysconf(nix::unistd::SysconfVar::OPEN_MAX)
            .ok()
            .flatten()
            .unwrap_or(1024)
            .min(1 << 16) as i32;
        for fd in first..max {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
        }
    }
}

/// Now, in local time, broken down (for the error log's `%t`).
pub fn local_time() -> LocalTime {
    let (tm, now) = local_tm();
    LocalTime {
        year: tm.tm_year + 1900,
        month: tm.tm_mon.clamp(0, 11) as u32,
        day: tm.tm_mday.max(0) as u32,
        weekday: tm.tm_wday.clamp(0, 6) as u32,
        hour: tm.tm_hour.max(0) as u32,
        minute: tm.tm_min.max(0) as u32,
        second: tm.tm_sec.max(0) as u32,
        microsecond: now.subsec_micros(),
        utc_offset: tm.tm_gmtoff,
    }
}

/// Now, formatted by `strftime(format)` (`%{format}t` of an `ErrorLogFormat`).
pub fn strftime_now(format: &str) -> String {
    let (tm, _) = local_tm();
    let Ok(format) = CString::new(format) else {
        return String::new();
    };
    let mut buf = [0u8; 256];
    // SAFETY: `buf` holds `buf.len()` bytes, which strftime does not pass; `format` is a
    // NUL-terminated string and `tm` a filled-in local.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn local_tm() -> (libc::tm, std::time::Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: an all-zero tm is a valid value for localtime_r to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; localtime_r is the thread-safe form, and
    // on failure leaves the zeroed value.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    (tm, now)
}

/// Makes `command` run as `uid`/`gid` with the supplementary `groups`, as a daemon that
/// dropped privileges does (std's `uid()` would leave it no supplementary group).
pub fn run_as(command: &mut std::process::Command, uid: u32, gid: u32, groups: Vec<u32>) {
    use std::os::unix::process::CommandExt;
    let groups: Vec<libc::gid_t> = groups;
    // SAFETY: the closure runs in the forked child before exec and makes only the
    // async-signal-safe setgroups, setgid and setuid calls, on memory allocated before the
    // fork (`groups` is moved in).
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `openlog(tag, LOG_NDELAY | LOG_CONS | LOG_PID, facility)`, as Apache opens its syslog
/// error log. Once per process: syslog keeps the tag's address.
pub fn open_syslog(tag: &str, facility: i32) {
    let tag: &'static CString = Box::leak(Box::new(CString::new(tag).unwrap_or_default()));
    let options = libc::LOG_NDELAY | libc::LOG_CONS | libc::LOG_PID;
    // SAFETY: `tag` lives for the rest of the process, as openlog requires.
    unsafe { libc::openlog(tag.as_ptr(), options, facility) };
}

/// One line to syslog at `priority` (Apache's level numbers are syslog's).
pub fn syslog(priority: i32, line: &str) {
    let line = CString::new(line.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: "%s" consumes exactly the one C string passed.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), line.as_ptr()) };
}
