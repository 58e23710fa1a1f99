//! APR pools: borrowed, never owned, by Rust code. Objects Rust hands to Apache are boxed and
//! dropped by a pool cleanup, so their lifetime is exactly the pool's.

use std::ffi::{CStr, c_void};
use std::ptr::NonNull;

use super::sys;

/// A borrowed `apr_pool_t`.
#[derive(Clone, Copy)]
pub struct Pool(NonNull<sys::apr_pool_t>);

impl Pool {
    /// # Safety
    /// `raw` must be a live pool that outlives every use of the returned value.
    pub unsafe fn from_raw(raw: *mut sys::apr_pool_t) -> Option<Pool> {
        NonNull::new(raw).map(Pool)
    }

    pub fn as_ptr(self) -> *mut sys::apr_pool_t {
        self.0.as_ptr()
    }

    /// Copies `s` into the pool as a NUL-terminated string (interior NULs truncate it, as C
    /// would read it anyway).
    pub fn strdup(self, s: &str) -> *const std::ffi::c_char {
        self.strdup_bytes(s.as_bytes())
    }

    /// As [`Pool::strdup`] for raw bytes (URIs and paths need not be UTF-8).
    pub fn strdup_bytes(self, bytes: &[u8]) -> *const std::ffi::c_char {
        let bytes = bytes.split(|b| *b == 0).next().unwrap_or_default();
        // SAFETY: apr_pstrmemdup copies `len` bytes and NUL-terminates; the pool is live.
        unsafe { sys::apr_pstrmemdup(self.as_ptr(), bytes.as_ptr().cast(), bytes.len()) }
    }

    /// Moves `value` into the pool: it is dropped when the pool is cleared or destroyed.
    pub fn adopt<T: 'static>(self, value: T) -> *mut T {
        unsafe extern "C" fn drop_box<T>(data: *mut c_void) -> sys::apr_status_t {
            // SAFETY: `data` is the Box::into_raw pointer registered below, dropped only once
            // because APR runs each cleanup once.
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
            sys::APR_SUCCESS as sys::apr_status_t
        }
        let raw = Box::into_raw(Box::new(value));
        // SAFETY: the pool is live; the cleanup owns `raw` from now on.
        unsafe {
            sys::apr_pool_cleanup_register(
                self.as_ptr(),
                raw.cast(),
                Some(drop_box::<T>),
                Some(sys::apr_pool_cleanup_null),
            );
        }
        raw
    }

    /// Runs `f` when the pool is cleared or destroyed.
    pub fn on_cleanup<F: FnOnce() + 'static>(self, f: F) {
        struct Deferred<F: FnOnce()>(Option<F>);
        impl<F: FnOnce()> Drop for Deferred<F> {
            fn drop(&mut self) {
                if let Some(f) = self.0.take() {
                    // A panic must not unwind into APR.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                }
            }
        }
        self.adopt(Deferred(Some(f)));
    }

    /// The absolute path of `path` relative to ServerRoot, as `ap_server_root_relative`.
    pub fn server_root_relative(self, path: &str) -> Option<String> {
        let c = self.strdup(path);
        // SAFETY: `c` is a pool string; the result is a pool string or NULL.
        let out = unsafe { sys::ap_server_root_relative(self.as_ptr(), c) };
        (!out.is_null()).then(|| {
            // SAFETY: non-NULL results are NUL-terminated pool strings.
            unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned()
        })
    }
}
