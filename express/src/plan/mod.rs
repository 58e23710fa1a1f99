//! Turns the command line and the host's facts into a checked, fully resolved `Plan`: every
//! path absolute, every default applied, every inconsistency reported before Apache starts.
use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::{ApplicationType, Mpm, ServerArgs};
use crate::host::Host;
use crate::platform::{self, Accounts, Os};

mod model;
mod parts;

pub use model::*;
use parts::*;

pub fn resolve(args: &ServerArgs, host: &Host, accounts: &dyn Accounts) -> Result<Plan> {
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
    let (app, named_callable) = resolve_app(args, host)?;
    let mount_point = args.mount_point.trim_end_matches('/').to_owned();
    if !args.mount_point.starts_with('/') {
        bail!("--mount-point {:?} must start with /", args.mount_point);
    }
    // A script's own directory by default: the invoking user's current directory (say,
    // root's home) may be out of reach for Apache's user. A module is imported from here.
    let working_directory = match (&args.working_directory, &app) {
        (Some(d), _) => absolute(&host.cwd, d),
        (None, App::Script(script)) => script
            .parent()
            .map_or_else(|| host.cwd.clone(), Path::to_owned),
        (None, _) => host.cwd.clone(),
    };
    if !working_directory.is_dir() {
        bail!(
            "--working-directory {} is not a directory",
            working_directory.display()
        );
    }
    let mut python_path = vec![working_directory.clone()];
    if let App::Script(script) = &app {
        python_path.extend(script.parent().map(Path::to_owned));
    }
    for p in &args.python_path {
        let p = absolute(&host.cwd, p);
        if !p.is_dir() {
            bail!("--python-path {} is not a directory", p.display());
        }
        python_path.push(p);
    }
    let mut seen = std::collections::HashSet::new();
    python_path.retain(|p| seen.insert(p.clone()));
    let separator = path_list_separator(host.os);
    if let Some(p) = python_path
        .iter()
        .find(|p| p.to_string_lossy().contains(separator))
    {
        bail!(
            "{} contains '{separator}', which separates sys.path entries in WSGIPythonPath; rename it",
            p.display()
        );
    }
    let application_group = &args.application_group;
    if application_group.is_empty()
        || application_group
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        bail!(
            "--application-group {application_group:?}: name a group without spaces, quotes \
             or backslashes, or use %{{GLOBAL}} (the default)"
        );
    }
    let python_home = match &args.python_home {
        Some(h) => {
            let h = absolute(&host.cwd, h);
            if !h.is_dir() {
                bail!("--python-home {} is not a directory", h.display());
            }
            Some(h)
        }
        // Windows: always, as mod_wsgi-express does; Python would otherwise look for its
        // home next to httpd.exe.
        None => host
            .virtual_env
            .clone()
            .or_else(|| (host.os == Os::Windows).then(|| host.python.home.clone())),
    };
    let python_dll = match host.os {
        Os::Unix => None,
        Os::Windows => {
            let home = python_home.as_deref().unwrap_or(&host.python.home);
            let dll = platform::python_dll_for(home).or_else(|| host.python.dll.clone());
            Some(dll.ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot find python{}.dll for the Python home {}: name a python.org Python {} (or a venv made from one) with --python-home",
                    crate::built::PYTHON_VERSION.replace('.', ""),
                    home.display(),
                    crate::built::PYTHON_VERSION
                )
            })?)
        }
    };
    if host.os == Os::Windows && args.processes > 1 {
        bail!(
            "--processes {}: Apache for Windows runs one child process; give it more --threads instead",
            args.processes
        );
    }

    // Daemon processes need fork: Apache for Windows runs the application embedded.
    let daemon_mode = !args.embedded_mode && app != App::Static && host.os == Os::Unix;
    if host.os == Os::Unix && args.server_mpm == Mpm::Prefork && args.threads != 1 && !daemon_mode {
        bail!(
            "the prefork MPM runs one thread per process: add --threads 1, or use \
             --server-mpm worker"
        );
    }
    // Ports below 1024 are not refused here: containers and CAP_NET_BIND_SERVICE allow them
    // without root, and Apache's own error says when they are not allowed.
    let run_as = resolve_run_as(args, host, accounts)?;
    let https = resolve_https(args, host)?;

    let server_root = match &args.server_root {
        Some(d) => absolute(&host.cwd, d),
        None => {
            // mod_wsgi-express's names; ':' cannot be in a Windows file name.
            let sep = if host.os == Os::Windows { '-' } else { ':' };
            host.temp_dir.join(format!(
                "rwsgi-express-{}{sep}{}{sep}{}",
                args.host.as_deref().unwrap_or("localhost"),
                args.port,
                host.user
            ))
        }
    };
    let document_root = match &args.document_root {
        Some(d) => {
            let d = absolute(&host.cwd, d);
            if !d.is_dir() {
                bail!("--document-root {} is not a directory", d.display());
            }
            d
        }
        None => server_root.join("htdocs"),
    };
    let mut url_aliases = Vec::new();
    for pair in args.url_alias.chunks(2) {
        let url = pair[0].clone();
        if !url.starts_with('/') {
            bail!("--url-alias {url:?}: the URL path must start with /");
        }
        let path = absolute(&host.cwd, Path::new(&pair[1]));
        if !path.exists() {
            bail!(
                "--url-alias {url} {}: no such file or directory",
                path.display()
            );
        }
        url_aliases.push((url, path));
    }
    url_aliases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    for url in &args.daemon.ignore_activity {
        if !url.starts_with('/') {
            bail!("--ignore-activity {url:?}: the URL path must start with /");
        }
        one_line("--ignore-activity", url)?;
    }

    let setenv = args
        .setenv
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let (auth, host_access_script) = parts::resolve_auth(args, host)?;
    let mut include_files = Vec::new();
    for f in &args.include_file {
        let f = absolute(&host.cwd, f);
        if !f.is_file() {
            bail!("--include-file {}: no such file", f.display());
        }
        include_files.push(f);
    }

    let terminal = args.log_directory.is_none() && (args.log_to_terminal || host.terminal);
    let logs = Logs {
        terminal,
        os: host.os,
        directory: args
            .log_directory
            .as_ref()
            .map(|d| absolute(&host.cwd, d))
            .unwrap_or_else(|| server_root.clone()),
        error_name: args.error_log_name.clone(),
        access_name: args.access_log_name.clone(),
        access_format: args
            .access_log
            .then(|| access_log_format(&args.access_log_format)),
        level: args.log_level,
    };
    if args.log_directory.is_some() && !logs.directory.is_dir() {
        bail!(
            "--log-directory {} is not a directory",
            logs.directory.display()
        );
    }

    let request_read_timeout = format!(
        "{} {}",
        read_timeout(
            "header",
            args.header_timeout,
            args.header_max_timeout,
            args.header_min_rate
        ),
        read_timeout(
            "body",
            args.body_timeout,
            args.body_max_timeout,
            args.body_min_rate
        )
    );

    let locale = args.locale.clone().unwrap_or_else(default_locale);
    one_line("--locale", &locale)?;
    let mut notices = Vec::new();
    let daemon = if daemon_mode {
        Some(resolve_daemon(
            args,
            host,
            &working_directory,
            &python_path,
            &locale,
        )?)
    } else {
        let why = if app == App::Static {
            "static files run no application"
        } else if host.os == Os::Windows {
            "Apache for Windows runs the application embedded (it has no daemon processes)"
        } else {
            "--embedded-mode runs the application in Apache's children"
        };
        notices.extend(unused_daemon_options(args, why));
        None
    };
    if run_as.as_ref().is_some_and(|r| r.defaulted) {
        let r = run_as.as_ref().unwrap();
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

    let python_executable =
        platform::python_executable(python_home.as_deref().unwrap_or(&host.python.home));
    Ok(Plan {
        os: host.os,
        application_group: args.application_group.clone(),
        python_dll,
        callable: named_callable.unwrap_or_else(|| args.callable_object.clone()),
        reload_script: matches!(app, App::Script(_)) && !args.disable_reloading,
        check_app: !args.lazy_app && app != App::Static,
        app,
        mount_point,
        working_directory,
        python_path,
        python_home,
        python_warnings: args.python_warnings.clone(),
        python_executable,
        setenv,
        passenv: args.passenv.clone(),
        reload_on_changes: args.reload_on_changes,
        include_files,
        auth,
        host_access_script,
        error_override: args.error_override,
        ignore_activity: args.daemon.ignore_activity.clone(),
        map_head_to_get: args.map_head_to_get,
        chunked_request: args.chunked_request,
        stream_coalescing: args.stream_coalescing,
        processes: args.processes,
        threads: args.threads,
        daemon,
        mpm: match host.os {
            Os::Unix => args.server_mpm,
            Os::Windows => Mpm::Winnt,
        },
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
        request_read_timeout,
        timeout: args.daemon.socket_timeout.unwrap_or(60),
        shutdown_timeout: args.daemon.shutdown_timeout.unwrap_or(5),
        trust_proxy_headers: args.trust_proxy_header.clone(),
        trust_proxies: args.trust_proxy.clone(),
        https,
        url_aliases,
        document_root,
        logs,
        pid_file: args
            .pid_file
            .as_ref()
            .map(|p| absolute(&host.cwd, p))
            .unwrap_or_else(|| server_root.join("httpd.pid")),
        server_root,
        run_as,
        httpd: host.httpd.clone(),
        modules_dir: host.modules_dir.clone(),
        module: host.module.clone(),
        mime_types: match &args.mime_types {
            Some(m) => {
                let m = absolute(&host.cwd, m);
                if !m.is_file() {
                    bail!("--mime-types {}: no such file", m.display());
                }
                Some(m)
            }
            None => host.mime_types.clone(),
        },
        directory_index: args.directory_index.clone().or_else(|| {
            (args.application_type == Some(ApplicationType::Static))
                .then(|| "index.html".to_owned())
        }),
        enable_sendfile: args.enable_sendfile,
        compress_responses: args.compress_responses,
        rewrite_rules: match &args.rewrite_rules {
            Some(f) => {
                let f = absolute(&host.cwd, f);
                if !f.is_file() {
                    bail!("--rewrite-rules {}: no such file", f.display());
                }
                Some(f)
            }
            None => None,
        },
        error_log_format: args.error_log_format.clone(),
        server_status: args.server_status,
        server_metrics: args.server_metrics,
        locale,
        notices,
    })
}
