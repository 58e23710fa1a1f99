//! One daemon process: privileges first, then checks as the daemon's own user, then Python
//! (`setup`), then worker threads serving requests from the group's socket (`serve`), while
//! the main thread watches over them (`monitor`) until the process is told to stop, drain
//! or recycle. Apache children keep their connections between requests, so idle threads
//! wait in one epoll set (`hub`) for either a new connection or the next request on a kept
//! one.
//!
//! The same code runs forked from the supervisor in mod_rwsgi.so (on the module's Python)
//! and exec'd into a group's own Python, which imports it as the `rwsgi._daemon`
//! extension (`exec.rs` prepares that exec; daemon-ext/ is the extension). It knows the
//! group only by its [`DaemonSpec`].

pub mod accounts;
mod conn;
mod error_log;
pub mod exec;
pub mod fd_passing;
mod hub;
mod monitor;
mod scoreboard_relay;
mod serve;
mod setup;
mod state;
mod timeout;
mod vars;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::conn::PID;
use self::hub::{ConnSettings, Hub};
use self::monitor::{Monitor, Signals};
use self::state::State;
use crate::os;
use crate::python::metrics::ScoreboardSource;
use crate::python::with_gil;
use crate::wsgi::runner;
use rwsgi_core::daemon_spec::DaemonSpec;

pub use self::setup::{StartError, prepare};

/// Locks `m`; a thread that panicked while holding it left plain data behind.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How this daemon process came to be.
pub enum Launched {
    /// Forked from the supervisor in mod_rwsgi.so: it drops privileges, checks its paths
    /// and starts Python itself. The scoreboard is Apache's shared memory, mapped here.
    Forked {
        scoreboard: Option<ScoreboardSource>,
    },
    /// Exec'd into the group's Python: the forked child before the exec did [`prepare`],
    /// and the interpreter that imported the runtime runs already. The scoreboard, not
    /// mapped here, comes from the supervisor (`scoreboard_relay`).
    Execed {
        scoreboard: Option<ScoreboardSource>,
    },
}

/// Exit status of a daemon that cannot start (unreadable paths, Python start-up): the
/// supervisor backs off instead of restarting it at once.
pub const EXIT_CONFIG: i32 = 78;
/// Exit status after deadlock-timeout: a crash for the supervisor's accounting.
pub const EXIT_DEADLOCK: i32 = 75;

/// A request quiet this long gets its `Accepted` frame from the monitor (capped at half
/// the group's connect-timeout, the Apache child's patience).
const ACCEPT_QUIET: Duration = Duration::from_millis(500);

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The daemon's main: never returns to Apache code; the value is the exit status.
/// `retire` is the supervisor's pipe: a recycling daemon writes its pid there so its
/// replacement starts while it finishes its last requests.
pub fn run(
    spec: &DaemonSpec,
    listener: &UnixListener,
    retire: &OwnedFd,
    launched: Launched,
) -> i32 {
    let o = &spec.options;
    let name = &o.name;
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    let supervisor = nix::unistd::getppid();
    PID.store(std::process::id(), Ordering::Relaxed);
    os::set_title(&o.title().unwrap_or_else(|| format!("(rwsgi:{name})")));
    // Before anything slow (Python's start, preloaded scripts): a stop or drain that comes
    // meanwhile is then acted on once the process is up, not lost until the supervisor's
    // SIGKILL.
    let mut signals = Signals::register();
    let scoreboard = match launched {
        Launched::Forked { scoreboard } => {
            if let Err(why) = setup::prepare(spec, supervisor) {
                tracing::error!(
                    "RW0203: daemon process {} of group '{name}' cannot start: {why}",
                    std::process::id()
                );
                return start_failed();
            }
            scoreboard
        }
        Launched::Execed { scoreboard } => scoreboard,
    };
    if let Err(why) = setup::start_python(spec, scoreboard) {
        tracing::error!(
            "RW0203: daemon process {} of group '{name}': {why}",
            std::process::id()
        );
        return start_failed();
    }
    if signals.stop.load(Ordering::Relaxed) {
        // Stopped while starting: nothing was taken, nothing to finish.
        return 0;
    }
    let state = match start_workers(spec, listener) {
        Ok(state) => state,
        Err(why) => {
            tracing::error!("RW0203: daemon of group '{name}': {why}");
            return EXIT_CONFIG;
        }
    };
    let gil_seen = o.deadlock_timeout.map(|_| start_gil_probe());
    if let Some(app_signals) = signals.app.take() {
        let _ = std::thread::Builder::new()
            .name("rwsgi-signals".into())
            .spawn(move || deliver_signals(app_signals));
    }
    tracing::info!(
        "RW0202: daemon process {} of group '{name}' ready ({} threads, {})",
        std::process::id(),
        o.threads,
        with_gil(python_named)
    );
    Monitor::new(spec, state, signals, gil_seen, retire).run()
}

