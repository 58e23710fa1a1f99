//! A daemon exec'd into its group's own Python: the child the supervisor forked drops
//! privileges and checks its paths ([`super::prepare`]), places what the daemon needs at
//! fixed descriptors (the spec as JSON in a memfd, the group's listening socket, the
//! supervisor's retire pipe and, with `server-metrics=On`, its end of the scoreboard
//! channel; see `rwsgi_core::daemon_spec`) and execs the interpreter,
//! which imports `rwsgi._daemon` and runs [`super::run`]. Nothing secret goes into argv or
//! the environment.

use std::ffi::CString;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use super::setup::StartError;
use super::{Launched, error_log, scoreboard_relay};
use crate::os;
use crate::python::interpreter;
use rwsgi_core::daemon_spec::{
    DaemonSpec, LISTENER_FD, RETIRE_FD, SCOREBOARD_FD, SPEC_FD, SpecError,
};
use rwsgi_core::python_settings::PythonSettings;

/// What the exec'd interpreter runs (with `-P`: nothing of the working directory on
/// `sys.path`, as in an embedded interpreter): the daemon. A runtime removed since the
/// configuration check, or one that cannot serve, ends the process with the exit status
/// of a daemon that cannot start and one line saying why, so the supervisor backs off.
pub const ENTRY: &str = r#"import os, sys
try:
    import rwsgi._daemon as d
    d.serve()
except Exception as e:
    how = "cannot import rwsgi's daemon runtime" if isinstance(e, ImportError) else "cannot serve"
    sys.stderr.write("RW0203: daemon process %d: %s %s (%s: %s); %s -m pip install rwsgi installs it\n"
                     % (os.getpid(), sys.executable, how, type(e).__name__, e, sys.executable))
    sys.stderr.flush()
    os._exit(78)
"#;
const _: () = assert!(super::EXIT_CONFIG == 78, "ENTRY exits with EXIT_CONFIG");

/// Why a daemon could not be exec'd (RW0203).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Prepare(#[from] StartError),
    #[error("cannot hand the daemon its settings: {0}")]
    Spec(std::io::Error),
    #[error("cannot place its descriptors: {0}")]
    Descriptors(std::io::Error),
    #[error("cannot execute {python}: {source}")]
    Exec { python: String, source: nix::Error },
}

