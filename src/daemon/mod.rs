//! Daemon mode: `WSGIDaemonProcess` groups run the application in processes of their own,
//! reached from the Apache children over a private unix socket (see docs/daemon.md and the
//! wire protocol in docs/protocol.md).
//!
//! - `post_config` (Apache parent, each generation): creates the socket directory and one
//!   listening socket per group, draws the generation's secret and forks the supervisor
//!   (at start-up only once Apache's scoreboard exists, in `pre_mpm`).
//! - `supervisor`: forks the daemon processes, respawns them (backing off when they keep
//!   dying), replaces one left stopped (`stopped`) and drains or stops them when Apache
//!   restarts or stops.
//! - `server`: one daemon process: drops privileges, checks what it must read, starts
//!   Python, serves requests, recycles; with `hub` (where idle threads wait for requests),
//!   `conn` (the request's frames as a WSGI transport), `timeout` (request-timeout) and
//!   `state` (what its threads share).
//! - `client`: the Apache-child side of one request.

pub mod client;
mod conn;
mod hub;
mod server;
mod state;
mod stopped;
mod supervisor;
mod timeout;
mod vars;
mod watch;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::apache::{Pool, Request, Server, os, process, scoreboard, status};
use crate::config::{AliasPattern, DaemonOptions, GroupSpec};
use crate::request_vars::Routed;
use rwsgi_core::protocol::SECRET_LEN;

/// Locks `m`; a thread that panicked while holding it left plain data behind.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One group as this generation runs it.
pub struct Group {
    pub options: Arc<DaemonOptions>,
    pub socket: PathBuf,
    /// Apache's `Timeout` when `socket-timeout=` is not given.
    pub socket_timeout: Duration,
    /// Scripts this group runs or preloads: checked as the daemon's user before Python.
    pub scripts: Vec<String>,
    /// `WSGIImportScript … process-group=<this group>`: (script, application group).
    pub preload: Vec<(String, String)>,
    /// Only in the Apache parent before the fork, the supervisor and daemons.
    listener: Option<UnixListener>,
    /// In an Apache child: connections to the group's daemons between two requests.
    pub idle: Mutex<Vec<client::Pooled>>,
    /// `script-user=` / `script-group=`, resolved once in the Apache parent.
    pub script_owner: ScriptOwner,
}

/// Who must own the scripts a group runs (and their directories).
#[derive(Default)]
pub struct ScriptOwner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Everything the processes of one configuration generation share.
pub struct Generation {
    pub number: i32,
    pub dir: PathBuf,
    pub secret: [u8; SECRET_LEN],
    pub groups: Vec<Group>,
}

impl Generation {
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.options.name == name)
    }
}

/// The current generation, as the Apache children see it (set in the parent before they
/// are forked; statics start empty again after each restart's reload of the module).
static CURRENT: Mutex<Option<Arc<Generation>>> = Mutex::new(None);

pub fn current() -> Option<Arc<Generation>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Hands `request` to its daemon group (`process-group=`, `WSGIProcessGroup`).
pub fn dispatch(r: &mut Request<'_>, request: &Routed) -> i32 {
    let name = &request.route.process_group;
    let generation = current();
    let found = r
        .server()
        .config()
        .daemon_group(name)
        .and(generation.as_ref())
        .and_then(|g| g.group(name).map(|group| (g, group)));
    let Some((generation, group)) = found else {
        tracing::error!(
            "RW0116: no WSGIDaemonProcess group called '{name}' is configured for this server; cannot run {}",
            request.route.script
        );
        return status::INTERNAL_SERVER_ERROR;
    };
    let script = &request.route.script;
    if let Err(why) = client::check_script_owner(group, Path::new(script)) {
        tracing::error!(
            "RW0220: daemon group '{name}' refuses to run {script}: {why}; answering 403"
        );
        return status::FORBIDDEN;
    }
    client::handle(r, generation, group, request)
}

/// Every daemon group of the configuration, once, checking names are unique server-wide.
pub fn all_groups(server: Server<'_>) -> Result<Vec<Arc<DaemonOptions>>, String> {
    let mut out: Vec<Arc<DaemonOptions>> = Vec::new();
    let mut s = Some(server);
    while let Some(srv) = s {
        for g in &srv.config().daemon_groups {
            match out.iter().find(|o| o.name == g.name) {
                Some(o) if Arc::ptr_eq(o, g) => {}
                Some(_) => {
                    return Err(format!(
                        "WSGIDaemonProcess: the group name '{}' is defined more than once; daemon group names must be unique across all virtual hosts",
                        g.name
                    ));
                }
                None => out.push(g.clone()),
            }
        }
        s = srv.next();
    }
    Ok(out)
}

