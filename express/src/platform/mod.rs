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
