//! Writing the server root, checking the configuration, and running Apache in the foreground
//! (the platform's part of that is in `platform`).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::plan::Plan;
use crate::platform;
use crate::render;

/// Creates (or re-uses) the server root and writes httpd.conf, handler.wsgi and apachectl.
/// An existing server root must be ours and writable only by us: it holds the configuration
/// Apache runs with.
pub fn write_server_root(plan: &Plan) -> Result<()> {
    let root = &plan.server_root;
    platform::prepare_server_root(root)?;
    if let Some(pid) = platform::running_apache(&plan.pid_file, &plan.conf_path()) {
        bail!(
            "the server root {} is in use by a running Apache (pid {pid}): stop it first; \
             remove it or choose another with --server-root",
            root.display()
        );
    }
    let htdocs = root.join("htdocs");
    if !htdocs.exists() {
        platform::create_dir(&htdocs)?;
    }
    platform::write_file(&plan.conf_path(), &render::httpd_conf(plan), false)?;
    if plan.app != crate::plan::App::Static {
        platform::write_file(&plan.handler_path(), &render::handler_wsgi(plan), false)?;
    }
    let (name, script) = render::apachectl(plan);
    platform::write_file(&root.join(name), &script, true)?;
    Ok(())
}

pub fn httpd_command(plan: &Plan) -> Command {
    let mut cmd = Command::new(&plan.httpd);
    cmd.arg("-f").arg(plan.conf_path());
    cmd.current_dir(&plan.working_directory);
    cmd.env("LANG", &plan.locale).env("LC_ALL", &plan.locale);
    cmd
}

/// `httpd -t`: Apache's own message when it refuses the configuration.
pub fn config_test(plan: &Plan) -> Result<()> {
    let out = httpd_command(plan)
        .arg("-t")
        .output()
        .with_context(|| format!("cannot run {}", plan.httpd.display()))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        bail!(
            "Apache refused the configuration {}:\n{}",
            plan.conf_path().display(),
            text.trim_end()
        );
    }
    Ok(())
}

pub fn summary(plan: &Plan) -> String {
    let mut s = format!(
        "rwsgi-express {}: serving {}\n",
        env!("CARGO_PKG_VERSION"),
        plan.app.describe()
    );
    let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<9} {v}\n"));
    line("url", plan.url());
    if let Some(h) = plan.https.as_ref().filter(|h| !h.only) {
        line("https", format!("port {}", h.port));
    }
    line("mode", mode(plan));
    if let Some(r) = &plan.run_as {
        line("user", format!("{}:{}", r.user, r.group));
    }
    line(
        "logs",
        if plan.logs.terminal {
            "this terminal".to_owned()
        } else if plan.logs.access_format.is_some() {
            format!(
                "{}, {}",
                plan.logs.error_log().display(),
                plan.logs.access_log().display()
            )
        } else {
            plan.logs.error_log().display().to_string()
        },
    );
    line("config", plan.conf_path().display().to_string());
    if plan.reload_on_changes {
        line(
            "reload",
            "on changes to the application's Python files".to_owned(),
        );
    }
    s
}

/// Where the application runs, for the summary.
pub fn mode(plan: &Plan) -> String {
    let capacity = format!(
        "{} process{} × {} thread{}",
        plan.processes,
        if plan.processes == 1 { "" } else { "es" },
        plan.threads,
        if plan.threads == 1 { "" } else { "s" },
    );
    let mpm = plan.mpm.name();
    match (&plan.daemon, &plan.app) {
        (Some(d), _) => {
            let (servers, threads) = d.front_end(plan.mpm);
            format!(
                "daemon, {capacity} in {} (group {}); Apache's {mpm} MPM relays up to {} \
                 connections",
                d.display_name,
                d.name,
                servers * threads
            )
        }
        (None, crate::plan::App::Static) => format!("static files only ({mpm} MPM)"),
        (None, _) => format!("embedded, {capacity} ({mpm} MPM)"),
    }
}

/// Runs Apache in the foreground until it stops; returns the exit code for rwsgi-express.
pub fn start_server(plan: &Plan) -> Result<i32> {
    let exit = platform::run_apache(platform::Foreground {
        command: httpd_command(plan),
        pid_file: plan.pid_file.clone(),
        changed: plan.reload_on_changes.then(|| changes(plan)),
    })?;
    if exit.stopped {
        eprintln!("rwsgi-express: Apache stopped");
        return Ok(exit.code);
    }
    eprintln!("rwsgi-express: Apache exited unexpectedly ({})", exit.how);
    if !plan.logs.terminal {
        let log = plan.logs.error_log();
        if let Ok(text) = std::fs::read_to_string(&log) {
            let lines: Vec<_> = text.lines().collect();
            eprintln!("the end of {}:", log.display());
            for l in &lines[lines.len().saturating_sub(15)..] {
                eprintln!("  {l}");
            }
        }
    }
    Ok(if exit.code == 0 { 1 } else { exit.code })
}

/// `--reload-on-changes`: each call names a Python file of the application that changed,
/// appeared or went away since the previous call.
fn changes(plan: &Plan) -> Box<dyn FnMut() -> Option<PathBuf> + Send> {
    let dirs = plan.python_path.clone();
    let extra: Vec<PathBuf> = match &plan.app {
        crate::plan::App::Script(p) => vec![p.clone()],
        _ => Vec::new(),
    };
    let mut known = python_files(&dirs, &extra);
    Box::new(move || {
        let now = python_files(&dirs, &extra);
        let changed = now
            .iter()
            .find(|(p, m)| known.get(*p) != Some(m))
            .map(|(p, _)| p.clone())
            .or_else(|| known.keys().find(|p| !now.contains_key(*p)).cloned());
        known = now;
        changed
    })
}

/// The application's Python files and their modification times. Skips hidden directories,
/// caches and virtual environments (their files change only on installs).
pub fn python_files(dirs: &[PathBuf], extra: &[PathBuf]) -> HashMap<PathBuf, SystemTime> {
    fn walk(dir: &Path, depth: u32, out: &mut HashMap<PathBuf, SystemTime>) {
        if depth > 8 || out.len() > 20_000 || dir.join("pyvenv.cfg").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.')
                    && !matches!(
                        name.as_ref(),
                        "__pycache__" | "site-packages" | "node_modules"
                    )
                {
                    walk(&entry.path(), depth + 1, out);
                }
            } else if name.ends_with(".py") {
                if let Ok(m) = entry.metadata().and_then(|m| m.modified()) {
                    out.insert(entry.path(), m);
                }
            }
        }
    }
    let mut out = HashMap::new();
    for d in dirs {
        walk(d, 0, &mut out);
    }
    for f in extra {
        if let Ok(m) = std::fs::metadata(f).and_then(|m| m.modified()) {
            out.insert(f.clone(), m);
        }
    }
    out
}