/// Configuration checks that need every server: names used by script aliases and import
/// scripts must be defined groups (so a typo fails `apache2 -t`, not each request).
pub fn check_config(server: Server<'_>) -> Result<(), String> {
    all_groups(server)?;
    let mut s = Some(server);
    while let Some(srv) = s {
        let conf = srv.config();
        let named = conf
            .script_aliases
            .iter()
            .filter_map(|a| match &a.options.process_group {
                Some(GroupSpec::Named(n)) => Some(("WSGIScriptAlias", n)),
                _ => None,
            })
            .chain(
                conf.import_scripts
                    .iter()
                    .filter_map(|i| i.process_group.as_ref().map(|n| ("WSGIImportScript", n))),
            );
        for (directive, name) in named {
            if conf.daemon_group(name).is_none() {
                return Err(format!(
                    "{directive}: process-group={name} names no WSGIDaemonProcess group visible in this server; define it with WSGIDaemonProcess {name} ... (in this <VirtualHost> or the main server)"
                ));
            }
        }
        s = srv.next();
    }
    Ok(())
}

/// Starts this generation's daemons (Apache parent, after each configuration read).
pub fn start(pconf: Pool, server: Server<'_>) -> Result<(), String> {
    // For every mode: after a graceful restart the new children (and, through them, the
    // new daemons) take connections at once, not a second later.
    if process::wake_parent_on_child_exit() && process::config_generation() > 0 {
        process::wake_parent_soon(server);
    }
    let groups = all_groups(server)?;
    if groups.is_empty() {
        return Ok(());
    }
    let conf = server.config();
    let pid = std::process::id();
    let prefix = match &conf.socket_prefix {
        Some(p) => p.clone(),
        None => process::runtime_dir_relative(pconf, "rwsgi")
            .ok_or("cannot resolve Apache's runtime directory")?,
    };
    let dir = PathBuf::from(format!("{prefix}.{pid}"));
    let (apache_uid, apache_gid, _) = Server::unixd_user();
    private_dir(&dir, apache_uid, apache_gid).map_err(|e| {
        format!(
            "RW0200: cannot create the daemon socket directory {}: {e}; set WSGISocketPrefix to a directory Apache can write (e.g. WSGISocketPrefix /var/run/apache2/wsgi)",
            dir.display()
        )
    })?;
    let number = process::config_generation();
    let mut secret = [0u8; SECRET_LEN];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?,
        &mut secret,
    )
    .map_err(|e| format!("RW0200: cannot read /dev/urandom for the daemon secret: {e}"))?;
    let mut runtime = Vec::new();
    for options in groups {
        let socket = dir.join(format!("g{number}-{}.sock", sanitize(&options.name)));
        if socket.as_os_str().len() > 100 {
            return Err(format!(
                "RW0200: the daemon socket path {} is too long for a unix socket (over 100 bytes); set a shorter WSGISocketPrefix",
                socket.display()
            ));
        }
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|e| {
            format!(
                "RW0200: cannot create the daemon socket {}: {e}",
                socket.display()
            )
        })?;
        listen_backlog(&listener, options.listen_backlog);
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        if os::is_root() {
            let owner = match &options.socket_user {
                Some(a) => server::resolve_user(a)?.0,
                None => apache_uid,
            };
            std::os::unix::fs::chown(&socket, Some(owner), Some(apache_gid))
                .map_err(|e| format!("RW0200: chown {}: {e}", socket.display()))?;
        }
        let (scripts, preload) = scripts_of(server, &options.name);
        let owner_error = |option: &str, e: String| {
            format!("RW0200: WSGIDaemonProcess {}: {option}: {e}", options.name)
        };
        let script_owner = ScriptOwner {
            uid: match &options.script_user {
                Some(a) => Some(
                    server::resolve_user(a)
                        .map_err(|e| owner_error("script-user", e))?
                        .0,
                ),
                None => None,
            },
            gid: match &options.script_group {
                Some(a) => {
                    Some(server::resolve_group(a).map_err(|e| owner_error("script-group", e))?)
                }
                None => None,
            },
        };
        runtime.push(Group {
            socket_timeout: options.socket_timeout.unwrap_or_else(|| server.timeout()),
            options,
            socket,
            scripts,
            preload,
            listener: Some(listener),
            idle: Mutex::new(Vec::new()),
            script_owner,
        });
    }
    let generation = Generation {
        number,
        dir,
        secret,
        groups: runtime,
    };
    if !scoreboard::exists() {
        // First start: Apache creates its scoreboard after post_config. Forking the daemons
        // once it exists lets them read it (`mod_wsgi.server_metrics()`).
        DEFERRED.with(|d| *d.borrow_mut() = Some((pconf, generation)));
        return Ok(());
    }
    launch(pconf, server, generation)
}

