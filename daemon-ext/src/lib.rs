//! `rwsgi._daemon`: the daemon runtime, imported by a group's own Python when rwsgi's
//! supervisor execs it (`python -P -c "import rwsgi._daemon as d; d.serve()"`). All of it
//! is `rwsgi_runtime::daemon`; this file is the Python glue.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use rwsgi_core::daemon_spec::RWSGI_VERSION;
use rwsgi_runtime::daemon::exec::serve_inherited;

#[pymodule]
fn _daemon(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The module's configuration check compares it with its own release.
    m.add("__version__", RWSGI_VERSION)?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    Ok(())
}

/// Serves as the daemon process rwsgi's supervisor exec'd this interpreter to be. Never
/// returns once it serves: the process ends as a forked daemon does.
#[pyfunction]
fn serve(py: Python<'_>) -> PyResult<()> {
    match serve_inherited(py) {
        Ok(never) => match never {},
        Err(e) => Err(PyRuntimeError::new_err(e.to_string())),
    }
}
