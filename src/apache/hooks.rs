//! Hook registration and the trampolines Apache calls. Each one catches panics: a panic in a
//! request becomes a logged 500, in configuration a failed start-up with the message.

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::log::{Level, log_request, log_server};
use super::pool::Pool;
use super::request::Request;
use super::server::Server;
use super::{Impl, Module, status, sys};

struct NameList<const N: usize>([*const c_char; N]);
// SAFETY: only points at static C strings.
unsafe impl<const N: usize> Sync for NameList<N> {}

/// Our translate_name runs after mod_alias's, so an `Alias /static/ …` wins over
/// `WSGIScriptAlias / …` (Django's documented deployment), and before mod_userdir's and
/// mod_vhost_alias's: mod_wsgi's order.
static AFTER_ALIAS: NameList<2> = NameList([c"mod_alias.c".as_ptr(), std::ptr::null()]);
static BEFORE_USERDIR: NameList<3> = NameList([
    c"mod_userdir.c".as_ptr(),
    c"mod_vhost_alias.c".as_ptr(),
    std::ptr::null(),
]);
/// The access hook runs after mod_ssl's and before mod_authz_host's, as mod_wsgi's.
static AFTER_SSL: NameList<2> = NameList([c"mod_ssl.c".as_ptr(), std::ptr::null()]);
static BEFORE_AUTHZ_HOST: NameList<2> = NameList([c"mod_authz_host.c".as_ptr(), std::ptr::null()]);

pub(super) unsafe extern "C" fn register(p: *mut sys::apr_pool_t) {
    let middle = sys::APR_HOOK_MIDDLE as i32;
    // SAFETY: registering hook functions during register_hooks, as Apache requires.
    unsafe {
        sys::ap_hook_check_config(
            Some(check_config),
            std::ptr::null(),
            std::ptr::null(),
            middle,
        );
        sys::ap_hook_post_config(
            Some(post_config),
            std::ptr::null(),
            std::ptr::null(),
            middle,
        );
        // Last, so Apache's own pre_mpm hook has created the scoreboard.
        sys::ap_hook_pre_mpm(
            Some(pre_mpm),
            std::ptr::null(),
            std::ptr::null(),
            sys::APR_HOOK_REALLY_LAST as i32,
        );
        sys::ap_hook_child_init(Some(child_init), std::ptr::null(), std::ptr::null(), middle);
        sys::ap_hook_translate_name(
            Some(translate_name),
            AFTER_ALIAS.0.as_ptr(),
            BEFORE_USERDIR.0.as_ptr(),
            middle,
        );
        sys::ap_hook_handler(Some(handler), std::ptr::null(), std::ptr::null(), middle);
        // Per URI, not per configuration: a Python access script may decide on the URL, so
        // Apache must ask it again for an internal redirect or subrequest to another URL
        // under the same configuration (mod_wsgi registers it so too).
        sys::ap_hook_check_access(
            Some(access_checker),
            AFTER_SSL.0.as_ptr(),
            BEFORE_AUTHZ_HOST.0.as_ptr(),
            middle,
            sys::AP_AUTH_INTERNAL_PER_URI as i32,
        );
        super::auth::register(p);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

fn config_result(
    s: *mut sys::server_rec,
    stage: &str,
    r: std::thread::Result<Result<(), <Impl as Module>::HookError>>,
) -> i32 {
    // SAFETY: Apache passes the live main server.
    let server = unsafe { Server::from_raw(s) };
    let message = match r {
        Ok(Ok(())) => return status::OK,
        Ok(Err(error)) => error.to_string(),
        Err(panic) => format!(
            "RW0002: internal error in {stage}: {}",
            panic_message(&*panic)
        ),
    };
    log_server(server, Level::Crit, &message);
    sys::HTTP_INTERNAL_SERVER_ERROR as i32
}

unsafe extern "C" fn check_config(
    pconf: *mut sys::apr_pool_t,
    _plog: *mut sys::apr_pool_t,
    _ptemp: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
) -> i32 {
    let r = catch_unwind(|| {
        // SAFETY: live pool and server from Apache.
        let (Some(pool), Some(server)) = (unsafe { Pool::from_raw(pconf) }, unsafe {
            Server::from_raw(s)
        }) else {
            return Ok(());
        };
        Impl::check_config(pool, server)
    });
    config_result(s, "check_config", r)
}

unsafe extern "C" fn post_config(
    pconf: *mut sys::apr_pool_t,
    _plog: *mut sys::apr_pool_t,
    _ptemp: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
) -> i32 {
    let r = catch_unwind(|| {
        // SAFETY: live pool and server from Apache.
        let (Some(pool), Some(server)) = (unsafe { Pool::from_raw(pconf) }, unsafe {
            Server::from_raw(s)
        }) else {
            return Ok(());
        };
        Impl::post_config(pool, server)
    });
    config_result(s, "post_config", r)
}

unsafe extern "C" fn pre_mpm(_p: *mut sys::apr_pool_t, _sb_type: sys::ap_scoreboard_e) -> i32 {
    // SAFETY: ap_server_conf is the live main server while the MPM starts.
    let s = unsafe { sys::ap_server_conf };
    let r = catch_unwind(|| {
        // SAFETY: as above.
        let Some(server) = (unsafe { Server::from_raw(s) }) else {
            return Ok(());
        };
        Impl::pre_mpm(server)
    });
    config_result(s, "pre_mpm", r)
}

unsafe extern "C" fn child_init(pchild: *mut sys::apr_pool_t, s: *mut sys::server_rec) {
    let r = catch_unwind(|| {
        // SAFETY: live pool and server from Apache.
        if let (Some(pool), Some(server)) = (unsafe { Pool::from_raw(pchild) }, unsafe {
            Server::from_raw(s)
        }) {
            Impl::child_init(pool, server);
        }
    });
    if let Err(panic) = r {
        // SAFETY: as above.
        let server = unsafe { Server::from_raw(s) };
        log_server(
            server,
            Level::Crit,
            &format!(
                "RW0002: internal error in child_init: {}",
                panic_message(&*panic)
            ),
        );
    }
}

fn request_hook(r: *mut sys::request_rec, stage: &str, f: fn(&mut Request<'_>) -> i32) -> i32 {
    // SAFETY: Apache passes the live request being processed on this thread.
    let Some(mut req) = (unsafe { Request::from_raw(r) }) else {
        return status::DECLINED;
    };
    match catch_unwind(AssertUnwindSafe(|| f(&mut req))) {
        Ok(rc) => rc,
        Err(panic) => {
            log_request(
                &req,
                Level::Crit,
                &format!(
                    "RW0002: internal error in {stage}: {}",
                    panic_message(&*panic)
                ),
            );
            status::INTERNAL_SERVER_ERROR
        }
    }
}

unsafe extern "C" fn translate_name(r: *mut sys::request_rec) -> i32 {
    request_hook(r, "translate_name", Impl::translate_name)
}

unsafe extern "C" fn handler(r: *mut sys::request_rec) -> i32 {
    request_hook(r, "handler", Impl::handler)
}

unsafe extern "C" fn access_checker(r: *mut sys::request_rec) -> i32 {
    request_hook(r, "access_checker", Impl::access_checker)
}
