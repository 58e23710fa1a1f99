//! The files rwsgi-express writes: httpd.conf, handler.wsgi and apachectl. Pure functions of
//! the `Plan`, snapshot-tested per option group.
use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{LogLevel, MapHead, Mpm};
use crate::plan::{App, Plan};
use crate::platform::Os;

/// A double-quoted Apache argument. Apache's parser unescapes only `\"` inside quotes, so
/// backslashes stay as they are (a regex's `\.` survives).
fn q(s: impl AsRef<str>) -> String {
    format!("\"{}\"", s.as_ref().replace('"', "\\\""))
}

/// A path as Apache for `os` reads it: on Windows with forward slashes, which Apache
/// accepts, so a trailing backslash cannot escape the closing quote.
fn path_for(os: Os, p: &Path) -> String {
    match os {
        Os::Unix => p.to_string_lossy().into_owned(),
        Os::Windows => p.to_string_lossy().replace('\\', "/"),
    }
}

fn qp_for(os: Os, p: &Path) -> String {
    q(path_for(os, p))
}

/// A Python string literal (the file is UTF-8).
fn py(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn log_level(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Emerg => "emerg",
        LogLevel::Alert => "alert",
        LogLevel::Crit => "crit",
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Notice => "notice",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    }
}

fn listen(host: Option<&str>, port: u16) -> String {
    match host {
        None => port.to_string(),
        Some(h) if h.contains(':') => format!("[{h}]:{port}"),
        Some(h) => format!("{h}:{port}"),
    }
}

/// A `key=value` word of `WSGIDaemonProcess`: quoted whole when needed, since quotes count
/// only at the start of a word.
fn option(key: &str, value: &str) -> String {
    let word = format!("{key}={value}");
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        q(word)
    } else {
        word
    }
}

/// The MPM's processes and threads. Every process Apache starts stays for the life of the
/// server: a child retired as idle closes its kept-alive connections after it said they
/// stay open, and a client that reuses one then finds it closed.
fn mpm_sizing(c: &mut String, plan: &Plan) {
    let prefork = plan.mpm == Mpm::Prefork;
    // Twice the process slots everywhere: during a graceful restart the old processes finish
    // their requests while the new ones already serve.
    match &plan.daemon {
        Some(d) => {
            // Apache's children only pass requests on to the daemons, so they are sized for
            // connections, as mod_wsgi-express sizes them.
            let (servers, threads) = d.front_end(plan.mpm);
            let _ = writeln!(
                c,
                "# Daemon mode: {} daemon process(es) × {} thread(s) run the application (see \
                 WSGIDaemonProcess);\n# Apache's children pass on up to {} connections.",
                plan.processes,
                plan.threads,
                servers * threads
            );
            if prefork {
                let _ = writeln!(
                    c,
                    "ServerLimit {}\nStartServers {servers}\nMinSpareServers 1\n\
                     MaxSpareServers {servers}\nMaxRequestWorkers {servers}",
                    2 * servers,
                );
            } else {
                let _ = writeln!(
                    c,
                    "ServerLimit {}\nStartServers {servers}\nThreadLimit {threads}\n\
                     ThreadsPerChild {threads}\nMaxRequestWorkers {}\nMinSpareThreads \
                     {threads}\nMaxSpareThreads {}",
                    2 * servers,
                    servers * threads,
                    servers * threads,
                );
            }
        }
        None => {
            // The application runs in the MPM's workers (embedded mode): size them exactly
            // and never let Apache retire idle ones, which would also throw away the loaded
            // application.
            let (p, t) = (plan.processes, plan.threads);
            let _ = writeln!(c, "# {p} process(es) × {t} thread(s) run the application.");
            if plan.mpm == Mpm::Winnt {
                // One child process, sized by its threads alone.
                let _ = writeln!(c, "ThreadLimit {t}\nThreadsPerChild {t}");
                return;
            }
            let _ = writeln!(c, "ServerLimit {}\nStartServers {p}", 2 * p);
            if prefork {
                let _ = writeln!(
                    c,
                    "MinSpareServers {p}\nMaxSpareServers {p}\nMaxRequestWorkers {p}"
                );
            } else {
                let _ = writeln!(
                    c,
                    "ThreadLimit {t}\nThreadsPerChild {t}\nMaxRequestWorkers {}\n\
                     MinSpareThreads {t}\nMaxSpareThreads {}",
                    p * t,
                    p * t
                );
            }
        }
    }
}

