//! httpd.conf: a pure function of the `Plan`, written section by section in the order Apache
//! reads them.
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
    let mut c = String::new();
    let _ = writeln!(
        c,
        "# Written by rwsgi-express {} on every start: change the command-line options, not \
         this file.\n",
        env!("CARGO_PKG_VERSION")
    );
    server(&mut c, plan);
    modules(&mut c, plan);
    requests(&mut c, plan);
    processes(&mut c, plan);
    logs(&mut c, plan);
    // Nothing on the file system is served unless a section below allows it.
    c.push_str("\n<Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n\n");
    python(&mut c, plan);
    wsgi_mode(&mut c, plan);
    wsgi_requests(&mut c, plan);
    document_root(&mut c, plan);
    handler_scripts(&mut c, plan);
    access_control(&mut c, plan);
    locations(&mut c, plan);
    https(&mut c, plan);
    for f in &plan.include_files {
        let _ = writeln!(c, "\nInclude {}", qp_for(plan.os, f));
    }
    c
}

/// Where the server keeps its files, its names, its user and what it listens on.
fn server(c: &mut String, plan: &Plan) {
    let qp = |p: &Path| qp_for(plan.os, p);
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
}

/// The modules the options need, then the WSGI module.
fn modules(c: &mut String, plan: &Plan) {
    let qp = |p: &Path| qp_for(plan.os, p);
    let load = |c: &mut String, name: &str, file: &str| {
        let _ = writeln!(
            c,
            "LoadModule {name}_module {}",
            qp(&plan.modules_dir.join(format!("mod_{file}.so")))
        );
    };
    // Apache for Windows has its MPM built in.
    if plan.mpm != Mpm::Winnt {
        let mpm = format!("mpm_{}", plan.mpm.name());
        load(c, &mpm, &mpm);
    }
    if plan.run_as.is_some() {
        // User and Group: built into Debian's apache2, a module on RHEL and in source builds.
        c.push_str("<IfModule !unixd_module>\n    ");
        load(c, "unixd", "unixd");
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
        load(c, m, m);
    }
    if !plan.setenv.is_empty() || !plan.passenv.is_empty() {
        load(c, "env", "env");
    }
    if plan.logs.access_format.is_some() {
        // Built into Debian's apache2, a module elsewhere.
        c.push_str("<IfModule !log_config_module>\n    ");
        load(c, "log_config", "log_config");
        c.push_str("</IfModule>\n");
    }
    if plan.directory_index.is_some() {
        load(c, "dir", "dir");
    }
    if plan.compress_responses {
        load(c, "filter", "filter");
        load(c, "deflate", "deflate");
    }
    if plan.server_status {
        load(c, "status", "status");
    }
    if plan.https.is_some() {
        load(c, "socache_shmcb", "socache_shmcb");
        load(c, "ssl", "ssl");
    }
    if let Some(auth) = &plan.auth {
        load(c, "authn_core", "authn_core");
        let kind = format!("auth_{}", auth.kind.to_ascii_lowercase());
        load(c, &kind, &kind);
        load(c, "authz_user", "authz_user");
    }
    if let Some(dll) = &plan.python_dll {
        // Windows: the module imports python3XX.dll, which is not on Apache's DLL path.
        let _ = writeln!(c, "LoadFile {}", qp(dll));
    }
    let _ = writeln!(c, "LoadModule wsgi_module {}\n", qp(&plan.module));
}

/// How Apache reads requests and sends responses: types, sendfile, compression, timeouts
/// and limits.
fn requests(c: &mut String, plan: &Plan) {
    // Without a types file Apache fails at start-up (not in `httpd -t`): use an empty one.
    let null = match plan.os {
        Os::Unix => Path::new("/dev/null"),
        Os::Windows => Path::new("NUL"),
    };
    let types = plan.mime_types.as_deref().unwrap_or(null);
    let _ = writeln!(c, "TypesConfig {}", qp_for(plan.os, types));
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
}

