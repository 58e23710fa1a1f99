//! The CGI and `mod_wsgi.*` variables of an Apache request, computed once for both modes:
//! embedded mode puts them straight into the environ dict, daemon mode onto the wire.

use std::borrow::Cow;

use crate::apache::Request;
use crate::wsgi::{self, Var, VarSink};
use rwsgi_core::http::script_name;
use rwsgi_core::proxy;
use rwsgi_core::route::Route;

/// How the Apache child itself treats a request: its variables' shape and its response.
/// None of it crosses to a daemon.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChildOptions {
    /// `WSGIMapHEADToGET`: the application sees GET for HEAD.
    pub map_head: bool,
    /// `pass-authorization=`/`WSGIPassAuthorization`: `HTTP_AUTHORIZATION` is passed on.
    pub pass_authorization: bool,
    /// `WSGIErrorOverride On` (daemon mode).
    #[cfg_attr(not(unix), expect(dead_code, reason = "daemon mode reads it"))]
    pub error_override: bool,
    /// `WSGIStreamCoalescing On`.
    pub stream_coalescing: bool,
    /// `WSGIChunkedRequest On`.
    pub chunked: bool,
    /// `WSGIPassApacheRequest On` (embedded mode): `apache.request_rec` in the environ.
    pub pass_apache_request: bool,
}

/// A request on its way to its application (embedded or in a daemon): how it runs, and
/// how the Apache child treats it.
pub struct Routed {
    pub route: Route,
    pub child: ChildOptions,
}

/// Puts every variable of `r` into `sink`.
pub fn collect(
    r: &mut Request<'_>,
    route: &Route,
    options: &ChildOptions,
    sink: &mut impl VarSink,
) {
    let header_vars = match r.headers_in() {
        Some(headers) => wsgi::header_variables_of(headers.iter(), options.pass_authorization),
        None => Vec::new(),
    };
    let proxy = proxy_overrides(r, &header_vars);
    let removed = |k: &str| proxy.as_ref().is_some_and(|p| p.removes(k));
    // Request environment first (SetEnv, SetEnvIf, mod_rewrite E=, mod_ssl), so the CGI
    // variables below win over anything with the same name.
    if let Some(sub) = r.subprocess_env() {
        for (k, v) in sub.iter() {
            if k != b"HTTPS" {
                let k = String::from_utf8_lossy(k);
                if !removed(&k) {
                    sink.named(&k, v);
                }
            }
        }
    }
    for (k, v) in &header_vars {
        if !removed(k) {
            sink.named(k, v);
        }
    }
    let method = r.method();
    sink.var(
        Var::RequestMethod,
        if options.map_head && method == b"HEAD" {
            b"GET"
        } else {
            method
        },
    );
    // The URL the client asked for, as mod_wsgi gives it: a rewrite front controller
    // (`RewriteRule ^(.*)$ /app.wsgi/$1 [PT]`) must not show the application its own URL.
    sink.var(Var::RequestUri, r.original_uri());
    sink.var(Var::RequestScheme, r.scheme());
    let uri = r.uri();
    let path_info = r.path_info();
    let script = wsgi::collapse_slashes(script_name(uri, path_info));
    let script: &[u8] = script.as_ref();
    let path_info = wsgi::collapse_slashes(path_info);
    sink.var(Var::ScriptName, script);
    sink.var(Var::PathInfo, &path_info);
    sink.var(Var::QueryString, r.args().unwrap_or(b""));
    sink.var(Var::ScriptFilename, r.filename().unwrap_or(b""));
    sink.var(Var::ServerName, r.server_name());
    sink.var(Var::ServerPort, r.server_port().to_string().as_bytes());
    sink.var(Var::ServerAddr, r.local_ip());
    sink.var(Var::ServerProtocol, r.protocol());
    sink.var(Var::ServerAdmin, r.server_admin().as_bytes());
    sink.var(Var::RemoteAddr, r.client_ip());
    sink.var(Var::RemotePort, r.client_port().to_string().as_bytes());
    let redirected = r.redirected_from();
    if let Some(user) = r.user() {
        sink.var(Var::RemoteUser, user);
    } else if let Some(user) = redirected.as_ref().and_then(|p| p.user) {
        sink.named("REDIRECT_REMOTE_USER", user);
    }
    // What an internal redirect came from, as Apache's CGI variables (and mod_wsgi) give
    // it; mod_rewrite and ErrorDocument add REDIRECT_STATUS and the rest themselves.
    if let Some(prev) = &redirected {
        sink.named("REDIRECT_URL", prev.uri);
        if let Some(args) = prev.args {
            sink.named("REDIRECT_QUERY_STRING", args);
        }
    }
    if let Some(auth) = r.auth_type() {
        sink.var(Var::AuthType, auth);
    }
    sink.var(Var::DocumentRoot, r.document_root());
    sink.var(Var::ContextPrefix, r.context_prefix());
    sink.var(Var::ContextDocumentRoot, r.context_document_root());
    sink.var(Var::UrlScheme, r.scheme());
    // What the route says, for the application to read; rwsgi itself reads the route.
    sink.var(Var::ProcessGroup, route.process_group.as_bytes());
    sink.var(Var::ApplicationGroup, route.application_group.as_bytes());
    sink.var(Var::CallableObject, route.callable.as_bytes());
    sink.var(Var::RequestHandler, r.handler().unwrap_or(b""));
    let handler_script = if route.handler_script {
        route.script.as_bytes()
    } else {
        b""
    };
    sink.var(Var::HandlerScript, handler_script);
    sink.var(Var::ListenerHost, r.local_ip());
    sink.var(Var::ListenerPort, r.local_port().to_string().as_bytes());
    sink.var(Var::ModScriptName, script);
    sink.var(Var::ModPathInfo, &path_info);
    if let Some(id) = r.log_id() {
        sink.var(Var::RequestId, id);
    }
    if let Some(id) = r.connection_log_id() {
        sink.var(Var::ConnectionId, id);
    }
    if let Some(p) = &proxy {
        apply_proxy(p, sink);
    }
}

/// Applies what trusted proxy headers decided (`WSGITrustedProxyHeaders`), after every
/// other variable so these values win.
fn apply_proxy(o: &proxy::Overrides, sink: &mut impl VarSink) {
    let vars = [
        (Var::RemoteAddr, &o.remote_addr),
        (Var::ForwardedFor, &o.forwarded_for),
        (Var::Host, &o.host),
        (Var::ServerName, &o.server_name),
        (Var::ServerPort, &o.server_port),
        (Var::ScriptName, &o.script_name),
        (Var::ModScriptName, &o.script_name),
    ];
    for (key, value) in vars {
        if let Some(v) = value {
            sink.var(key, v);
        }
    }
    if let Some(scheme) = o.scheme {
        sink.var(Var::RequestScheme, scheme.as_str().as_bytes());
        sink.var(Var::UrlScheme, scheme.as_str().as_bytes());
    }
}

/// What `WSGITrustedProxyHeaders` changes for this request; `None` (at the cost of one
/// check) when the directive does not apply here.
fn proxy_overrides(
    r: &Request<'_>,
    header_vars: &[(String, Cow<'_, [u8]>)],
) -> Option<proxy::Overrides> {
    let dir = r.dir_config();
    let headers = dir.trusted_proxy_headers.as_deref()?;
    Some(proxy::resolve(
        headers,
        dir.trusted_proxies.as_deref(),
        r.client_ip(),
        |name| {
            header_vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_ref())
        },
    ))
}
