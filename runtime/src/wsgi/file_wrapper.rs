//! `wsgi.file_wrapper`: when an app returns one around a real file, the runner hands the
//! file descriptor to the server (file bucket / sendfile) instead of iterating in Python.

use pyo3::prelude::*;

use super::transport::OsFile;

/// `mod_wsgi.FileWrapper(filelike, blksize=8192)`.
#[pyclass(module = "mod_wsgi", name = "FileWrapper")]
pub struct FileWrapper {
    #[pyo3(get)]
    pub filelike: Py<PyAny>,
    #[pyo3(get)]
    pub blksize: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize=8192))]
    fn new(filelike: Py<PyAny>, blksize: usize) -> FileWrapper {
        FileWrapper {
            filelike,
            blksize: blksize.max(1),
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let chunk = self
            .filelike
            .bind(py)
            .call_method1("read", (self.blksize,))?;
        Ok((chunk.len().unwrap_or(0) > 0).then_some(chunk))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let f = self.filelike.bind(py);
        if f.hasattr("close")? {
            f.call_method0("close")?;
        }
        Ok(())
    }
}

/// The open regular file behind a wrapper's file-like object, if there is one: (its OS
/// file, offset, bytes left).
pub fn regular_file(py: Python<'_>, f: &Bound<'_, PyAny>) -> Option<(OsFile, u64, u64)> {
    let fd: i32 = f.call_method0("fileno").ok()?.extract().ok()?;
    let os = py.import("os").ok()?;
    let st = os.call_method1("fstat", (fd,)).ok()?;
    let mode: u32 = st.getattr("st_mode").ok()?.extract().ok()?;
    if mode & 0o170000 != 0o100000 {
        return None;
    }
    let size: u64 = st.getattr("st_size").ok()?.extract().ok()?;
    // tell() accounts for data the file object has buffered but not returned.
    let offset: u64 = f.call_method0("tell").ok()?.extract().ok()?;
    Some((os_file(py, fd)?, offset, size.saturating_sub(offset)))
}

/// The OS file behind a descriptor of Python's C runtime.
#[cfg(unix)]
fn os_file(_py: Python<'_>, fd: i32) -> Option<OsFile> {
    Some(fd)
}

/// The OS file behind a descriptor of Python's C runtime: on Windows descriptors belong to
/// a C runtime (Python's ucrt, not the one rwsgi links), so Python itself is asked for the
/// handle.
#[cfg(windows)]
fn os_file(py: Python<'_>, fd: i32) -> Option<OsFile> {
    let msvcrt = py.import("msvcrt").ok()?;
    msvcrt
        .call_method1("get_osfhandle", (fd,))
        .ok()?
        .extract()
        .ok()
}
