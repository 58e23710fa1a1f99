//! The daemon part of a [`Plan`](super::Plan): whether the application runs in daemon
//! processes, the `WSGIDaemonProcess` line when it does, and the daemon options given when
//! it does not.

use std::path::Path;

use anyhow::{Result, bail};

use super::model::*;
use super::python::{OwnPython, Python};
use crate::cli::ServerArgs;
use crate::host::Host;
use crate::platform::Os;

/// Whether the application runs in daemon processes. They need fork: Apache for Windows
/// runs the application embedded.
pub(super) fn runs_daemons(args: &ServerArgs, host: &Host, app: &App) -> bool {
    !args.embedded_mode && *app != App::Static && host.os == Os::Unix
}

/// `--ignore-activity`: URL paths, each one line of httpd.conf.
pub(super) fn check_ignore_activity(args: &ServerArgs) -> Result<()> {
    for url in &args.daemon.ignore_activity {
        if !url.starts_with('/') {
            bail!("--ignore-activity {url:?}: the URL path must start with /");
        }
        one_line("--ignore-activity", url)?;
    }
    Ok(())
}

/// Options that configure daemon processes, given where none run.
pub(super) fn unused_daemon_options(args: &ServerArgs, why: &str) -> Option<String> {
    let mut unused = args.daemon.given();
    // Also Apache's `Timeout` and `GracefulShutdownTimeout`, which apply in every mode.
    unused.retain(|o| *o != "--socket-timeout" && *o != "--shutdown-timeout");
    if args.max_clients.is_some() {
        unused.push("--max-clients");
    }
    if args.process_group.is_some() {
        unused.push("--process-group");
    }
    if !args.daemon.ignore_activity.is_empty() {
        unused.push("--ignore-activity");
    }
    if args.error_override {
        unused.push("--error-override");
    }
    (!unused.is_empty()).then(|| {
        format!(
            "{} configure daemon processes; {why}, so they have no effect",
            unused.join(", ")
        )
    })
}

/// The daemon process group: the `WSGIDaemonProcess` line as mod_wsgi-express writes it,
/// checked by the module's own parser.
pub(super) fn resolve_daemon(
    args: &ServerArgs,
    host: &Host,
    python: &Python,
    locale: &str,
) -> Result<DaemonGroup> {
    let (name, display_name) = group_name(args, host)?;
    let options = group_options(args, python, locale, &display_name);
    check_group_options(args, &name, &options)?;
    let workers = args.processes * args.threads;
    let max_clients = match args.max_clients {
        Some(m) => m.max(workers),
        None => 10 + 10.max(workers * 3 / 2),
    };
    Ok(DaemonGroup {
        name,
        display_name,
        options,
        max_clients,
    })
}

/// `--process-group`, else `HOST:PORT`; and what `ps` shows for the group's processes.
fn group_name(args: &ServerArgs, host: &Host) -> Result<(String, String)> {
    let listen_host = args.host.as_deref().unwrap_or("localhost");
    Ok(match &args.process_group {
        Some(g) => {
            check_group_name("--process-group", g)?;
            (g.clone(), format!("(rwsgi:{g})"))
        }
        None => {
            let name = format!("{listen_host}:{}", args.port);
            check_group_name("--host", &name)?;
            let title = format!("(rwsgi:{name}:{})", host.uid);
            (name, title)
        }
    })
}

/// A daemon group name is one word of httpd.conf, and the module's own rules apply.
fn check_group_name(what: &str, name: &str) -> Result<()> {
    if name.starts_with("%{")
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c))
    {
        bail!("{what}: {name:?} cannot name a daemon process group (no spaces, quotes or %{{…}})");
    }
    rwsgi_core::daemon_options::parse(&[name.to_owned()])
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

/// The `WSGIDaemonProcess` options after the group's name, in mod_wsgi-express's order.
fn group_options(
    args: &ServerArgs,
    python: &Python,
    locale: &str,
    display_name: &str,
) -> Vec<(String, String)> {
    let working_directory = python.working_directory.as_path();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut options: Vec<(String, String)> = vec![
        ("display-name".into(), display_name.to_owned()),
        // The daemon works here, and it is first on sys.path.
        ("home".into(), path(working_directory)),
    ];
    // `processes=` also makes wsgi.multiprocess True, which one process is not.
    if args.processes > 1 {
        options.push(("processes".into(), args.processes.to_string()));
    }
    options.push(("threads".into(), args.threads.to_string()));
    let rest: Vec<String> = python
        .path
        .iter()
        .filter(|p| p.as_path() != working_directory)
        .map(|p| path(p))
        .collect();
    if !rest.is_empty() {
        options.push(("python-path".into(), rest.join(":")));
    }
    options.push(("lang".into(), locale.to_owned()));
    options.push(("locale".into(), locale.to_owned()));
    for o in &args.daemon.options() {
        if let Some(value) = o.given.or(o.default) {
            options.push((o.key.to_owned(), value.to_string()));
        }
    }
    if args.server_metrics {
        options.push(("server-metrics".into(), "On".into()));
    }
    // The group's own Python: its daemons are exec'd into it.
    match &python.own {
        Some(OwnPython::Venv { root, .. }) => options.push(("python-home".into(), path(root))),
        Some(OwnPython::Executable(p)) => options.push(("python-executable".into(), path(p))),
        None => {}
    }
    options
}

/// Each option alone first, so a refusal names the flag that gave it; then the whole line,
/// as the module will read it.
fn check_group_options(args: &ServerArgs, name: &str, options: &[(String, String)]) -> Result<()> {
    let daemon_options = args.daemon.options();
    let words = |opts: &[(String, String)]| {
        std::iter::once(name.to_owned())
            .chain(opts.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
    };
    for (i, (key, value)) in options.iter().enumerate() {
        if let Err(e) = rwsgi_core::daemon_options::parse(&words(&options[i..=i])) {
            let flag = daemon_options.iter().find(|o| o.key == key).map_or_else(
                || format!("{key}={value}"),
                |o| format!("{} {value}", o.flag),
            );
            bail!("{flag}: {e}");
        }
    }
    rwsgi_core::daemon_options::parse(&words(options)).map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}
