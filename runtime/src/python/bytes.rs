//! `bytes` objects filled in place: a request body is read straight into the memory of the
//! `bytes` handed to the application, without first zero-filling memory that is overwritten
//! anyway (CPython's own readers, and mod_wsgi, allocate them the same way).
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use pyo3::exceptions::PyOverflowError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A `bytes` of at most `len` bytes whose content `fill` writes. `fill` returns how many
/// leading bytes it initialised; a shorter result is copied into a `bytes` of that length,
/// so uninitialised memory never reaches Python.
pub fn filled<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [MaybeUninit<u8>]) -> PyResult<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let size = isize::try_from(len).map_err(|_| PyOverflowError::new_err("read size too large"))?;
    // SAFETY: a NULL source asks CPython for a new bytes object with an uninitialised buffer
    // of `size` bytes; the result is a new reference, or NULL with an exception set.
    let obj = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), size))
    }?;
    // SAFETY: `obj` is a bytes object of exactly `len` bytes that nothing else references
    // until this function returns, so the buffer may be written through this slice.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            ffi::PyBytes_AsString(obj.as_ptr()).cast::<MaybeUninit<u8>>(),
            len,
        )
    };
    let n = fill(buf)?.min(len);
    let obj = obj.cast_into::<PyBytes>().map_err(PyErr::from)?;
    if n == len {
        return Ok(obj);
    }
    // SAFETY: `fill` initialised the first `n` bytes of the buffer.
    let init =
        unsafe { std::slice::from_raw_parts(ffi::PyBytes_AsString(obj.as_ptr()).cast::<u8>(), n) };
    Ok(PyBytes::new(py, init))
}
