//! Apache's authentication and authorisation providers (`mod_auth.h`): the `wsgi` authn
//! provider (`AuthBasicProvider wsgi`, `AuthDigestProvider wsgi`) and the `wsgi-group` authz
//! provider (`Require wsgi-group …`), registered for the module's `auth` hooks.

use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::log::{Level, log_request};
use super::request::Request;
use super::{Impl, Module, sys};

/// What an authn provider answers for a user and password.
pub enum Authn {
    Granted,
    Denied,
    UserNotFound,
    Error,
}

/// What an authn provider answers for Digest: the MD5 hex of `user:realm:password`.
pub enum RealmHash {
    Found(String),
    UserNotFound,
    Error,
}

/// What an authz provider answers for a `Require` line.
pub enum Authz {
    Granted,
    Denied,
    DeniedNoUser,
    Error,
}

static AUTHN: sys::authn_provider = sys::authn_provider {
    check_password: Some(check_password),
    get_realm_hash: Some(get_realm_hash),
};

static AUTHZ: sys::authz_provider = sys::authz_provider {
    check_authorization: Some(check_authorization),
    parse_require_line: None,
};

/// Registers both providers (from `register_hooks`).
///
/// # Safety
/// `p` is the pool Apache passes to `register_hooks`.
pub(super) unsafe fn register(p: *mut sys::apr_pool_t) {
    // Per URI, as the access hook (hooks.rs): the Python behind them may decide on the URL.
    let per_uri = sys::AP_AUTH_INTERNAL_PER_URI as i32;
    // SAFETY: static provider structs and C strings, registered during register_hooks.
    unsafe {
        sys::ap_register_auth_provider(
            p,
            c"authn".as_ptr(),
            c"wsgi".as_ptr(),
            c"0".as_ptr(),
            (&raw const AUTHN).cast::<c_void>(),
            per_uri,
        );
        sys::ap_register_auth_provider(
            p,
            c"authz".as_ptr(),
            c"wsgi-group".as_ptr(),
            c"0".as_ptr(),
            (&raw const AUTHZ).cast::<c_void>(),
            per_uri,
        );
    }
}

fn arg<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: Apache passes NUL-terminated strings that live for the request.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// Runs `f` on the request, a panic being logged and answered with `failed`.
fn provider<R>(
    r: *mut sys::request_rec,
    stage: &str,
    failed: R,
    f: impl FnOnce(&mut Request<'_>) -> R,
) -> R {
    // SAFETY: Apache passes the live request being processed on this thread.
    let Some(mut req) = (unsafe { Request::from_raw(r) }) else {
        return failed;
    };
    match catch_unwind(AssertUnwindSafe(|| f(&mut req))) {
        Ok(answer) => answer,
        Err(_) => {
            log_request(
                &req,
                Level::Crit,
                &format!("RW0002: internal error in the {stage}"),
            );
            failed
        }
    }
}

unsafe extern "C" fn check_password(
    r: *mut sys::request_rec,
    user: *const c_char,
    password: *const c_char,
) -> sys::authn_status {
    let answer = provider(r, "wsgi authn provider", Authn::Error, |req| {
        Impl::check_password(req, arg(user), arg(password))
    });
    match answer {
        Authn::Granted => sys::AUTH_GRANTED,
        Authn::Denied => sys::AUTH_DENIED,
        Authn::UserNotFound => sys::AUTH_USER_NOT_FOUND,
        Authn::Error => sys::AUTH_GENERAL_ERROR,
    }
}

unsafe extern "C" fn get_realm_hash(
    r: *mut sys::request_rec,
    user: *const c_char,
    realm: *const c_char,
    rethash: *mut *mut c_char,
) -> sys::authn_status {
    let answer = provider(r, "wsgi authn provider", RealmHash::Error, |req| {
        let answer = Impl::get_realm_hash(req, arg(user), arg(realm));
        if let RealmHash::Found(hash) = &answer {
            // SAFETY: Apache passes where to store the hash; a request-pool copy lives as
            // long as the request.
            unsafe { *rethash = req.pool().strdup_bytes(hash.as_bytes()).cast_mut() };
        }
        answer
    });
    match answer {
        RealmHash::Found(_) => sys::AUTH_USER_FOUND,
        RealmHash::UserNotFound => sys::AUTH_USER_NOT_FOUND,
        RealmHash::Error => sys::AUTH_GENERAL_ERROR,
    }
}

unsafe extern "C" fn check_authorization(
    r: *mut sys::request_rec,
    require_line: *const c_char,
    _parsed: *const c_void,
) -> sys::authz_status {
    let answer = provider(r, "wsgi-group authz provider", Authz::Error, |req| {
        Impl::check_authorization(req, arg(require_line))
    });
    match answer {
        Authz::Granted => sys::AUTHZ_GRANTED,
        Authz::Denied => sys::AUTHZ_DENIED,
        Authz::DeniedNoUser => sys::AUTHZ_DENIED_NO_USER,
        Authz::Error => sys::AUTHZ_GENERAL_ERROR,
    }
}
