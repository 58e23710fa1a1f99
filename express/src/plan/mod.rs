//! Turns the command line and the host's facts into a checked, fully resolved `Plan`: every
//! path absolute, every default applied, every inconsistency reported before Apache starts.
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::cli::{Mpm, ServerArgs};
use crate::host::Host;
use crate::platform::{Accounts, Os};

mod daemon;
mod model;
mod parts;
mod python;
mod server;

use daemon::*;
pub use model::*;
use parts::*;
use python::{Python, check_own_python, resolve_python};
use server::*;

/// The `Plan` for `args` on `host`, or the first refusal: the steps run in this order, so
/// which refusal a command line with several problems gets stays the same. Ports below 1024
/// are not refused: containers and CAP_NET_BIND_SERVICE allow them without root, and
/// Apache's own error says when they are not allowed.
pub fn resolve(args: &ServerArgs, host: &Host, accounts: &dyn Accounts) -> Result<Plan> {
    check_texts(args)?;
    let (app, named_callable) = resolve_app(args, host)?;
    let mount_point = mount_point(args)?;
    let python = resolve_python(args, host, &app)?;
    let daemon_mode = runs_daemons(args, host, &app);
    check_own_python(&python, daemon_mode)?;
    check_processes(args, host, daemon_mode)?;
    let run_as = resolve_run_as(args, host, accounts)?;
    let https = resolve_https(args, host)?;
    let site = resolve_site(args, host)?;
    check_ignore_activity(args)?;
    let (auth, host_access_script) = resolve_auth(args, host)?;
    let include_files = include_files(args, host)?;
    let logs = resolve_logs(args, host, &site.server_root)?;
    let locale = locale(args)?;
    let daemon = daemon_mode
        .then(|| resolve_daemon(args, host, &python, &locale))
        .transpose()?;
    let mime_types = mime_types(args, host)?;
    let rewrite_rules = rewrite_rules(args, host)?;
    let notices = notices(args, host, &app, daemon_mode, run_as.as_ref());
    let resolved = Resolved {
        app,
        named_callable,
        mount_point,
        python,
        run_as,
        https,
        site,
        auth,
        host_access_script,
        include_files,
        logs,
        locale,
        daemon,
        mime_types,
        rewrite_rules,
        notices,
    };
    Ok(resolved.into_plan(args, host))
}

/// What the steps of [`resolve`] worked out; the rest of a [`Plan`] is copied from the
/// options and the host.
struct Resolved {
    app: App,
    /// The callable an entry point `pkg.module:callable` names.
    named_callable: Option<String>,
    mount_point: String,
    python: Python,
    run_as: Option<RunAs>,
    https: Option<Https>,
    site: Site,
    auth: Option<Auth>,
    host_access_script: Option<PathBuf>,
    include_files: Vec<PathBuf>,
    logs: Logs,
    locale: String,
    daemon: Option<DaemonGroup>,
    mime_types: Option<PathBuf>,
    rewrite_rules: Option<PathBuf>,
    notices: Vec<String>,
}

