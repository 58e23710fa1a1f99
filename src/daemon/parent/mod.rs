//! The Apache parent's part of daemon mode: each configuration generation's checks, its
//! private socket directory, one listening socket per group and its secret, and the fork of
//! its supervisor (at start-up only once Apache's scoreboard exists, in `pre_mpm`); then
//! the watch over that supervisor (`watch`).

mod launch;
mod watch;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use self::launch::LaunchError;
use super::{DaemonRuntime, Generation, Group, ScriptOwner, supervisor};
use crate::apache::{Pool, Server, process, scoreboard};
use crate::config::{AliasPattern, DaemonOptions, GroupSpec, PythonSettings};
use rwsgi_core::errorlog_format::Syslog;
use rwsgi_core::protocol::SECRET_LEN;
use rwsgi_runtime::daemon::accounts::{AccountError, resolve_group, resolve_user};
use rwsgi_runtime::os;

/// Why a generation's daemon mode cannot be set up: `apache2 -t` or the start fails with it.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error(
        "WSGIDaemonProcess: the group name '{0}' is defined more than once; daemon group names must be unique across all virtual hosts"
    )]
    DuplicateGroup(String),
    #[error(
        "{directive}: process-group={name} names no WSGIDaemonProcess group visible in this server; define it with WSGIDaemonProcess {name} ... (in this <VirtualHost> or the main server)"
    )]
    UnknownGroup {
        directive: &'static str,
        name: String,
    },
    #[error("cannot resolve Apache's runtime directory")]
    RuntimeDir,
    #[error(
        "WSGIFreeThreading On applies to Apache's children (process-group=%{{GLOBAL}}), which run this mod_rwsgi.so's Python {}, built with a GIL; build rwsgi with a free-threaded Python, or turn it on for daemon groups on one only",
        crate::linked::LINKED_VERSION
    )]
    EmbeddedNotFreeThreaded,
    #[error(
        "RW0200: cannot create the daemon socket directory {}: {source}; set WSGISocketPrefix to a directory Apache can write (e.g. WSGISocketPrefix /var/run/apache2/wsgi)",
        dir.display()
    )]
    SocketDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("RW0200: cannot read /dev/urandom for the daemon secret: {0}")]
    Secret(std::io::Error),
    #[error(
        "RW0200: the daemon socket path {} is too long for a unix socket (over 100 bytes); set a shorter WSGISocketPrefix",
        .0.display()
    )]
    SocketPathTooLong(PathBuf),
    #[error("RW0200: cannot create the daemon socket {}: {source}", socket.display())]
    Socket {
        socket: PathBuf,
        source: std::io::Error,
    },
    #[error("RW0200: chown {}: {source}", socket.display())]
    Chown {
        socket: PathBuf,
        source: std::io::Error,
    },
    /// `socket-user=` names no account.
    #[error(transparent)]
    SocketUser(#[from] AccountError),
    #[error("RW0200: WSGIDaemonProcess {group}: {option}: {source}")]
    ScriptOwner {
        group: String,
        option: &'static str,
        source: AccountError,
    },
    #[error("RW0200: fork of the daemon supervisor: {0}")]
    Fork(std::io::Error),
    /// The Python a group names cannot run its daemons.
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

/// Every daemon group of the configuration, once, checking names are unique server-wide.
pub fn all_groups(server: Server<'_>) -> Result<Vec<Arc<DaemonOptions>>, GenerationError> {
    let mut out: Vec<Arc<DaemonOptions>> = Vec::new();
    let mut s = Some(server);
    while let Some(srv) = s {
        for g in &srv.config().daemon_groups {
            match out.iter().find(|o| o.name == g.name) {
                Some(o) if Arc::ptr_eq(o, g) => {}
                Some(_) => {
                    return Err(GenerationError::DuplicateGroup(g.name.clone()));
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
pub fn check_config(server: Server<'_>) -> Result<(), GenerationError> {
    let apache_user = Server::unixd_user();
    let python = &server.config().python;
    for group in all_groups(server)? {
        let free_threading = python.free_threading_in(&group.name);
        match launch::exec_python(&group)? {
            Some(exec) => {
                let probed = launch::probe(&group, &exec, &apache_user, os::is_root())?;
                if free_threading && !probed.free_threaded {
                    return Err(LaunchError::NotFreeThreaded {
                        group: group.name.clone(),
                        python: exec.display().to_string(),
                    }
                    .into());
                }
            }
            None if free_threading && !cfg!(Py_GIL_DISABLED) => {
                return Err(LaunchError::NotFreeThreaded {
                    group: group.name.clone(),
                    python: format!(
                        "this mod_rwsgi.so's Python {}",
                        crate::linked::LINKED_VERSION
                    ),
                }
                .into());
            }
            None => {}
        }
    }
    // A section for Apache's children (process-group=%{GLOBAL}).
    if python.free_threading_in("") && !cfg!(Py_GIL_DISABLED) {
        return Err(GenerationError::EmbeddedNotFreeThreaded);
    }
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
                return Err(GenerationError::UnknownGroup {
                    directive,
                    name: name.clone(),
                });
            }
        }
        s = srv.next();
    }
    Ok(())
}

/// Starts this generation's daemons (Apache parent, after each configuration read).
pub fn start(pconf: Pool, server: Server<'_>) -> Result<(), GenerationError> {
    // For every mode: after a graceful restart the new children (and, through them, the
    // new daemons) take connections at once, not a second later.
    if process::wake_parent_on_child_exit() && process::config_generation() > 0 {
        process::wake_parent_soon(server);
    }
    let groups = all_groups(server)?;
    if groups.is_empty() {
        return Ok(());
    }
    let dir = socket_dir(pconf, server)?;
    let number = process::config_generation();
    let secret = draw_secret().map_err(GenerationError::Secret)?;
    let groups = groups
        .into_iter()
        .map(|options| group(server, &dir, number, options))
        .collect::<Result<_, _>>()?;
    let generation = Generation {
        number,
        dir,
        secret,
        groups,
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
pub fn start_deferred(server: Server<'_>) -> Result<(), GenerationError> {
    match DEFERRED.with(|d| d.borrow_mut().take()) {
        Some((pconf, generation)) => launch(pconf, server, generation),
        None => Ok(()),
    }
}

fn launch(pconf: Pool, server: Server<'_>, generation: Generation) -> Result<(), GenerationError> {
    let number = generation.number;
    let (_, _, apache_user) = Server::unixd_user();
    let pid = std::process::id();
    let supervisor = supervisor::spawn(&generation).map_err(GenerationError::Fork)?;
    // The parent keeps the listening sockets (and Apache's children inherit them, never
    // accepting): should the supervisor die, another one starts on them (`watch`).
    *super::CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(generation));
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

/// `<WSGISocketPrefix or Apache's runtime directory>/rwsgi.<parent pid>`, created private.
fn socket_dir(pconf: Pool, server: Server<'_>) -> Result<PathBuf, GenerationError> {
    let prefix = match &server.config().socket_prefix {
        Some(p) => p.clone(),
        None => process::runtime_dir_relative(pconf, "rwsgi").ok_or(GenerationError::RuntimeDir)?,
    };
    let dir = PathBuf::from(format!("{prefix}.{}", std::process::id()));
    let (apache_uid, apache_gid, _) = Server::unixd_user();
    match private_dir(&dir, apache_uid, apache_gid) {
        Ok(()) => Ok(dir),
        Err(source) => Err(GenerationError::SocketDir { dir, source }),
    }
}

/// The generation's secret: 32 bytes from the kernel.
fn draw_secret() -> std::io::Result<[u8; SECRET_LEN]> {
    let mut secret = [0u8; SECRET_LEN];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut secret)?;
    Ok(secret)
}

/// One group as this generation runs it: its listening socket (owned by Apache's user,
/// or `socket-user=`), the scripts it runs and preloads, who must own them.
fn group(
    server: Server<'_>,
    dir: &Path,
    number: i32,
    options: Arc<DaemonOptions>,
) -> Result<Group, GenerationError> {
    let socket = dir.join(format!("g{number}-{}.sock", sanitize(&options.name)));
    if socket.as_os_str().len() > 100 {
        return Err(GenerationError::SocketPathTooLong(socket));
    }
    let _ = std::fs::remove_file(&socket);
    let listener = match UnixListener::bind(&socket) {
        Ok(listener) => listener,
        Err(source) => return Err(GenerationError::Socket { socket, source }),
    };
    listen_backlog(&listener, options.listen_backlog);
    if let Err(source) = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)) {
        return Err(GenerationError::Socket { socket, source });
    }
    if os::is_root() {
        let (apache_uid, apache_gid, _) = Server::unixd_user();
        let owner = match &options.socket_user {
            Some(a) => resolve_user(a)?.0,
            None => apache_uid,
        };
        if let Err(source) = std::os::unix::fs::chown(&socket, Some(owner), Some(apache_gid)) {
            return Err(GenerationError::Chown { socket, source });
        }
    }
    let (scripts, preload) = scripts_of(server, &options.name);
    let owner_error = |option: &'static str| {
        let group = options.name.clone();
        move |source| GenerationError::ScriptOwner {
            group,
            option,
            source,
        }
    };
    let script_owner = ScriptOwner {
        uid: match &options.script_user {
            Some(a) => Some(resolve_user(a).map_err(owner_error("script-user"))?.0),
            None => None,
        },
        gid: match &options.script_group {
            Some(a) => Some(resolve_group(a).map_err(owner_error("script-group"))?),
            None => None,
        },
    };
    let runtime = DaemonRuntime {
        python: python_settings(server, &options),
        global_used: crate::routing::global_group_reaches(server, &options.name),
        apache_account: Server::unixd_user(),
        exec_python: launch::exec_python(&options)?,
        error_log_format: main_error_log_format(),
        server_name: server.hostname(),
        syslog: {
            let (error_log, argv0) = crate::apache::main_error_log();
            Syslog::from_error_log(&error_log, &argv0)
        },
    };
    Ok(Group {
        runtime,
        socket_timeout: options.socket_timeout.unwrap_or_else(|| server.timeout()),
        options,
        socket,
        scripts,
        preload,
        listener: Some(listener),
        idle: Mutex::new(Vec::new()),
        script_owner,
    })
}

/// The main server's `ErrorLogFormat` (the one-argument form), as an exec'd daemon reads it.
fn main_error_log_format() -> Option<String> {
    let args = crate::apache::main_error_log_format_args()?;
    match rwsgi_core::directive_args::words(&args).ok()?.as_slice() {
        [format] => Some(format.clone()),
        _ => None,
    }
}

/// The group's Python: the server's settings with the group's options over them.
fn python_settings(server: Server<'_>, o: &DaemonOptions) -> PythonSettings {
    let mut settings = server.config().python.clone();
    if let Some(home) = &o.python_home {
        settings.home = Some(home.clone());
    }
    // A daemon's path is its own: WSGIPythonPath is for embedded mode, as in mod_wsgi.
    settings.path = o.python_path.clone();
    settings.first_path = o.home.clone();
    if o.switch_interval.is_some() {
        settings.switch_interval = o.switch_interval;
    }
    if o.python_eggs.is_some() {
        settings.eggs = o.python_eggs.clone();
    }
    settings
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
