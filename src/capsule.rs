//! `apache.request_rec`: the Apache request as a `PyCapsule` (`WSGIPassApacheRequest`), for
//! C extensions that work with Apache's API (as with mod_wsgi).
#![allow(unsafe_code)]

use pyo3::types::PyCapsule;
use pyo3::{Bound, PyResult, Python, ffi};

/// A capsule named `apache.request_rec` around `request`. It owns nothing: the pointer is
/// valid while the request is being handled, as in mod_wsgi.
pub fn request_rec<'py>(
    py: Python<'py>,
    request: *mut std::ffi::c_void,
) -> PyResult<Bound<'py, PyCapsule>> {
    // SAFETY: PyCapsule_New with a non-null pointer (the live request) and a static name,
    // without destructor; the GIL is held (`py`). The result is a new reference or NULL
    // with an exception set.
    let capsule = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCapsule_New(request, c"apache.request_rec".as_ptr(), None),
        )
    }?;
    Ok(capsule.cast_into::<PyCapsule>()?)
}
