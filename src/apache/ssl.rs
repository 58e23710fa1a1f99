//! mod_ssl's view of a request (`ap_ssl_conn_is_ssl`, `ap_ssl_var_lookup`), for the
//! `mod_ssl.is_https()` and `mod_ssl.var_lookup(name)` callables of embedded environs.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::thread::ThreadId;

use super::request::Request;
use super::sys;

/// A request's SSL variables. It may travel into Python objects, but answers only on the
/// thread that handles the request, and its owner revokes it (drops it) before the request
/// ends.
pub struct SslVars {
    raw: NonNull<sys::request_rec>,
    thread: ThreadId,
}

// SAFETY: the pointer is only dereferenced on the request's own thread (checked in every
// method), while the request lives (the owner drops this before the request ends).
unsafe impl Send for SslVars {}

/// Why a lookup was not made.
#[derive(Debug, thiserror::Error)]
pub enum SslVarsError {
    #[error("mod_ssl's variables can only be read on the thread handling the request")]
    OtherThread,
    #[error("the variable name contains a NUL byte")]
    Nul,
}

impl SslVars {
    /// The request's SSL variables when mod_ssl is loaded.
    pub fn of(r: &Request<'_>) -> Option<SslVars> {
        // The loaded modules are fixed once a child serves: look once, not per request.
        static MOD_SSL: OnceLock<bool> = OnceLock::new();
        let loaded = *MOD_SSL.get_or_init(|| {
            // SAFETY: looks up a module by its static name.
            let module = unsafe { sys::ap_find_linked_module(c"mod_ssl.c".as_ptr()) };
            !module.is_null()
        });
        if !loaded {
            return None;
        }
        Some(SslVars {
            raw: NonNull::new(r.as_ptr())?,
            thread: std::thread::current().id(),
        })
    }

    fn check(&self) -> Result<&sys::request_rec, SslVarsError> {
        if std::thread::current().id() != self.thread {
            return Err(SslVarsError::OtherThread);
        }
        // SAFETY: on the request's thread while the request lives (see the type).
        Ok(unsafe { self.raw.as_ref() })
    }

    /// Whether the request came over SSL/TLS.
    pub fn is_https(&self) -> Result<bool, SslVarsError> {
        let r = self.check()?;
        // SAFETY: a live connection of the live request.
        Ok(unsafe { sys::ap_ssl_conn_is_ssl(r.connection) } != 0)
    }

    /// An SSL variable (`HTTPS`, `SSL_PROTOCOL`, `SSL_CLIENT_S_DN`, …), or `None`.
    pub fn lookup(&self, name: &str) -> Result<Option<String>, SslVarsError> {
        let r = self.check()?;
        let name = CString::new(name).map_err(|_| SslVarsError::Nul)?;
        // SAFETY: the request's own pool, server and connection; the returned string (or
        // NULL) lives in that pool.
        let value = unsafe {
            sys::ap_ssl_var_lookup(
                r.pool,
                r.server,
                r.connection,
                self.raw.as_ptr(),
                name.as_ptr(),
            )
        };
        Ok((!value.is_null()).then(|| {
            // SAFETY: a NUL-terminated string of the request pool.
            unsafe { CStr::from_ptr(value) }
                .to_string_lossy()
                .into_owned()
        }))
    }
}