/// httpd.conf.
pub fn httpd_conf(plan: &Plan) -> String {
    let qp = |p: &Path| qp_for(plan.os, p);
    let mut c = String::new();
    let modules = &plan.modules_dir;
    let load = |c: &mut String, name: &str, file: &str| {
        let _ = writeln!(
            c,
            "LoadModule {name}_module {}",
            qp(&modules.join(format!("mod_{file}.so")))
        );
    };
    let _ = writeln!(
        c,
        "# Written by rwsgi-express {} on every start: change the command-line options, not \
         this file.\n",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(c, "ServerRoot {}", qp(&plan.server_root));
    let _ = writeln!(c, "DefaultRuntimeDir {}", qp(&plan.server_root));
    let _ = writeln!(c, "PidFile {}", qp(&plan.pid_file));
    let _ = writeln!(c, "ServerName {}", plan.server_name);
    if !plan.server_aliases.is_empty() {
        let _ = writeln!(c, "ServerAlias {}", plan.server_aliases.join(" "));
    }
    c.push_str("ServerTokens ProductOnly\nServerSignature Off\n");
    if let Some(r) = &plan.run_as {
        let _ = writeln!(c, "User {}\nGroup {}", r.user, r.group);
    }
    let _ = writeln!(c, "\nListen {}", listen(plan.host.as_deref(), plan.port));
    let _ = writeln!(c, "ListenBacklog {}\n", plan.server_backlog);

    // Apache for Windows has its MPM built in.
    if plan.mpm != Mpm::Winnt {
        load(
            &mut c,
            &format!("mpm_{}", plan.mpm.name()),
            &format!("mpm_{}", plan.mpm.name()),
        );
    }
    if plan.run_as.is_some() {
        // User and Group: built into Debian's apache2, a module on RHEL and in source builds.
        c.push_str("<IfModule !unixd_module>\n    ");
        load(&mut c, "unixd", "unixd");
        c.push_str("</IfModule>\n");
    }
    for m in [
        "authz_core",
        "authz_host",
        "mime",
        "rewrite",
        "alias",
        "reqtimeout",
    ] {
        load(&mut c, m, m);
    }
    if !plan.setenv.is_empty() || !plan.passenv.is_empty() {
        load(&mut c, "env", "env");
    }
    if plan.logs.access_format.is_some() {
        // Built into Debian's apache2, a module elsewhere.
        c.push_str("<IfModule !log_config_module>\n    ");
        load(&mut c, "log_config", "log_config");
        c.push_str("</IfModule>\n");
    }
    if plan.directory_index.is_some() {
        load(&mut c, "dir", "dir");
    }
    if plan.compress_responses {
        load(&mut c, "filter", "filter");
        load(&mut c, "deflate", "deflate");
    }
    if plan.server_status {
        load(&mut c, "status", "status");
    }
    if plan.https.is_some() {
        load(&mut c, "socache_shmcb", "socache_shmcb");
        load(&mut c, "ssl", "ssl");
    }
    if let Some(auth) = &plan.auth {
        load(&mut c, "authn_core", "authn_core");
        let kind = auth.kind.to_ascii_lowercase();
        load(&mut c, &format!("auth_{kind}"), &format!("auth_{kind}"));
        load(&mut c, "authz_user", "authz_user");
    }
    if let Some(dll) = &plan.python_dll {
        // Windows: the module imports python3XX.dll, which is not on Apache's DLL path.
        let _ = writeln!(c, "LoadFile {}", qp(dll));
    }
    let _ = writeln!(c, "LoadModule wsgi_module {}\n", qp(&plan.module));

    // Without a types file Apache fails at start-up (not in `httpd -t`): use an empty one.
    let null = match plan.os {
        Os::Unix => Path::new("/dev/null"),
        Os::Windows => Path::new("NUL"),
    };
    let types = plan.mime_types.as_deref().unwrap_or(null);
    let _ = writeln!(c, "TypesConfig {}", qp(types));
    if plan.enable_sendfile {
        c.push_str("EnableSendfile On\n");
    }
    if plan.compress_responses {
        c.push_str(
            "AddOutputFilterByType DEFLATE text/plain text/html text/xml text/css text/csv \
             application/xml application/xhtml+xml application/rss+xml application/javascript \
             application/json image/svg+xml\n",
        );
    }
    let _ = writeln!(c, "Timeout {}", plan.timeout);
    if plan.keep_alive_timeout > 0 {
        let _ = writeln!(
            c,
            "KeepAlive On\nKeepAliveTimeout {}",
            plan.keep_alive_timeout
        );
    } else {
        c.push_str("KeepAlive Off\n");
    }
    let _ = writeln!(c, "LimitRequestBody {}", plan.limit_request_body);
    let _ = writeln!(c, "RequestReadTimeout {}\n", plan.request_read_timeout);

    mpm_sizing(&mut c, plan);
    c.push_str("MaxConnectionsPerChild 0\n");
    if plan.mpm != Mpm::Winnt {
        // SIGTERM is a graceful stop: requests in flight get this long to finish.
        let _ = writeln!(c, "GracefulShutdownTimeout {}", plan.shutdown_timeout);
    }
    c.push('\n');

    let _ = writeln!(c, "ErrorLog {}", qp(&plan.logs.error_log()));
    let _ = writeln!(c, "LogLevel {}", log_level(plan.logs.level));
    if let Some(format) = &plan.error_log_format {
        let _ = writeln!(c, "ErrorLogFormat {}", q(format));
    }
    if let Some(format) = &plan.logs.access_format {
        let _ = writeln!(c, "LogFormat {} rwsgi", q(format));
        let _ = writeln!(c, "CustomLog {} rwsgi", qp(&plan.logs.access_log()));
    }

    c.push_str("\n<Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n\n");

    if let Some(home) = &plan.python_home {
        let _ = writeln!(c, "WSGIPythonHome {}", qp(home));
    }
    // Daemon mode: sys.path comes from home= and python-path= of the group.
    if !plan.python_path.is_empty() && plan.daemon.is_none() {
        let joined: Vec<_> = plan
            .python_path
            .iter()
            .map(|p| path_for(plan.os, p))
            .collect();
        let separator = crate::plan::path_list_separator(plan.os).to_string();
        let _ = writeln!(c, "WSGIPythonPath {}", q(joined.join(&separator)));
    }
    for w in &plan.python_warnings {
        let _ = writeln!(c, "WSGIPythonWarnings {}", q(w));
    }
    match &plan.daemon {
        Some(d) => {
            // No Python in Apache's children. The sockets live in the server root, not in
            // Apache's system run directory.
            c.push_str("WSGIRestrictEmbedded On\n");
            let _ = writeln!(c, "WSGISocketPrefix {}", qp(&plan.server_root.join("wsgi")));
            let _ = write!(c, "WSGIDaemonProcess {}", d.name);
            for (key, value) in &d.options {
                let _ = write!(c, " \\\n    {}", option(key, value));
            }
            let _ = writeln!(
                c,
                "\nWSGIProcessGroup {}\nWSGIApplicationGroup {}",
                d.name, plan.application_group
            );
            if plan.error_override {
                c.push_str("WSGIErrorOverride On\n");
            }
        }
        None => {
            c.push_str("WSGIRestrictEmbedded Off\n");
            if plan.server_metrics {
                c.push_str("WSGIServerMetrics On\n");
            }
        }
    }
    c.push_str("WSGIPassAuthorization On\n");
    let _ = writeln!(
        c,
        "WSGIMapHEADToGET {}",
        match plan.map_head_to_get {
            MapHead::On => "On",
            MapHead::Off => "Off",
            MapHead::Auto => "Auto",
        }
    );
    if plan.chunked_request {
        c.push_str("WSGIChunkedRequest On\n");
    }
    if plan.stream_coalescing {
        c.push_str("WSGIStreamCoalescing On\n");
    }
    for (k, v) in &plan.setenv {
        let _ = writeln!(c, "SetEnv {k} {}", q(v));
    }
    for k in &plan.passenv {
        let _ = writeln!(c, "PassEnv {k}");
    }
    if !plan.trust_proxy_headers.is_empty() {
        let _ = writeln!(
            c,
            "WSGITrustedProxyHeaders {}",
            plan.trust_proxy_headers.join(" ")
        );
    }
    if !plan.trust_proxies.is_empty() {
        let _ = writeln!(c, "WSGITrustedProxies {}", plan.trust_proxies.join(" "));
    }

    let _ = writeln!(c, "\nDocumentRoot {}", qp(&plan.document_root));
    let _ = writeln!(c, "<Directory {}>", qp(&plan.document_root));
    c.push_str("    AllowOverride None\n    Require all granted\n");
    if let Some(index) = &plan.directory_index {
        let _ = writeln!(c, "    DirectoryIndex {}", q(index));
    }
    if let Some(rules) = &plan.rewrite_rules {
        let _ = writeln!(c, "    RewriteEngine On\n    Include {}", qp(rules));
    }
    if plan.app != App::Static {
        // Files in the document root win; the application serves every other URL under
        // its mount point (conditions are ANDed; [OR] joins only the last two).
        c.push_str("    RewriteEngine On\n");
        if !plan.mount_point.is_empty() {
            let _ = writeln!(
                c,
                "    RewriteCond %{{REQUEST_URI}} {}",
                q(format!("^{}(/|$)", regex_escape(&plan.mount_point)))
            );
        }
        if plan.server_status {
            c.push_str("    RewriteCond %{REQUEST_URI} !^/server-status$\n");
        }
        // A file with a path after it (/robots.txt/x) is not a file either.
        c.push_str("    RewriteCond %{REQUEST_FILENAME} !-f [OR]\n");
        c.push_str("    RewriteCond %{PATH_INFO} .\n");
        if let Some(index) = &plan.directory_index {
            // A directory with its index file is served by mod_dir.
            let _ = writeln!(
                c,
                "    RewriteCond {} !-f",
                q(format!("%{{REQUEST_FILENAME}}/{index}"))
            );
        }
        c.push_str("    RewriteRule .* - [H=wsgi-handler]\n");
    }
    c.push_str("</Directory>\n");
    if plan.app != App::Static {
        let handler = qp(&plan.handler_path());
        let group = &plan.application_group;
        match &plan.daemon {
            Some(d) => {
                let _ = writeln!(
                    c,
                    "WSGIHandlerScript wsgi-handler {handler} process-group={} \
                     application-group={group}",
                    d.name
                );
                // Loaded when each daemon process starts, so a broken application shows in
                // the log at once.
                let _ = writeln!(
                    c,
                    "WSGIImportScript {handler} process-group={} application-group={group}",
                    d.name
                );
            }
            None => {
                let _ = writeln!(
                    c,
                    "WSGIHandlerScript wsgi-handler {handler} application-group={group}"
                );
                // Loaded when each child starts, so a broken application shows in the log
                // at once.
                let _ = writeln!(
                    c,
                    "WSGIImportScript {handler} process-group=%{{GLOBAL}} \
                     application-group={group}"
                );
            }
        }
    }

    if plan.auth.is_some() || plan.host_access_script.is_some() {
        let location = if plan.mount_point.is_empty() {
            "/"
        } else {
            &plan.mount_point
        };
        let _ = writeln!(c, "\n<Location {}>", q(location));
        if let Some(auth) = &plan.auth {
            let _ = writeln!(c, "    AuthType {}", auth.kind);
            let _ = writeln!(
                c,
                "    AuthName {}",
                q(format!("{}:{}", plan.server_name, plan.port))
            );
            let _ = writeln!(c, "    Auth{}Provider wsgi", auth.kind);
            let _ = writeln!(c, "    WSGIAuthUserScript {}", qp(&auth.user_script));
            match &auth.group {
                Some((script, group)) => {
                    let _ = writeln!(c, "    WSGIAuthGroupScript {}", qp(script));
                    let _ = writeln!(c, "    Require wsgi-group {}", q(group));
                }
                None => c.push_str("    Require valid-user\n"),
            }
        }
        if let Some(script) = &plan.host_access_script {
            let _ = writeln!(c, "    WSGIAccessScript {}", qp(script));
        }
        c.push_str("</Location>\n");
    }

    if plan.daemon.is_some() {
        for url in &plan.ignore_activity {
            let _ = writeln!(
                c,
                "\n<Location {}>\n    WSGIIgnoreActivity On\n</Location>",
                q(url)
            );
        }
    }

    if plan.server_status {
        c.push_str(
            "\n<Location \"/server-status\">\n    SetHandler server-status\n    Require local\n</Location>\n",
        );
    }

    for (url, path) in &plan.url_aliases {
        let _ = writeln!(c, "\nAlias {} {}", q(url), qp(path));
        let _ = writeln!(
            c,
            "<Location {}>\n    Require all granted\n</Location>",
            q(url)
        );
    }

    if let Some(h) = &plan.https {
        let _ = writeln!(c, "\nListen {} https", listen(plan.host.as_deref(), h.port));
        let _ = writeln!(
            c,
            "SSLSessionCache {}",
            q(format!(
                "shmcb:{}/ssl_scache(512000)",
                plan.server_root.display()
            ))
        );
        let _ = writeln!(c, "<VirtualHost _default_:{}>", h.port);
        c.push_str("    SSLEngine on\n");
        let _ = writeln!(c, "    SSLCertificateFile {}", qp(&h.certificate));
        let _ = writeln!(c, "    SSLCertificateKeyFile {}", qp(&h.key));
        if let Some(chain) = &h.chain {
            let _ = writeln!(c, "    SSLCertificateChainFile {}", qp(chain));
        }
        c.push_str("</VirtualHost>\n");
        if h.only {
            let port = if h.port == 443 {
                String::new()
            } else {
                format!(":{}", h.port)
            };
            let _ = writeln!(c, "<VirtualHost _default_:{}>", plan.port);
            c.push_str("    RewriteEngine On\n");
            let _ = writeln!(
                c,
                "    RewriteRule ^ https://%{{SERVER_NAME}}{port}%{{REQUEST_URI}} [R=301,L]"
            );
            c.push_str("</VirtualHost>\n");
        }
    }

    for f in &plan.include_files {
        let _ = writeln!(c, "\nInclude {}", qp(f));
    }
    c
}

/// handler.wsgi: loads the application and serves it at the mount point. The module calls
/// `handle_request` for every URL the rewrite rule hands to `wsgi-handler`.
pub fn handler_wsgi(plan: &Plan) -> String {
    let (kind, entry) = match &plan.app {
        App::Script(p) => ("script", p.to_string_lossy().into_owned()),
        App::Module(m) => ("module", m.clone()),
        App::Static => ("static", String::new()),
    };
    let loads = match &plan.app {
        App::Module(m) => format!("module {m}"),
        _ => entry.clone(),
    };
    format!(
        r#"# Written by rwsgi-express on every start: change the command-line options, not this file.
# Loads the application and mounts it at MOUNT_POINT.
import os
import sys
import threading
import types

# Tracebacks start at the application's code: rwsgi leaves this file's frames out, and
# names the application, not this file, when it fails to load.
__tracebackhide__ = True
__rwsgi_loads__ = {loads}

ENTRY_POINT = {entry}
APPLICATION_TYPE = {kind}
CALLABLE_OBJECT = {callable}
MOUNT_POINT = {mount}
# A script entry point is loaded again when its file changes.
RELOAD = {reload}

_lock = threading.Lock()
_loaded = None  # (mtime, application)


def _load():
    if APPLICATION_TYPE == 'script':
        module = types.ModuleType('__wsgi__')
        module.__file__ = ENTRY_POINT
        with open(ENTRY_POINT, 'rb') as f:
            code = compile(f.read(), ENTRY_POINT, 'exec')
        exec(code, module.__dict__)
        where = ENTRY_POINT
    else:
        # __import__ rather than importlib.import_module: Python then leaves its import
        # machinery's frames out of the traceback.
        __import__(ENTRY_POINT)
        module = sys.modules[ENTRY_POINT]
        where = 'module %s (%s)' % (ENTRY_POINT, getattr(module, '__file__', 'built in'))
    try:
        return getattr(module, CALLABLE_OBJECT)
    except AttributeError:
        raise RuntimeError(
            '%s has no %r: name the WSGI callable with --callable-object'
            % (where, CALLABLE_OBJECT)) from None


def _mtime():
    if not RELOAD:
        return None
    try:
        return os.stat(ENTRY_POINT).st_mtime_ns
    except OSError:
        return None


def _application():
    global _loaded
    loaded = _loaded
    if loaded is not None and (not RELOAD or loaded[0] == _mtime()):
        return loaded[1]
    with _lock:
        mtime = _mtime()
        if _loaded is None or _loaded[0] != mtime:
            _loaded = (mtime, _load())
        return _loaded[1]


def handle_request(environ, start_response):
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    environ['SCRIPT_NAME'] = MOUNT_POINT
    environ['PATH_INFO'] = path[len(MOUNT_POINT):]
    return _application()(environ, start_response)


_application()
"#,
        entry = py(&entry),
        loads = py(&loads),
        kind = py(kind),
        callable = py(&plan.callable),
        mount = py(&plan.mount_point),
        reload = if plan.reload_script { "True" } else { "False" },
    )
}

/// apachectl (apachectl.bat on Windows): controls the configured Apache without
/// rwsgi-express. Returns the file name and its contents.
pub fn apachectl(plan: &Plan) -> (&'static str, String) {
    match plan.os {
        Os::Unix => ("apachectl", apachectl_sh(plan)),
        Os::Windows => ("apachectl.bat", apachectl_bat(plan)),
    }
}

fn apachectl_sh(plan: &Plan) -> String {
    let sh = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
    format!(
        r#"#!/bin/sh
# Written by rwsgi-express: controls the Apache configured in this directory.
#   start | stop | restart | graceful | graceful-stop | configtest
HTTPD={httpd}
CONF={conf}
cd {workdir} || exit 1
case "${{LANG:-C}}" in C|POSIX) LANG=C.UTF-8; export LANG ;; esac
case "$1" in
    start|stop|restart|graceful|graceful-stop)
        exec "$HTTPD" -f "$CONF" -k "$1" ;;
    configtest)
        exec "$HTTPD" -f "$CONF" -t ;;
    *)
        echo "usage: $0 start|stop|restart|graceful|graceful-stop|configtest" >&2
        exit 2 ;;
esac
"#,
        httpd = sh(&plan.httpd),
        conf = sh(&plan.conf_path()),
        workdir = sh(&plan.working_directory),
    )
}

/// Windows: `start` runs Apache in this console until Ctrl-C (as a service, Apache is
/// installed with `httpd.exe -k install -f …` instead).
fn apachectl_bat(plan: &Plan) -> String {
    let p = |p: &Path| format!("\"{}\"", p.display());
    format!(
        "@echo off\r\n\
         rem Written by rwsgi-express: runs the Apache configured in this directory.\r\n\
         rem   start (in this console, until Ctrl-C) | configtest\r\n\
         cd /d {workdir} || exit /b 1\r\n\
         if \"%~1\"==\"start\" ( {httpd} -f {conf} -DONE_PROCESS & exit /b %ERRORLEVEL% )\r\n\
         if \"%~1\"==\"configtest\" ( {httpd} -f {conf} -t & exit /b %ERRORLEVEL% )\r\n\
         echo usage: %~nx0 start^|configtest 1>&2\r\n\
         exit /b 2\r\n",
        httpd = p(&plan.httpd),
        conf = p(&plan.conf_path()),
        workdir = p(&plan.working_directory),
    )
}
