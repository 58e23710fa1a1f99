//! `apr_table_t`: a borrowed view with byte-string keys and values.

use std::ffi::{CStr, c_char};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::pool::Pool;
use super::sys;

/// A borrowed `apr_table_t` whose entries live as long as `'a`.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    raw: NonNull<sys::apr_table_t>,
    _life: PhantomData<&'a ()>,
}

impl<'a> Table<'a> {
    /// # Safety
    /// `raw` must be a live table whose pool outlives `'a`.
    pub(crate) unsafe fn from_raw(raw: *mut sys::apr_table_t) -> Option<Table<'a>> {
        NonNull::new(raw).map(|raw| Table {
            raw,
            _life: PhantomData,
        })
    }

    pub fn get(&self, key: &CStr) -> Option<&'a [u8]> {
        // SAFETY: the table is live; apr_table_get returns an entry string or NULL.
        let v = unsafe { sys::apr_table_get(self.raw.as_ptr(), key.as_ptr()) };
        // SAFETY: entries are NUL-terminated and live as long as the table's pool.
        (!v.is_null()).then(|| unsafe { CStr::from_ptr(v) }.to_bytes())
    }

    /// All entries in insertion order (duplicates included).
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        // SAFETY: apr_table_elts returns the table's entry array (never NULL for a live table).
        let arr = unsafe { &*sys::apr_table_elts(self.raw.as_ptr()) };
        let entries: &'a [sys::apr_table_entry_t] = if arr.nelts <= 0 || arr.elts.is_null() {
            &[]
        } else {
            // SAFETY: `elts` holds `nelts` apr_table_entry_t values owned by the table.
            unsafe {
                std::slice::from_raw_parts(
                    arr.elts.cast::<sys::apr_table_entry_t>(),
                    arr.nelts as usize,
                )
            }
        };
        entries.iter().filter(|e| !e.key.is_null()).map(|e| {
            // SAFETY: keys are NUL-terminated; a NULL value is read as empty.
            let key = unsafe { CStr::from_ptr(e.key) }.to_bytes();
            let val: &[u8] = if e.val.is_null() {
                b""
            } else {
                // SAFETY: non-NULL values are NUL-terminated table strings.
                unsafe { CStr::from_ptr(e.val) }.to_bytes()
            };
            (key, val)
        })
    }

    /// Adds an entry, copying both strings into `pool` (which must be the table's pool or
    /// outlive it).
    pub fn add(&self, pool: Pool, key: &[u8], val: &[u8]) {
        let (k, v): (*const c_char, *const c_char) =
            (pool.strdup_bytes(key), pool.strdup_bytes(val));
        // SAFETY: both strings live in a pool that outlives the table entry.
        unsafe { sys::apr_table_add(self.raw.as_ptr(), k, v) }
    }
}
