//! Daemon mode where it is not available (Windows), as in mod_wsgi: Apache for Windows
//! runs one child process and cannot fork daemons. The daemon directives fail the
//! configuration test there (config::directives says why), so nothing reaches these but
//! a `WSGIProcessGroup %{ENV:…}` that names a group at run time.

use crate::apache::{Pool, Request, Server, status};
use crate::request_vars::Routed;

/// Nothing to set up, so nothing fails.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {}

pub fn check_config(_server: Server<'_>) -> Result<(), GenerationError> {
    Ok(())
}

pub fn start(_pconf: Pool, _server: Server<'_>) -> Result<(), GenerationError> {
    Ok(())
}

pub fn start_deferred(_server: Server<'_>) -> Result<(), GenerationError> {
    Ok(())
}

pub fn child_started() {}

pub fn dispatch(_r: &mut Request<'_>, request: &Routed) -> i32 {
    tracing::error!(
        "RW0116: the request selected daemon process group '{}', but daemon mode is not available on this platform; cannot run {}",
        request.route.process_group,
        request.route.script
    );
    status::INTERNAL_SERVER_ERROR
}
