//! The typed configuration: what the directives in `directives.rs` set, merged per server
//! and per directory by Apache through [`MergeConfig`].

/// A directive setter that stores `On|Off` into one field of the server's or the
/// section's configuration: `flag_setter!(name, server, _dir, server.python.field);`.
macro_rules! flag_setter {
    ($name:ident, $server:ident, $dir:ident, $target:expr) => {
        pub(super) fn $name(
            cmd: &mut $crate::apache::Cmd<'_>,
            $server: &mut $crate::config::ServerConf,
            $dir: &mut $crate::config::DirConf,
            args: &str,
        ) -> Result<(), $crate::config::DirectiveError> {
            $target = Some($crate::config::args::on_off(cmd, args)?);
            Ok(())
        }
    };
}

mod accepted_directives;
mod args;
mod auth_directives;
pub mod directives;
mod error;
mod group_directives;
mod interpreter_options;
mod python_directives;

use std::sync::Arc;

use crate::apache::{MergeConfig, Regex};
pub use error::DirectiveError;
pub use rwsgi_core::directive_args::{GroupSpec, MapHead};
pub use rwsgi_core::proxy::{IpNetwork, TrustedHeader};
pub use rwsgi_core::python_settings::{InterpreterOptions, PythonSettings, Scoped};

/// Options shared by `WSGIScriptAlias`, `WSGIScriptAliasMatch` and `WSGIHandlerScript`.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub process_group: Option<GroupSpec>,
    pub application_group: Option<GroupSpec>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
}

impl AppOptions {
    /// These options, with `fallback`'s where these are unset.
    pub fn or(&self, fallback: &AppOptions) -> AppOptions {
        AppOptions {
            process_group: or(&self.process_group, &fallback.process_group),
            application_group: or(&self.application_group, &fallback.application_group),
            callable_object: or(&self.callable_object, &fallback.callable_object),
            pass_authorization: or(&self.pass_authorization, &fallback.pass_authorization),
        }
    }
}

/// `first`, else `second`.
fn or<T: Clone>(first: &Option<T>, second: &Option<T>) -> Option<T> {
    first.clone().or_else(|| second.clone())
}

/// How a script alias matches URLs.
pub enum AliasPattern {
    /// `WSGIScriptAlias`: a URL prefix without trailing slashes, and whether the written
    /// form had one (then `/mount` alone does not match).
    Prefix { mount: String, require_slash: bool },
    /// `WSGIScriptAliasMatch`: Apache regex whose match is replaced by the target.
    Regex(Regex),
}

/// One `WSGIScriptAlias` / `WSGIScriptAliasMatch`.
pub struct ScriptAlias {
    pub pattern: AliasPattern,
    pub target: String,
    pub options: AppOptions,
}

/// One `WSGIHandlerScript name path [options]`.
#[derive(Clone, Debug)]
pub struct HandlerScript {
    pub name: String,
    pub path: String,
    pub options: AppOptions,
}

/// One `WSGIImportScript path process-group=… application-group=…`.
#[derive(Clone, Debug)]
pub struct ImportScript {
    pub path: String,
    /// The daemon group that preloads it; `None` = the Apache children (embedded).
    pub process_group: Option<String>,
    /// The application group it is imported for (`""`: `%{GLOBAL}`).
    pub application_group: String,
}

/// A Python hook script run in the Apache child: `WSGIAccessScript`, `WSGIAuthUserScript`,
/// `WSGIAuthGroupScript` or `WSGIDispatchScript`.
#[derive(Clone, Debug)]
pub struct HookScript {
    pub path: String,
    /// `application-group=`; `%{GLOBAL}` when not given, as in mod_wsgi.
    pub application_group: GroupSpec,
}

/// The Python auth hooks of a directory (embedded mode, as in mod_wsgi).
#[derive(Clone, Debug, Default)]
pub struct AuthScripts {
    pub access: Option<Arc<HookScript>>,
    pub user: Option<Arc<HookScript>>,
    pub group: Option<Arc<HookScript>>,
    /// `WSGIGroupAuthoritative`: accepted; Apache 2.4's `Require` logic decides.
    pub group_authoritative: Option<bool>,
}

impl AuthScripts {
    fn or(&self, base: &AuthScripts) -> AuthScripts {
        AuthScripts {
            access: or(&self.access, &base.access),
            user: or(&self.user, &base.user),
            group: or(&self.group, &base.group),
            group_authoritative: or(&self.group_authoritative, &base.group_authoritative),
        }
    }
}

pub use rwsgi_core::daemon_options::DaemonOptions;

/// Which processes a `%{GLOBAL}` application group may run in: there it keeps the main
/// interpreter for itself (`wsgi::groups`).
#[derive(Clone, Debug, Default)]
pub struct GlobalGroupUse {
    /// Named by `WSGIApplicationGroup`, or without `process-group=`: any process.
    pub anywhere: bool,
    /// Named with `process-group=`: those daemon groups (`""`: Apache's children).
    pub processes: Vec<String>,
}

impl GlobalGroupUse {
    pub fn reaches(&self, process_group: &str) -> bool {
        self.anywhere || self.processes.iter().any(|p| p == process_group)
    }
}

