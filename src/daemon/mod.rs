//! Daemon mode: `WSGIDaemonProcess` groups run the application in processes of their own,
//! reached from the Apache children over a private unix socket (see docs/daemon.md and the
//! wire protocol in docs/protocol.md).
//!
//! Each folder is the code of one kind of process:
//!
//! | Folder | Runs in | What it does |
//! |---|---|---|
//! | `parent/` | the Apache parent | each generation: checks, socket directory, one socket per group, the secret, the supervisor's fork (`mod.rs`); a new supervisor if it dies (`watch.rs`) |
//! | `client/` | each Apache child | hands a request to its group: connect or reuse a kept connection, send the route and environ (`mod.rs`), relay the body and the response (`relay.rs`) |
//! | `supervisor/` | the supervisor (one per generation, forked from the parent) | forks the daemon processes, respawns them with back-off, replaces one left stopped (`stopped.rs`), answers exec'd daemons' requests for the scoreboard (`scoreboard_relay.rs`), drains or stops them |
//!
//! The daemon processes themselves run `rwsgi_runtime::daemon` (runtime/src/daemon/):
//! forked from the supervisor on the module's Python, or exec'd into the group's own
//! Python, which imports that same code as the `rwsgi._daemon` extension.
//!
//! This file holds what they share: a generation and its groups (built in the parent,
//! inherited by the others through fork), and each group's [`DaemonSpec`].

pub mod client;
mod parent;
mod supervisor;

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::apache::Mpm;
use crate::config::{DaemonOptions, PythonSettings};
use rwsgi_core::daemon_spec::{DaemonSpec, RWSGI_VERSION};
use rwsgi_core::protocol::SECRET_LEN;
use rwsgi_runtime::daemon::EXIT_CONFIG;

pub use self::client::dispatch;
pub use self::parent::{GenerationError, check_config, child_started, start, start_deferred};

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
    /// What the group's daemon processes take from the configuration, decided in the
    /// parent: no daemon process reads Apache's server records.
    pub runtime: DaemonRuntime,
}

/// A daemon process's settings beyond its `WSGIDaemonProcess` options, by value.
pub struct DaemonRuntime {
    /// The group's Python: `WSGIPythonHome` and the interpreter directives, with the
    /// group's `python-home=`, `python-path=`, `home=`, … over them.
    pub python: PythonSettings,
    /// Whether a request for `%{GLOBAL}` can reach this group (its main interpreter is
    /// then kept for it).
    pub global_used: bool,
    /// Apache's `User` (uid, gid, name): the daemons' account without `user=`.
    pub apache_account: (u32, u32, String),
    /// The interpreter the group's daemons are exec'd into; `None`: they are forked.
    pub exec_python: Option<PathBuf>,
    /// The main server's `ErrorLogFormat` and `ServerName`: an exec'd daemon formats its
    /// own lines.
    pub error_log_format: Option<String>,
    pub server_name: String,
    /// The main server's `ErrorLog syslog…`, read as Apache reads it.
    pub syslog: Option<rwsgi_core::errorlog_format::Syslog>,
}

impl Group {
    /// What one of the group's daemon processes needs, by value: built in the child the
    /// supervisor forked for it (Apache's version and banner are final by then).
    pub fn spec(&self, generation: &Generation) -> DaemonSpec {
        DaemonSpec {
            rwsgi_version: RWSGI_VERSION.to_owned(),
            options: (*self.options).clone(),
            secret: generation.secret,
            socket_timeout: self.socket_timeout,
            scripts: self.scripts.clone(),
            preload: self.preload.clone(),
            python: self.runtime.python.clone(),
            global_used: self.runtime.global_used,
            apache_account: self.runtime.apache_account.clone(),
            apache_version: Mpm::apache_version(),
            banner: Mpm::server_banner(),
            log_level: crate::apache::main_log_level(),
            error_log_format: self.runtime.error_log_format.clone(),
            server_name: self.runtime.server_name.clone(),
            syslog: self.runtime.syslog.clone(),
        }
    }
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

/// How a daemon process ended, in words for the log.
pub fn describe_exit(status: nix::sys::wait::WaitStatus) -> String {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) if code == EXIT_CONFIG => {
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
