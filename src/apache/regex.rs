//! Apache's own regular expressions (PCRE via `ap_regex`), so `WSGIScriptAliasMatch`
//! patterns and `$N` substitution work as in `AliasMatch`.

use std::ffi::CStr;
use std::ptr::NonNull;

use super::pool::Pool;
use super::sys;

/// A compiled pattern owned by the configuration pool.
pub struct Regex {
    raw: NonNull<sys::ap_regex_t>,
}

// SAFETY: a compiled ap_regex_t is immutable; ap_regexec allocates its match data per call,
// so concurrent matching from worker threads is safe.
unsafe impl Send for Regex {}
// SAFETY: as above.
unsafe impl Sync for Regex {}

const MAX_GROUPS: usize = 10;

impl Regex {
    /// Compiles `pattern` into `pool` (freed with it); `None` if the pattern is invalid.
    pub fn compile(pool: Pool, pattern: &str) -> Option<Regex> {
        let c = pool.strdup(pattern);
        // SAFETY: ap_pregcomp registers the regex's cleanup with `pool`.
        let raw = unsafe { sys::ap_pregcomp(pool.as_ptr(), c, sys::AP_REG_EXTENDED as i32) };
        NonNull::new(raw).map(|raw| Regex { raw })
    }

    /// Matches `subject`; on success returns `template` with `$N` substituted and the byte
    /// offset where the match ended.
    pub fn substitute(
        &self,
        pool: Pool,
        subject: &[u8],
        template: &str,
    ) -> Option<(Vec<u8>, usize)> {
        let subject_c = pool.strdup_bytes(subject);
        let mut groups = [sys::ap_regmatch_t {
            rm_so: -1,
            rm_eo: -1,
        }; MAX_GROUPS];
        // SAFETY: `groups` has MAX_GROUPS slots; the subject is a NUL-terminated pool string.
        let rc = unsafe {
            sys::ap_regexec(
                self.raw.as_ptr(),
                subject_c,
                MAX_GROUPS,
                groups.as_mut_ptr(),
                0,
            )
        };
        if rc != 0 {
            return None;
        }
        let template_c = pool.strdup(template);
        // SAFETY: the same subject and match array that ap_regexec filled.
        let out = unsafe {
            sys::ap_pregsub(
                pool.as_ptr(),
                template_c,
                subject_c,
                MAX_GROUPS,
                groups.as_mut_ptr(),
            )
        };
        if out.is_null() {
            return None;
        }
        // SAFETY: ap_pregsub returns a NUL-terminated pool string.
        let replaced = unsafe { CStr::from_ptr(out) }.to_bytes().to_vec();
        Some((replaced, groups[0].rm_eo.max(0) as usize))
    }
}
