//! `server_rec` (main server or virtual host) and process-wide queries (MPM, state).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::{Impl, Module, module, sys};

/// A borrowed `server_rec`.
#[derive(Clone, Copy)]
pub struct Server<'a> {
    raw: NonNull<sys::server_rec>,
    _life: PhantomData<&'a sys::server_rec>,
}

impl<'a> Server<'a> {
    /// # Safety
    /// `raw` must be a live `server_rec` for `'a`.
    pub unsafe fn from_raw(raw: *mut sys::server_rec) -> Option<Server<'a>> {
        NonNull::new(raw).map(|raw| Server {
            raw,
            _life: PhantomData,
        })
    }

    #[cfg(unix)]
    /// The main server (`ap_server_conf`), once the configuration has been read.
    pub fn main() -> Option<Server<'static>> {
        // SAFETY: ap_server_conf is NULL or the main server, which lives until the process
        // ends or the next configuration read; callers use it at once.
        unsafe { Server::from_raw(sys::ap_server_conf) }
    }

    pub(super) fn as_ptr(self) -> *mut sys::server_rec {
        self.raw.as_ptr()
    }

    fn rec(&self) -> &'a sys::server_rec {
        // SAFETY: the pointer is live for 'a (constructor contract).
        unsafe { self.raw.as_ref() }
    }

    /// This module's configuration for the server.
    pub fn config(&self) -> &'a <Impl as Module>::ServerConf {
        // SAFETY: our slot holds the ServerConf created (or merged) by Apache through the
        // module's callbacks; it lives as long as the configuration pool.
        unsafe {
            module::config_slot(self.rec().module_config)
                .cast::<<Impl as Module>::ServerConf>()
                .as_ref()
        }
        .expect("rwsgi server config missing")
    }

    /// The next server in Apache's list (the main server comes first, then each vhost).
    pub fn next(&self) -> Option<Server<'a>> {
        // SAFETY: `next` links live server_recs of the same configuration.
        unsafe { Server::from_raw(self.rec().next) }
    }

    #[cfg(unix)]
    /// Apache's `Timeout` for this server.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.rec().timeout.max(0) as u64)
    }

    pub fn is_virtual(&self) -> bool {
        self.rec().is_virtual != 0
    }

    pub fn admin(&self) -> String {
        cstr(self.rec().server_admin)
    }

    /// `ServerName` (as Apache settled it; not a request's Host header).
    pub fn hostname(&self) -> String {
        cstr(self.rec().server_hostname)
    }

    /// The uid/gid Apache children run as (`User`/`Group`, from mod_unixd).
    #[cfg(unix)]
    pub fn unixd_user() -> (u32, u32, String) {
        // ap_unixd_config is a static of the httpd binary, filled while reading the
        // configuration and only read afterwards.
        let cfg = &raw const sys::ap_unixd_config;
        // SAFETY: as above; only plain fields are read.
        let (uid, gid, name) = unsafe { ((*cfg).user_id, (*cfg).group_id, (*cfg).user_name) };
        (uid, gid, cstr(name))
    }
}

fn cstr(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: callers pass NUL-terminated strings owned by the configuration.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The Apache process state (`ap_state_query`).
pub mod server_state {
    use super::sys;

    /// True during the first, throw-away configuration pass at start-up.
    pub fn is_pre_config_pass() -> bool {
        // SAFETY: ap_state_query only reads process globals.
        let state = unsafe { sys::ap_state_query(sys::AP_SQ_MAIN_STATE as i32) };
        state == sys::AP_SQ_MS_CREATE_PRE_CONFIG as i32
    }
}

/// What the running MPM looks like, for `wsgi.multithread` / `wsgi.multiprocess`.
#[derive(Clone, Copy, Debug)]
pub struct Mpm {
    pub threaded: bool,
    pub max_threads: i32,
    pub max_daemons: i32,
}

impl Mpm {
    pub fn query() -> Mpm {
        let q = |what: u32| {
            let mut v: i32 = 0;
            // SAFETY: ap_mpm_query writes one int for these queries.
            let rv = unsafe { sys::ap_mpm_query(what as i32, &mut v) };
            if rv == sys::APR_SUCCESS as i32 { v } else { 0 }
        };
        Mpm {
            threaded: q(sys::AP_MPMQ_IS_THREADED) != sys::AP_MPMQ_NOT_SUPPORTED as i32
                && q(sys::AP_MPMQ_IS_THREADED) != 0,
            max_threads: q(sys::AP_MPMQ_MAX_THREADS),
            max_daemons: q(sys::AP_MPMQ_MAX_DAEMONS),
        }
    }

    #[cfg(unix)]
    /// Whether the MPM is stopping (a restart or stop under way), as this process sees it.
    pub fn stopping() -> bool {
        let mut state: i32 = 0;
        // SAFETY: ap_mpm_query writes one int for this query.
        let rv = unsafe { sys::ap_mpm_query(sys::AP_MPMQ_MPM_STATE as i32, &mut state) };
        rv == sys::APR_SUCCESS as i32 && state == sys::AP_MPMQ_STOPPING as i32
    }

    /// Apache's own version as (major, minor, patch).
    pub fn apache_version() -> (u32, u32, u32) {
        (
            sys::AP_SERVER_MAJORVERSION_NUMBER,
            sys::AP_SERVER_MINORVERSION_NUMBER,
            sys::AP_SERVER_PATCHLEVEL_NUMBER,
        )
    }

    /// `ServerTokens`-shaped banner, e.g. `Apache/2.4.71 (Debian)`.
    pub fn server_banner() -> String {
        // SAFETY: returns a static string owned by httpd.
        cstr(unsafe { sys::ap_get_server_banner() })
    }

    /// Adds `component` (e.g. `rwsgi/0.1.0`) to the Server header.
    pub fn add_version_component(pconf: super::Pool, component: &str) {
        let c = pconf.strdup(component);
        // SAFETY: `c` lives in pconf, which Apache requires for version components.
        unsafe { sys::ap_add_version_component(pconf.as_ptr(), c) }
    }
}
