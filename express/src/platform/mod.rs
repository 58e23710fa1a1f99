//! What differs between the platforms rwsgi-express runs on, behind one boundary: where
//! Apache, the module and Python are, who we are, how the server root is made private,
//! and how Apache runs in the foreground.
//!
//! - Unix: Apache drops privileges to `--user`/`--group` (checked before start), and runs
//!   with `-DFOREGROUND` in its own process group; SIGTERM/SIGINT stop it, SIGHUP restarts
//!   it gracefully.
//! - Windows: Apache for Windows (mpm_winnt) runs as the account that starts it, embedded
//!   mode only (no daemon processes: no fork). It runs with `-DONE_PROCESS`; Ctrl-C stops it
//!   (Apache handles the console event itself, rwsgi-express waits for it).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// Looks up users and groups; a trait so configuration rendering can be tested without the
/// machine's account database (`SystemAccounts` is the real one).
pub trait Accounts {
    /// (uid, primary gid, name) of a user name or `#uid`.
    fn user(&self, name: &str) -> Option<(u32, u32, String)>;
    /// (gid, name) of a group name or `#gid`.
    fn group(&self, name: &str) -> Option<(u32, String)>;
    fn group_name(&self, gid: u32) -> Option<String>;
}

/// The operating system family a configuration is written for. Rendering depends on it
/// through the plan (not on `cfg`), so both kinds of configuration are tested everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Unix,
    Windows,
}

/// The system rwsgi-express was built for.
pub const OS: Os = if cfg!(windows) { Os::Windows } else { Os::Unix };

/// The Python installation the module runs: its home (`WSGIPythonHome`) and, on Windows,
/// the `python3XX.dll` Apache must load first (`LoadFile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    pub home: std::path::PathBuf,
    pub dll: Option<std::path::PathBuf>,
}

/// Apache in the foreground, as rwsgi-express runs it.
pub struct Foreground {
    /// `httpd -f httpd.conf`, with its working directory and environment.
    pub command: std::process::Command,
    /// Apache's pid file: it writes it once its signal handlers are set up.
    pub pid_file: std::path::PathBuf,
    /// With `--reload-on-changes` (Unix): asked once a second, names a changed file, and
    /// Apache restarts gracefully.
    pub changed: Option<Box<dyn FnMut() -> Option<std::path::PathBuf> + Send>>,
}

/// How Apache ended.
#[derive(Debug)]
pub struct Exit {
    /// The exit code for rwsgi-express.
    pub code: i32,
    /// rwsgi-express was asked to stop it (a signal, Ctrl-C).
    pub stopped: bool,
    /// What happened, for a message: "exit status 1", "killed by SIGKILL".
    pub how: String,
}
