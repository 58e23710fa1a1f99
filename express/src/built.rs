//! The Python rwsgi-express and its module were built against (recorded by build.rs): the
//! default Python home and the version a virtual environment must match.

pub const PYTHON_PREFIX: &str = env!("RWSGI_PYTHON_PREFIX");
pub const PYTHON_VERSION: &str = env!("RWSGI_PYTHON_VERSION");
