//! Writing the server root, checking the configuration, and running Apache in the foreground
//! with signals forwarded.
use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::plan::Plan;
use crate::render;

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// Creates (or re-uses) the server root and writes httpd.conf, handler.wsgi and apachectl.
/// An existing server root must be ours and writable only by us: it holds the configuration
/// Apache runs as root with.
pub fn write_server_root(plan: &Plan) -> Result<()> {
    let root = &plan.server_root;
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "the server root {} {why}; remove it or choose another with --server-root",
            root.display()
        )
    };
    if let Some(parent) = root.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        // Others must not be able to swap the server root under us (/tmp is sticky).
        let m = std::fs::metadata(parent)?;
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            bail!(
                "{} is writable by everyone without the sticky bit: choose a --server-root \
                 elsewhere",
                parent.display()
            );
        }
    }
    // Not recursive: a symlink planted in the meantime makes this fail instead of being
    // followed. Whatever exists is then checked without following links.
    match std::fs::DirBuilder::new().mode(0o755).create(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create the server root {}", root.display()));
        }
    }
    let m = std::fs::symlink_metadata(root)?;
    if !m.is_dir() || m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o022 != 0 {
        return Err(refuse(
            "is not a directory owned by you and writable only by you",
        ));
    }
    if let Some(pid) = running_apache(plan) {
        return Err(refuse(&format!(
            "is in use by a running Apache (pid {pid}): stop it first"
        )));
    }
    // Apache's unprivileged children read the handler from here.
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
    let htdocs = root.join("htdocs");
    if !htdocs.exists() {
        std::fs::DirBuilder::new().mode(0o755).create(&htdocs)?;
    }
    write_file(&plan.conf_path(), &render::httpd_conf(plan), 0o644)?;
    if plan.app != crate::plan::App::Static {
        write_file(&plan.handler_path(), &render::handler_wsgi(plan), 0o644)?;
    }
    write_file(&root.join("apachectl"), &render::apachectl(plan), 0o755)?;
    Ok(())
}

/// The pid in the server root's pid file, when that process is an Apache using this
/// configuration.
fn running_apache(plan: &Plan) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(&plan.pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let conf = plan.conf_path();
    let conf = conf.as_os_str().as_encoded_bytes();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == conf)
        .then_some(pid)
}

fn httpd_command(plan: &Plan) -> Command {
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
    // Registered before Apache starts, so no signal is lost in between.
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        .context("cannot install signal handlers")?;
    let child = httpd_command(plan)
        .arg("-DFOREGROUND")
        // Apache signals its whole process group when it stops: give it its own.
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", plan.httpd.display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        let pid_file = plan.pid_file.clone();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                let forward = match sig {
                    SIGTERM | SIGINT => {
                        stopping.store(true, Ordering::SeqCst);
                        Signal::SIGTERM
                    }
                    // Apache's graceful restart. SIGUSR1 kills an Apache that has not set up
                    // its handlers yet: wait until it has written its pid file.
                    _ => {
                        wait_until_started(&pid_file, pid);
                        Signal::SIGUSR1
                    }
                };
                let _ = kill(pid, forward);
            }
        });
    }
    if plan.reload_on_changes {
        let dirs = plan.python_path.clone();
        let extra: Vec<PathBuf> = match &plan.app {
            crate::plan::App::Script(p) => vec![p.clone()],
            _ => Vec::new(),
        };
        std::thread::spawn(move || watch(&dirs, &extra, pid));
    }
    let (code, how) = wait_for(pid)?;
    drop(child);
    let stopped = stopping.load(Ordering::SeqCst);
    // A stop requested before Apache installed its handlers ends it by the signal itself.
    let code = if stopped && code == 128 + Signal::SIGTERM as i32 {
        0
    } else {
        code
    };
    if stopped {
        eprintln!("rwsgi-express: Apache stopped");
        return Ok(code);
    }
    eprintln!("rwsgi-express: Apache exited unexpectedly ({how})");
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
    Ok(if code == 0 { 1 } else { code })
}

/// Waits (up to 30 s) until Apache has written `pid` into its pid file, which it does
/// after installing its signal handlers.
fn wait_until_started(pid_file: &Path, pid: Pid) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let written = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if written == Some(pid.as_raw()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for Apache, reaping any other child on the way: as PID 1 in a container, orphans
/// (say, Apache's children after Apache itself was killed) are re-parented to us.
fn wait_for(apache: Pid) -> Result<(i32, String)> {
    use nix::sys::wait::{WaitStatus, waitpid};
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == apache => {
                return Ok((code, format!("exit status {code}")));
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == apache => {
                return Ok((128 + signal as i32, format!("killed by {signal}")));
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("waiting for Apache"),
        }
    }
}

/// The application's Python files and their modification times. Skips hidden directories,
/// caches and virtual environments (their files change only on installs).
fn python_files(dirs: &[PathBuf], extra: &[PathBuf]) -> HashMap<PathBuf, SystemTime> {
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

/// Polls once a second; a changed, added or removed file restarts Apache gracefully.
fn watch(dirs: &[PathBuf], extra: &[PathBuf], pid: Pid) {
    let mut known = python_files(dirs, extra);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = python_files(dirs, extra);
        let changed = now
            .iter()
            .find(|(p, m)| known.get(*p) != Some(m))
            .map(|(p, _)| p.clone())
            .or_else(|| known.keys().find(|p| !now.contains_key(*p)).cloned());
        if let Some(path) = changed {
            eprintln!(
                "rwsgi-express: {} changed; restarting Apache gracefully",
                path.display()
            );
            if kill(pid, Signal::SIGUSR1).is_err() {
                return;
            }
        }
        known = now;
    }
}
