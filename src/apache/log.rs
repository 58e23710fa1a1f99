//! Writes into Apache's error log (`ap_log_error_` / `ap_log_rerror_`), always with a `"%s"`
//! format so user text is never interpreted as one.

use std::ffi::CString;

use super::{module, sys};

/// The levels the runtime logs at, which are Apache's.
pub use rwsgi_runtime::log::Level;

/// `level` as Apache's `APLOG_*` number.
fn raw(level: Level) -> i32 {
    i32::from(level.aplog())
}

/// The arguments of the main server's `ErrorLogFormat` as written (the last one at the top
/// level of the configuration, where Apache has spliced the `Include`d files and the
/// `<IfModule>`/`<IfDefine>` sections that hold), for a process that formats its own
/// lines (an exec'd daemon).
#[cfg(unix)]
pub fn main_error_log_format_args() -> Option<String> {
    let mut found = None;
    // SAFETY: ap_conftree is this generation's configuration tree, built while reading the
    // configuration and only read afterwards; its nodes and strings live in pconf.
    let mut node = unsafe { sys::ap_conftree };
    while !node.is_null() {
        // SAFETY: a non-NULL node of the tree (see above).
        let n = unsafe { &*node };
        if !n.directive.is_null() && !n.args.is_null() {
            // SAFETY: directive names and arguments are NUL-terminated pool strings.
            let name = unsafe { std::ffi::CStr::from_ptr(n.directive) };
            if name.to_bytes().eq_ignore_ascii_case(b"ErrorLogFormat") {
                // SAFETY: as above.
                let args = unsafe { std::ffi::CStr::from_ptr(n.args) };
                found = Some(args.to_string_lossy().into_owned());
            }
        }
        node = n.next;
    }
    found
}

/// The main server's `ErrorLog` as Apache keeps it (`error_fname`: a path, `|program` or
/// `syslog[:facility[:tag]]`) and Apache's `argv[0]`, syslog's default tag.
#[cfg(unix)]
pub fn main_error_log() -> (String, String) {
    let read = |p: *const std::ffi::c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated string of the configuration pool or of argv.
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        }
    };
    // SAFETY: ap_server_conf and ap_server_argv0 are set while the configuration is read
    // and only read afterwards.
    let (server, argv0) = unsafe { (sys::ap_server_conf, sys::ap_server_argv0) };
    let fname = if server.is_null() {
        String::new()
    } else {
        // SAFETY: a non-NULL ap_server_conf is the live main server.
        read(unsafe { (*server).error_fname })
    };
    (fname, read(argv0))
}

/// The main server's `LogLevel` for this module (`LogLevel wsgi:…` over the plain one), as
/// Apache numbers it: what a process writing the error log itself keeps (an exec'd daemon).
#[cfg(unix)]
pub fn main_log_level() -> u8 {
    // SAFETY: ap_server_conf is set once the configuration is read and not changed while
    // this process runs; the module_levels array has an entry per loaded module.
    let level = unsafe {
        let s = sys::ap_server_conf;
        if s.is_null() {
            return Level::Warning.aplog();
        }
        let log = &(*s).log;
        let index = module::module_index();
        if log.module_levels.is_null() || index < 0 || *log.module_levels.add(index as usize) < 0 {
            log.level
        } else {
            i32::from(*log.module_levels.add(index as usize))
        }
    };
    level.clamp(0, 15) as u8
}

fn c_message(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

/// Logs against a server (`NULL` = the main server / startup log).
pub fn log_server(server: Option<super::Server<'_>>, level: Level, msg: &str) {
    let msg = c_message(msg);
    // Without a server Apache applies its compiled-in default level (warn) and drops info
    // lines: fall back to the main server, whose LogLevel the user set.
    // SAFETY: ap_server_conf is set once the configuration is read, and only read here.
    let s = server.map_or_else(|| unsafe { sys::ap_server_conf }, |s| s.as_ptr());
    // SAFETY: "%s" consumes exactly one C string argument; `s` is NULL or a live server_rec.
    unsafe {
        sys::ap_log_error_(
            c"mod_rwsgi".as_ptr(),
            0,
            module::module_index(),
            raw(level),
            0,
            s,
            c"%s".as_ptr(),
            msg.as_ptr(),
        )
    }
}

/// Logs against a request: Apache adds the client address and uses the vhost's ErrorLog.
///
/// # Safety
/// `r` must be a live `request_rec` used from the thread that is processing it.
pub unsafe fn log_request_raw(r: *const sys::request_rec, level: Level, msg: &str) {
    let msg = c_message(msg);
    // SAFETY: "%s" consumes one C string; caller guarantees `r`.
    unsafe {
        sys::ap_log_rerror_(
            c"mod_rwsgi".as_ptr(),
            0,
            module::module_index(),
            raw(level),
            0,
            r,
            c"%s".as_ptr(),
            msg.as_ptr(),
        )
    }
}

/// Logs against a request being handled on this thread.
pub fn log_request(r: &super::Request<'_>, level: Level, msg: &str) {
    // SAFETY: a `Request` is a live request_rec borrowed on its own thread.
    unsafe { log_request_raw(r.as_ptr(), level, msg) }
}

thread_local! {
    /// The request this thread is processing, so log lines written without a handle to it
    /// (Python's print(), tracing events) still carry its client address and vhost log.
    static CURRENT: std::cell::Cell<*const sys::request_rec> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Marks a request as this thread's log context until dropped.
pub struct RequestLogContext {
    previous: *const sys::request_rec,
}

impl RequestLogContext {
    pub fn enter(r: &super::Request<'_>) -> RequestLogContext {
        let previous = CURRENT.with(|c| c.replace(r.as_ptr()));
        RequestLogContext { previous }
    }
}

impl Drop for RequestLogContext {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Logs against this thread's current request if there is one, else the main server.
pub fn log_current(level: Level, msg: &str) {
    let r = CURRENT.with(|c| c.get());
    if r.is_null() {
        log_server(None, level, msg);
    } else {
        // SAFETY: CURRENT is only set by RequestLogContext, which lives inside the handler
        // call on this thread, while the request is live.
        unsafe { log_request_raw(r, level, msg) }
    }
}