/// Per-server configuration (main server and each `<VirtualHost>`).
#[derive(Default)]
pub struct ServerConf {
    /// This server's aliases first, then the ones inherited from the main server.
    pub script_aliases: Vec<Arc<ScriptAlias>>,
    pub python: PythonSettings,
    pub restrict_embedded: Option<bool>,
    /// `WSGIServerMetrics` (main server only): `mod_wsgi.server_metrics()` in embedded mode.
    pub server_metrics: Option<bool>,
    pub import_scripts: Vec<ImportScript>,
    /// `WSGIDaemonProcess` groups visible here: this server's, then the main server's.
    pub daemon_groups: Vec<Arc<DaemonOptions>>,
    /// `WSGISocketPrefix` (main server only).
    pub socket_prefix: Option<String>,
    /// Where a directive in this server names `%{GLOBAL}` as an application group.
    pub global_group: GlobalGroupUse,
    /// Telemetry directives given (accepted; the configuration test warns that no
    /// telemetry is sent).
    pub telemetry: Vec<&'static str>,
    /// An auth or dispatch script is configured in this server's sections (not counting
    /// .htaccess): Apache's children need Python even with `WSGIRestrictEmbedded On`.
    pub hook_scripts: bool,
}

impl ServerConf {
    #[cfg(unix)]
    /// The daemon group called `name`, as seen from this server.
    pub fn daemon_group(&self, name: &str) -> Option<&Arc<DaemonOptions>> {
        self.daemon_groups.iter().find(|g| g.name == name)
    }
}

impl MergeConfig for ServerConf {
    fn merge(base: &Self, add: &Self) -> Self {
        ServerConf {
            script_aliases: add
                .script_aliases
                .iter()
                .chain(&base.script_aliases)
                .cloned()
                .collect(),
            python: base.python.clone(),
            restrict_embedded: base.restrict_embedded,
            server_metrics: base.server_metrics,
            import_scripts: base.import_scripts.clone(),
            daemon_groups: add
                .daemon_groups
                .iter()
                .chain(&base.daemon_groups)
                .cloned()
                .collect(),
            socket_prefix: base.socket_prefix.clone(),
            global_group: add.global_group.clone(),
            hook_scripts: add.hook_scripts,
            telemetry: add.telemetry.clone(),
        }
    }
}

/// Per-directory configuration (server, vhost, `<Directory>`, `<Location>`, `.htaccess`).
#[derive(Clone, Debug, Default)]
pub struct DirConf {
    pub app: AppOptions,
    pub script_reloading: Option<bool>,
    pub chunked_request: Option<bool>,
    pub map_head_to_get: Option<MapHead>,
    pub handler_scripts: Vec<Arc<HandlerScript>>,
    /// `WSGITrustedProxyHeaders`, in configuration order.
    pub trusted_proxy_headers: Option<Arc<[&'static TrustedHeader]>>,
    /// `WSGITrustedProxies`.
    pub trusted_proxies: Option<Arc<[IpNetwork]>>,
    /// `WSGIRestrictProcess`: the only process groups requests here may select.
    pub restrict_process: Option<Arc<[String]>>,
    pub auth: AuthScripts,
    /// `WSGIErrorOverride` (daemon mode): Apache's error document replaces the body of an
    /// application's 4xx/5xx response.
    pub error_override: Option<bool>,
    /// `WSGIIgnoreActivity` (daemon mode): requests here do not count as activity for the
    /// daemon's inactivity-timeout.
    pub ignore_activity: Option<bool>,
    /// `WSGIEnableSendfile`: accepted; Apache's `EnableSendfile` decides how the file of a
    /// `wsgi.file_wrapper` goes out.
    pub enable_sendfile: Option<bool>,
    /// `WSGIPassApacheRequest` (embedded mode): the `request_rec` as a capsule.
    pub pass_apache_request: Option<bool>,
    /// `WSGIStreamCoalescing` (rwsgi's own): the kernel may merge a streamed response's
    /// small blocks.
    pub stream_coalescing: Option<bool>,
    /// `WSGIDispatchScript`: Python chooses the groups and callable per request.
    pub dispatch: Option<Arc<HookScript>>,
}

impl MergeConfig for DirConf {
    fn merge(base: &Self, add: &Self) -> Self {
        let mut handler_scripts = add.handler_scripts.clone();
        for h in &base.handler_scripts {
            if !handler_scripts.iter().any(|a| a.name == h.name) {
                handler_scripts.push(h.clone());
            }
        }
        DirConf {
            app: add.app.or(&base.app),
            script_reloading: or(&add.script_reloading, &base.script_reloading),
            chunked_request: or(&add.chunked_request, &base.chunked_request),
            map_head_to_get: or(&add.map_head_to_get, &base.map_head_to_get),
            handler_scripts,
            // A section that sets a list replaces the outer section's list.
            trusted_proxy_headers: or(&add.trusted_proxy_headers, &base.trusted_proxy_headers),
            trusted_proxies: or(&add.trusted_proxies, &base.trusted_proxies),
            restrict_process: or(&add.restrict_process, &base.restrict_process),
            auth: add.auth.or(&base.auth),
            error_override: or(&add.error_override, &base.error_override),
            ignore_activity: or(&add.ignore_activity, &base.ignore_activity),
            enable_sendfile: or(&add.enable_sendfile, &base.enable_sendfile),
            pass_apache_request: or(&add.pass_apache_request, &base.pass_apache_request),
            stream_coalescing: or(&add.stream_coalescing, &base.stream_coalescing),
            dispatch: or(&add.dispatch, &base.dispatch),
        }
    }
}
