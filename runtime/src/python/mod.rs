//! Python management: starting and stopping the interpreter, thread states, loading WSGI
//! scripts, and the Python-side objects that route output into Apache's log. Nothing here
//! knows WSGI: `wsgi` builds on it.

pub mod app;
pub mod bytes;
pub mod gil;
pub mod interpreter;
pub mod metrics;
pub mod output;
pub mod subinterpreter;
pub mod thread_state;
pub mod traceback;

pub use thread_state::with_gil;