thread_local! {
    /// A generation prepared in post_config whose daemons start in pre_mpm. The Apache
    /// parent is single-threaded; the configuration pool lives until the next restart.
    static DEFERRED: std::cell::RefCell<Option<(Pool, Generation)>> = const { std::cell::RefCell::new(None) };
}

/// First thing in each Apache child: drop what the parent set up for its own loop.
pub fn child_started() {
    process::forget_parent_sigchld();
}

/// Starts the daemons `start` left for the moment the scoreboard exists.
pub fn start_deferred(server: Server<'_>) -> Result<(), String> {
    match DEFERRED.with(|d| d.borrow_mut().take()) {
        Some((pconf, generation)) => launch(pconf, server, generation),
        None => Ok(()),
    }
}

fn launch(pconf: Pool, server: Server<'_>, generation: Generation) -> Result<(), String> {
    let number = generation.number;
    let (_, _, apache_user) = Server::unixd_user();
    let pid = std::process::id();
    let supervisor = supervisor::spawn(server, &generation)?;
    // The parent keeps the listening sockets (and Apache's children inherit them, never
    // accepting): should the supervisor die, another one starts on them (`watch`).
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(generation));
    watch::started(server, supervisor);
    let parent = pid;
    pconf.on_cleanup(move || {
        // Restart or stop: the old generation drains (finishes what it accepted) and exits.
        if std::process::id() == parent {
            watch::retire();
        }
    });
    tracing::info!(
        "RW0201: daemon supervisor pid {supervisor} started for generation {number} (sockets in a directory only {apache_user} can enter)"
    );
    Ok(())
}

/// Script files requests for `group` run, and the ones it preloads (with their application
/// groups).
fn scripts_of(server: Server<'_>, group: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut scripts = Vec::new();
    let mut preload = Vec::new();
    let mut s = Some(server);
    while let Some(srv) = s {
        let conf = srv.config();
        for a in &conf.script_aliases {
            if matches!(&a.options.process_group, Some(GroupSpec::Named(n)) if n == group)
                && matches!(a.pattern, AliasPattern::Prefix { .. })
                && !scripts.contains(&a.target)
            {
                scripts.push(a.target.clone());
            }
        }
        for i in &conf.import_scripts {
            let entry = (i.path.clone(), i.application_group.clone());
            if i.process_group.as_deref() == Some(group) && !preload.contains(&entry) {
                preload.push(entry);
            }
        }
        s = srv.next();
    }
    (scripts, preload)
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Creates (or takes over) a 0700 directory owned by the Apache user: only Apache's
/// children (and root) can reach the sockets inside.
fn private_dir(dir: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(dir)?;
            if !meta.is_dir() {
                return Err(std::io::Error::other("exists and is not a directory"));
            }
            let me = nix::unistd::geteuid().as_raw();
            if meta.uid() != me && meta.uid() != uid {
                return Err(std::io::Error::other(format!(
                    "exists and belongs to uid {}, not to Apache",
                    meta.uid()
                )));
            }
        }
        Err(e) => return Err(e),
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    if os::is_root() {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    }
    Ok(())
}

fn listen_backlog(listener: &UnixListener, backlog: u32) {
    if let Ok(b) = nix::sys::socket::Backlog::new(backlog.min(i32::MAX as u32) as i32) {
        let _ = nix::sys::socket::listen(listener, b);
    }
}

/// How a daemon process ended, in words for the log.
pub fn describe_exit(status: nix::sys::wait::WaitStatus) -> String {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) if code == server::EXIT_CONFIG => {
            format!("exit status {code}: it could not start (see the line it logged before)")
        }
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, sig, core) => format!(
            "signal {} ({sig}){}",
            sig as i32,
            if core { ", core dumped" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}

/// The file where the supervisor notes why daemon `pid` died, for the Apache child whose
/// request it cut.
pub fn death_note(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("died.{pid}"))
}