/// In the child the supervisor forked for this daemon: returns only on failure.
/// `scoreboard` is the daemon's end of its channel to the supervisor (`server-metrics=On`).
pub fn exec_daemon(
    python: &Path,
    spec: &DaemonSpec,
    listener: &UnixListener,
    retire: &OwnedFd,
    scoreboard: Option<&UnixStream>,
) -> ExecError {
    match try_exec(python, spec, listener, retire, scoreboard) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn try_exec(
    python: &Path,
    spec: &DaemonSpec,
    listener: &UnixListener,
    retire: &OwnedFd,
    scoreboard: Option<&UnixStream>,
) -> Result<std::convert::Infallible, ExecError> {
    super::prepare(spec, nix::unistd::getppid())?;
    let memfd = spec_file(spec).map_err(ExecError::Spec)?;
    os::set_env(&python_env(&spec.python));
    let argv = python_argv(python, &spec.python, &spec.options.name);
    let mut moves = vec![
        (memfd.as_raw_fd(), SPEC_FD),
        (listener.as_raw_fd(), LISTENER_FD),
        (retire.as_raw_fd(), RETIRE_FD),
    ];
    moves.extend(scoreboard.map(|s| (s.as_raw_fd(), SCOREBOARD_FD)));
    os::place_fds(&moves).map_err(ExecError::Descriptors)?;
    // Without a channel descriptor 6 is closed too, so the daemon never takes a stray one.
    os::close_from(moves.iter().map(|m| m.1).max().unwrap_or(RETIRE_FD) + 1);
    let path = &argv[0];
    nix::unistd::execv(path, &argv).map_err(|source| ExecError::Exec {
        python: python.display().to_string(),
        source,
    })
}

/// The spec as JSON in an anonymous file, read from its start by the daemon.
fn spec_file(spec: &DaemonSpec) -> std::io::Result<OwnedFd> {
    let fd = nix::sys::memfd::memfd_create(
        c"rwsgi-daemon-spec",
        nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&spec.to_json())?;
    file.rewind()?;
    Ok(file.into())
}

/// What an embedded interpreter takes from `PyConfig`, as the command line's flags.
fn python_argv(python: &Path, settings: &PythonSettings, group: &str) -> Vec<CString> {
    let mut args: Vec<Vec<u8>> = vec![python.as_os_str().as_bytes().to_vec()];
    // PyConfig.enable_gil's flag: a free-threaded Python keeps its GIL unless
    // WSGIFreeThreading turns it off for the group (then Python's default, as embedded:
    // `interpreter::configure_and_start`). Pythons with a GIL accept gil=1.
    if !settings.free_threading_in(group) {
        args.extend([b"-X".to_vec(), b"gil=1".to_vec()]);
    }
    match settings.optimize {
        0 => {}
        1 => args.push(b"-O".to_vec()),
        _ => args.push(b"-OO".to_vec()),
    }
    if settings.dont_write_bytecode {
        args.push(b"-B".to_vec());
    }
    for w in &settings.warnings {
        args.push(b"-W".to_vec());
        args.push(w.as_bytes().to_vec());
    }
    args.extend([b"-P".to_vec(), b"-c".to_vec(), ENTRY.as_bytes().to_vec()]);
    // Paths and settings come from the configuration, which Apache read as C strings.
    args.into_iter()
        .filter_map(|a| CString::new(a).ok())
        .collect()
}

/// What `PyConfig` would take and the command line cannot carry.
fn python_env(settings: &PythonSettings) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(seed) = settings.hash_seed {
        env.push(("PYTHONHASHSEED", seed.to_string()));
    }
    if let Some(eggs) = &settings.eggs {
        env.push(("PYTHON_EGG_CACHE", eggs.clone()));
    }
    env
}

/// Why `rwsgi._daemon.serve()` cannot serve (raised to Python as `RuntimeError`).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "rwsgi._daemon.serve() runs only in a daemon process that rwsgi's supervisor started (descriptor {0} is not open); configure the group with WSGIDaemonProcess … python-executable= instead"
    )]
    NotExeced(i32),
    #[error("cannot read the daemon settings: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// The exec'd daemon's main, called by `rwsgi._daemon.serve()` on the interpreter's main
/// thread: takes what the supervisor placed, then serves as a forked daemon would, and
/// ends the process as one does (`_exit`, without taking the GIL back: after
/// deadlock-timeout a stuck thread holds it).
pub fn serve_inherited(py: pyo3::Python<'_>) -> Result<std::convert::Infallible, ServeError> {
    let inherited = |fd| os::take_inherited(fd).ok_or(ServeError::NotExeced(fd));
    let mut json = Vec::new();
    std::fs::File::from(inherited(SPEC_FD)?)
        .read_to_end(&mut json)
        .map_err(ServeError::Read)?;
    let spec = DaemonSpec::from_json(&json)?;
    let listener = UnixListener::from(inherited(LISTENER_FD)?);
    let retire = inherited(RETIRE_FD)?;
    // Taken only when asked for: without server-metrics=On nothing was placed there.
    let scoreboard = spec
        .options
        .server_metrics
        .then(|| os::take_inherited(SCOREBOARD_FD).map(UnixStream::from));
    error_log::install(
        spec.log_level,
        spec.error_log_format.as_deref(),
        &spec.server_name,
        spec.syslog.as_ref(),
    );
    interpreter::adopt(py);
    let launched = Launched::Execed {
        scoreboard: scoreboard
            .and_then(|channel| scoreboard_relay::install(&spec.options.name, channel)),
    };
    py.detach(|| os::exit_now(super::run(&spec, &listener, &retire, launched)))
}
