//! The FFI fence: every `unsafe` call into Apache httpd and APR lives in this folder.
//!
//! Above the fence, code sees safe, borrowed wrappers (`Request`, `Server`, `Pool`, `Table`,
//! `Cmd`) and implements [`Module`]; the exported `wsgi_module` static, the hook trampolines
//! and the directive table are generated here from that implementation.
//!
//! Lifecycle facts the fence relies on (see docs/internals.md):
//! - Apache reads its configuration twice at start-up and `dlclose`s the module between the
//!   passes and on every restart, so statics reset; per-generation state lives in pools.
//! - Every hook goes through one `catch_unwind` trampoline: a panic becomes a logged 500 (or a
//!   failed start-up), never an abort of a child that serves other requests.
#![allow(unsafe_code)]

pub mod sys;

mod auth;
mod command;
mod hooks;
mod io;
mod log;
mod module;
mod pool;
#[cfg(unix)]
pub mod process;
mod regex;
mod request;
pub mod scoreboard;
mod server;
mod ssl;
mod table;

pub use auth::{Authn, Authz, RealmHash};
pub use command::{Cmd, Directive, Scope};
pub use io::{BodyError, OsFile, RequestIo, ResponseError};
pub use log::{Level, RequestLogContext, log_current, log_server};
#[cfg(unix)]
pub use log::{main_error_log, main_error_log_format_args, main_log_level};
pub use pool::Pool;
pub use regex::Regex;
pub use request::{FileKind, Request};
pub use server::{Mpm, Server, server_state};
pub use ssl::{SslVars, SslVarsError};

/// Status codes handlers return to Apache.
pub mod status {
    use super::sys;
    pub const OK: i32 = sys::OK as i32;
    pub const DECLINED: i32 = sys::DECLINED;
    pub const NOT_FOUND: i32 = sys::HTTP_NOT_FOUND as i32;
    pub const FORBIDDEN: i32 = sys::HTTP_FORBIDDEN as i32;
    pub const INTERNAL_SERVER_ERROR: i32 = sys::HTTP_INTERNAL_SERVER_ERROR as i32;
}

/// Per-server and per-directory configuration objects Apache creates and merges.
pub trait MergeConfig: Default + 'static {
    /// `base` is the enclosing scope, `add` the more specific one.
    fn merge(base: &Self, add: &Self) -> Self;
}

/// What the module implements; the fence turns it into `wsgi_module`.
pub trait Module: 'static {
    type ServerConf: MergeConfig;
    type DirConf: MergeConfig;
    /// Why a directive setter refuses its line; its text is what Apache prints.
    type DirectiveError: std::fmt::Display;
    /// Why the configuration test or the start fails: the fence logs it and fails them.
    type HookError: std::fmt::Display;

    /// The directive table (names exactly as mod_wsgi spells them).
    const DIRECTIVES: &'static [Directive<
        Self::ServerConf,
        Self::DirConf,
        Self::DirectiveError,
    >];

    /// After the whole configuration is read, also under `apache2 -t`; an error fails it.
    fn check_config(pconf: Pool, server: Server<'_>) -> Result<(), Self::HookError>;
    /// In the parent after each configuration read (not under `apache2 -t`).
    fn post_config(pconf: Pool, server: Server<'_>) -> Result<(), Self::HookError>;
    /// In the parent once Apache's scoreboard exists: at start-up, after `post_config`, and
    /// after a full (not a graceful) restart.
    fn pre_mpm(server: Server<'_>) -> Result<(), Self::HookError>;
    /// In each child process before it serves requests.
    fn child_init(pchild: Pool, server: Server<'_>);
    fn translate_name(r: &mut Request<'_>) -> i32;
    fn handler(r: &mut Request<'_>) -> i32;
    /// The access phase (`WSGIAccessScript`): `OK`, `DECLINED` or an HTTP status.
    fn access_checker(r: &mut Request<'_>) -> i32;
    /// The `wsgi` authn provider, Basic (`user` and `password` as the client sent them).
    fn check_password(r: &mut Request<'_>, user: &[u8], password: &[u8]) -> Authn;
    /// The `wsgi` authn provider, Digest.
    fn get_realm_hash(r: &mut Request<'_>, user: &[u8], realm: &[u8]) -> RealmHash;
    /// The `wsgi-group` authz provider: `Require wsgi-group <require_line>`.
    fn check_authorization(r: &mut Request<'_>, require_line: &[u8]) -> Authz;
}

/// The implementation `wsgi_module` is built from.
type Impl = crate::Rwsgi;