/// The MPM's processes and threads, and how they stop.
fn processes(c: &mut String, plan: &Plan) {
    mpm_sizing(c, plan);
    c.push_str("MaxConnectionsPerChild 0\n");
    if plan.mpm != Mpm::Winnt {
        // SIGTERM is a graceful stop: requests in flight get this long to finish.
        let _ = writeln!(c, "GracefulShutdownTimeout {}", plan.shutdown_timeout);
    }
    c.push('\n');
}

fn logs(c: &mut String, plan: &Plan) {
    let qp = |p: &Path| qp_for(plan.os, p);
    let _ = writeln!(c, "ErrorLog {}", qp(&plan.logs.error_log()));
    let _ = writeln!(c, "LogLevel {}", log_level(plan.logs.level));
    if let Some(format) = &plan.error_log_format {
        let _ = writeln!(c, "ErrorLogFormat {}", q(format));
    }
    if let Some(format) = &plan.logs.access_format {
        let _ = writeln!(c, "LogFormat {} rwsgi", q(format));
        let _ = writeln!(c, "CustomLog {} rwsgi", qp(&plan.logs.access_log()));
    }
}

/// The Python home, sys.path (embedded mode) and warnings options.
fn python(c: &mut String, plan: &Plan) {
    if let Some(home) = &plan.python_home {
        let _ = writeln!(c, "WSGIPythonHome {}", qp_for(plan.os, home));
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
}

/// Where the application runs: the daemon process group, or Apache's children.
fn wsgi_mode(c: &mut String, plan: &Plan) {
    match &plan.daemon {
        Some(d) => {
            // No Python in Apache's children. The sockets live in the server root, not in
            // Apache's system run directory.
            c.push_str("WSGIRestrictEmbedded On\n");
            let socket_prefix = qp_for(plan.os, &plan.server_root.join("wsgi"));
            let _ = writeln!(c, "WSGISocketPrefix {socket_prefix}");
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
            // For the group alone: its Python may be another than the module's (exec'd).
            if plan.free_threading {
                let _ = writeln!(
                    c,
                    "<WSGIInterpreterOptions process-group={}>\nWSGIFreeThreading On\n</WSGIInterpreterOptions>",
                    d.name
                );
            }
        }
        None => {
            c.push_str("WSGIRestrictEmbedded Off\n");
            if plan.free_threading {
                c.push_str("WSGIFreeThreading On\n");
            }
            if plan.server_metrics {
                c.push_str("WSGIServerMetrics On\n");
            }
        }
    }
}

/// What the module does with every request: authorization, HEAD, chunked bodies, output
/// coalescing, the environment and the trusted proxies.
fn wsgi_requests(c: &mut String, plan: &Plan) {
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
}

/// The document root, and the rewrite rule that hands every URL without a file to the
/// application.
fn document_root(c: &mut String, plan: &Plan) {
    let qp = |p: &Path| qp_for(plan.os, p);
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
}

/// handler.wsgi as the `wsgi-handler` the rewrite rule names, loaded at start.
fn handler_scripts(c: &mut String, plan: &Plan) {
    if plan.app == App::Static {
        return;
    }
    let handler = qp_for(plan.os, &plan.handler_path());
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

/// `--auth-*` and `--host-access-script` on the mount point.
fn access_control(c: &mut String, plan: &Plan) {
    if plan.auth.is_none() && plan.host_access_script.is_none() {
        return;
    }
    let qp = |p: &Path| qp_for(plan.os, p);
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

/// The URLs with settings of their own: `--ignore-activity` (daemon mode),
/// `/server-status` and `--url-alias`.
fn locations(c: &mut String, plan: &Plan) {
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
        let _ = writeln!(c, "\nAlias {} {}", q(url), qp_for(plan.os, path));
        let _ = writeln!(
            c,
            "<Location {}>\n    Require all granted\n</Location>",
            q(url)
        );
    }
}

/// The HTTPS port's virtual host, and with `--https-only` the HTTP port's redirect to it.
fn https(c: &mut String, plan: &Plan) {
    let Some(h) = &plan.https else {
        return;
    };
    let qp = |p: &Path| qp_for(plan.os, p);
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
