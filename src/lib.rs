//! rwsgi: mod_wsgi rebuilt in Rust. An Apache httpd module (`mod_rwsgi.so`, module symbol
//! `wsgi_module`) that runs Python WSGI applications with mod_wsgi's directives.
//!
//! This file declares the modules and the hook list; each concern lives in its own module.
#![deny(unsafe_code)]

mod access;
mod apache;
mod auth;
mod capsule;
mod config;
// Daemon mode is Unix-only, as in mod_wsgi: Windows gets a stand-in that refuses it.
#[cfg(unix)]
mod daemon;
#[cfg(not(unix))]
#[path = "daemon_unavailable.rs"]
mod daemon;
mod dispatch;
mod embedded;
mod handler;
mod hook_scripts;
mod lifecycle;
mod log;
mod request_vars;
mod routing;
mod ssl_vars;

// The runtime's layers, under the names the module's code has always used.
use rwsgi_runtime::{linked, python, wsgi};

use apache::{Authn, Authz, Directive, Module, Pool, RealmHash, Request, Server};
use config::{DirConf, DirectiveError, ServerConf};

/// The module implementation the fence exports as `wsgi_module`.
pub struct Rwsgi;

impl Module for Rwsgi {
    type ServerConf = ServerConf;
    type DirConf = DirConf;
    type DirectiveError = DirectiveError;
    type HookError = lifecycle::LifecycleError;
    const DIRECTIVES: &'static [Directive<ServerConf, DirConf, DirectiveError>] =
        config::directives::DIRECTIVES;

    fn check_config(pconf: Pool, server: Server<'_>) -> Result<(), Self::HookError> {
        lifecycle::check_config(pconf, server)
    }
    fn post_config(pconf: Pool, server: Server<'_>) -> Result<(), Self::HookError> {
        lifecycle::post_config(pconf, server)
    }
    fn pre_mpm(server: Server<'_>) -> Result<(), Self::HookError> {
        Ok(daemon::start_deferred(server)?)
    }
    fn child_init(pchild: Pool, server: Server<'_>) {
        lifecycle::child_init(pchild, server)
    }
    fn translate_name(r: &mut Request<'_>) -> i32 {
        handler::translate_name(r)
    }
    fn handler(r: &mut Request<'_>) -> i32 {
        handler::handler(r)
    }
    fn access_checker(r: &mut Request<'_>) -> i32 {
        auth::access_checker(r)
    }
    fn check_password(r: &mut Request<'_>, user: &[u8], password: &[u8]) -> Authn {
        auth::check_password(r, user, password)
    }
    fn get_realm_hash(r: &mut Request<'_>, user: &[u8], realm: &[u8]) -> RealmHash {
        auth::get_realm_hash(r, user, realm)
    }
    fn check_authorization(r: &mut Request<'_>, require_line: &[u8]) -> Authz {
        auth::check_authorization(r, require_line)
    }
}