/// The Python a daemon runs, for its log lines: `Python 3.12.1 (/srv/venv/bin/python3)`.
fn python_named(py: pyo3::Python<'_>) -> String {
    use pyo3::types::PyAnyMethods;
    let read = || -> pyo3::PyResult<(String, String)> {
        let sys = py.import("sys")?;
        let version: String = sys.getattr("version")?.extract()?;
        let executable: String = sys.getattr("executable")?.extract()?;
        Ok((version, executable))
    };
    match read() {
        Ok((version, executable)) => format!(
            "Python {} ({executable})",
            version.split(' ').next().unwrap_or(&version)
        ),
        Err(_) => "Python".to_owned(),
    }
}

/// The exit of a daemon that could not start: the supervisor backs off; a short pause
/// keeps a log line from being lost in a crash loop as well.
pub fn start_failed() -> i32 {
    std::thread::sleep(Duration::from_millis(200));
    EXIT_CONFIG
}

/// Why the worker threads could not be set up (RW0203).
#[derive(Debug, thiserror::Error)]
enum WorkersError {
    #[error("cannot set up epoll: {0}")]
    Epoll(nix::Error),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// The epoll set, the state the threads share, and `threads=` worker threads serving.
fn start_workers(spec: &DaemonSpec, listener: &UnixListener) -> Result<Arc<State>, WorkersError> {
    let o = &spec.options;
    let settings = ConnSettings {
        socket_timeout: spec.socket_timeout,
        response_socket_timeout: o.response_socket_timeout.unwrap_or(spec.socket_timeout),
        buffer_sizes: (
            o.send_buffer_size.map(|n| n as usize),
            o.receive_buffer_size.map(|n| n as usize),
        ),
    };
    let hub = Hub::new(listener, settings).map_err(WorkersError::Epoll)?;
    let state = Arc::new(State {
        group: o.name.clone(),
        secret: spec.secret,
        queue_timeout: o.queue_timeout,
        accept_quiet: ACCEPT_QUIET.min(o.connect_timeout / 2),
        request_timeout: o.request_timeout,
        interrupt_timeout: o.interrupt_timeout,
        maximum_requests: o.maximum_requests,
        active: AtomicUsize::new(0),
        taken: AtomicU64::new(0),
        last_activity: Mutex::new(Instant::now()),
        recycle: Mutex::new(None),
        running: (0..o.threads).map(|_| Mutex::new(None)).collect(),
        hub,
        reporting: AtomicUsize::new(0),
    });
    for index in 0..o.threads as usize {
        let state = state.clone();
        let mut builder = std::thread::Builder::new().name(format!("rwsgi-{}", o.name));
        if let Some(size) = o.stack_size {
            builder = builder.stack_size(size as usize);
        }
        builder
            .spawn(move || serve::worker(&state, index))
            .map_err(WorkersError::Thread)?;
    }
    Ok(state)
}

/// deadlock-timeout's probe: a thread that takes the GIL every second and says when it
/// last could.
fn start_gil_probe() -> Arc<AtomicU64> {
    let gil_seen = Arc::new(AtomicU64::new(now_us()));
    let seen = gil_seen.clone();
    let _ = std::thread::Builder::new()
        .name("rwsgi-gil-probe".into())
        .spawn(move || {
            loop {
                // Blocks while some thread holds the GIL without ever releasing it.
                pyo3::Python::attach(|_| seen.store(now_us(), Ordering::Relaxed));
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    gil_seen
}

/// Hands SIGHUP and SIGUSR2 to the application's `process_signal` subscribers, one at a
/// time, on this thread (never inside the signal handler).
fn deliver_signals(mut signals: signal_hook::iterator::Signals) {
    for signum in signals.forever() {
        let signame = if signum == libc::SIGHUP {
            "SIGHUP"
        } else {
            "SIGUSR2"
        };
        tracing::info!(
            "RW0129: daemon process {} received {signame}; passing it to the application's signal subscribers",
            std::process::id()
        );
        with_gil(|py| runner::publish_signal(py, signum, signame));
    }
}