impl Resolved {
    fn into_plan(self, args: &ServerArgs, host: &Host) -> Plan {
        Plan {
            os: host.os,
            application_group: args.application_group.clone(),
            python_dll: self.python.dll,
            callable: self
                .named_callable
                .unwrap_or_else(|| args.callable_object.clone()),
            reload_script: matches!(self.app, App::Script(_)) && !args.disable_reloading,
            check_app: !args.lazy_app && self.app != App::Static,
            app: self.app,
            mount_point: self.mount_point,
            working_directory: self.python.working_directory,
            python_path: self.python.path,
            python_home: self.python.home,
            python_warnings: args.python_warnings.clone(),
            free_threading: args.free_threading,
            python_executable: self.python.executable,
            setenv: args
                .setenv
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect(),
            passenv: args.passenv.clone(),
            reload_on_changes: args.reload_on_changes,
            include_files: self.include_files,
            auth: self.auth,
            host_access_script: self.host_access_script,
            error_override: args.error_override,
            ignore_activity: args.daemon.ignore_activity.clone(),
            map_head_to_get: args.map_head_to_get,
            chunked_request: args.chunked_request,
            stream_coalescing: args.stream_coalescing,
            processes: args.processes,
            threads: args.threads,
            daemon: self.daemon,
            mpm: mpm(args, host),
            host: args.host.clone(),
            port: args.port,
            server_name: args
                .server_name
                .clone()
                .unwrap_or_else(|| "localhost".to_owned()),
            server_aliases: args.server_alias.clone(),
            limit_request_body: args.limit_request_body,
            keep_alive_timeout: args.keep_alive_timeout,
            server_backlog: args.server_backlog,
            request_read_timeout: request_read_timeout(args),
            timeout: args.daemon.socket_timeout.unwrap_or(60),
            shutdown_timeout: args.daemon.shutdown_timeout.unwrap_or(5),
            trust_proxy_headers: args.trust_proxy_header.clone(),
            trust_proxies: args.trust_proxy.clone(),
            https: self.https,
            url_aliases: self.site.url_aliases,
            document_root: self.site.document_root,
            logs: self.logs,
            pid_file: self.site.pid_file,
            server_root: self.site.server_root,
            run_as: self.run_as,
            httpd: host.httpd.clone(),
            modules_dir: host.modules_dir.clone(),
            module: host.module.clone(),
            mime_types: self.mime_types,
            directory_index: directory_index(args),
            enable_sendfile: args.enable_sendfile,
            compress_responses: args.compress_responses,
            rewrite_rules: self.rewrite_rules,
            error_log_format: args.error_log_format.clone(),
            server_status: args.server_status,
            server_metrics: args.server_metrics,
            locale: self.locale,
            notices: self.notices,
        }
    }
}

/// Every value written into httpd.conf is one line, and every `--setenv`/`--passenv` name
/// is an environment variable's.
fn check_texts(args: &ServerArgs) -> Result<()> {
    let mut texts: Vec<(&str, String)> = vec![("--mount-point", args.mount_point.clone())];
    texts.extend(args.setenv.iter().map(|v| ("--setenv", v.clone())));
    texts.extend(args.url_alias.iter().map(|v| ("--url-alias", v.clone())));
    texts.extend(
        args.server_name
            .iter()
            .map(|v| ("--server-name", v.clone())),
    );
    texts.extend(
        args.server_alias
            .iter()
            .map(|v| ("--server-alias", v.clone())),
    );
    texts.extend(
        args.error_log_format
            .iter()
            .map(|v| ("--error-log-format", v.clone())),
    );
    texts.push(("--access-log-format", args.access_log_format.clone()));
    texts.extend(
        args.application
            .iter()
            .map(|v| ("the application", v.clone())),
    );
    texts.extend(
        args.entry_point
            .iter()
            .map(|v| ("--entry-point", v.clone())),
    );
    for p in args
        .python_path
        .iter()
        .chain(&args.working_directory)
        .chain(&args.server_root)
    {
        texts.push(("path", p.to_string_lossy().into_owned()));
    }
    for (what, value) in &texts {
        one_line(what, value)?;
    }
    let names = args.setenv.iter().step_by(2).chain(&args.passenv);
    for name in names {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("{name:?} is not an environment variable name (letters, digits and _)");
        }
    }
    Ok(())
}

/// What to tell the user at start-up: options that have no effect here, and the user
/// Apache's children run as when rwsgi-express picked it.
fn notices(
    args: &ServerArgs,
    host: &Host,
    app: &App,
    daemon_mode: bool,
    run_as: Option<&RunAs>,
) -> Vec<String> {
    let mut notices = Vec::new();
    if !daemon_mode {
        let why = if *app == App::Static {
            "static files run no application"
        } else if host.os == Os::Windows {
            "Apache for Windows runs the application embedded (it has no daemon processes)"
        } else {
            "--embedded-mode runs the application in Apache's children"
        };
        notices.extend(unused_daemon_options(args, why));
    }
    if let Some(r) = run_as.filter(|r| r.defaulted) {
        notices.push(format!(
            "running as root: Apache's children run as {}:{} (choose with --user/--group)",
            r.user, r.group
        ));
    }
    if !args.trust_proxy.is_empty() && args.trust_proxy_header.is_empty() {
        notices.push(
            "--trust-proxy has no effect without --trust-proxy-header (which headers to trust)"
                .to_owned(),
        );
    }
    if host.os == Os::Windows && args.server_mpm != Mpm::Worker {
        notices.push(format!(
            "--server-mpm {} has no effect: Apache for Windows has one MPM (winnt)",
            args.server_mpm.name()
        ));
    }
    notices
}
