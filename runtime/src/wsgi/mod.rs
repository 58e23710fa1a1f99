//! PEP 3333, once: environ, `start_response`, `wsgi.input`, `wsgi.errors`, `file_wrapper`,
//! the `mod_wsgi` module, and running the application (`runner`), shared by embedded and
//! daemon mode. It talks to a [`Transport`], implemented by the embedded request and by the
//! daemon connection, and never to Apache's request.

mod active;
mod context;
mod environ;
pub mod events;
mod file_wrapper;
pub mod groups;
mod input;
pub mod modules;
pub mod recording;
mod response;
pub mod runner;
mod shims;
mod start_response;
mod transport;
mod vars;

pub use context::{Context, Setup};
#[cfg(unix)]
pub use environ::WireStrings;
pub use environ::{EnvironBuilder, Streams, Times, always_set_keys, var_keys};
pub use input::Input;
pub use modules::ServerFacts;
pub use response::{Call, Outcome, run};
pub use rwsgi_core::http::{collapse_slashes, header_variables as header_variables_of};
pub use transport::{BodyError, Channel, ResponseHead, SendError, Transport};
pub use vars::{Var, VarSink};
