//! Facts about the Python this module is built against, which the configuration checks
//! directives with and the interpreter code acts on.

/// The Python `X.Y` this module was built against.
pub const LINKED_VERSION: &str = env!("RWSGI_PYTHON_VERSION");

/// Whether this Python can give a sub-interpreter its own GIL (PEP 684).
pub const OWN_GIL_AVAILABLE: bool = cfg!(Py_3_12);
