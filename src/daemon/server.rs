//! One daemon process: privileges first, then checks as the daemon's own user, then Python,
//! then worker threads serving requests from the group's socket, until it is told to stop,
//! drain or recycle. Apache children keep their connections between requests, so idle
//! threads wait in one epoll set for either a new connection or the next request on a kept
//! one.

use std::collections::HashMap;
use std::io::Write;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::unistd::{AccessFlags, Gid, Uid, User, access};

use super::{Generation, Group};
use crate::apache::{Mpm, Server, fd_passing, os, process};
use crate::config::PythonSettings;
use crate::embedded::{App, CHILD, ChildState, FAILING_SINCE_US, Revoke, log_load_error, run_app};
use crate::python::{interpreter, modules, with_gil};
use crate::wsgi::{self, BodyError, Channel, Outcome, ResponseHead, Times, Transport, WireStrings};
use rwsgi_core::daemon_options::Account;
use rwsgi_core::protocol::{self, Frame, FrameReader, Hello, kind};

/// Exit status of a daemon that cannot start (unreadable paths, Python start-up): the
/// supervisor backs off instead of restarting it at once.
pub const EXIT_CONFIG: i32 = 78;
/// Exit status after deadlock-timeout: a crash for the supervisor's accounting.
pub const EXIT_DEADLOCK: i32 = 75;

/// The recycle reason for SIGUSR1.
const EVICTION: &str = "eviction by SIGUSR1";

/// Why the process is winding down.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// SIGTERM: finish in-flight requests within shutdown-timeout.
    Stop,
    /// Apache restarted: keep serving the old generation's clients until idle.
    Drain,
    /// maximum-requests, restart-interval, memory: stop accepting, finish, exit; the
    /// supervisor starts a fresh process at once and the socket holds new connections.
    Recycle(&'static str),
}

struct State {
    group: String,
    secret: [u8; protocol::SECRET_LEN],
    socket_timeout: Duration,
    /// How long writing the response to the Apache child may block (a client that does
    /// not read holds the Apache child, which stops reading from us).
    response_socket_timeout: Duration,
    queue_timeout: Option<Duration>,
    accept_quiet: Duration,
    request_timeout: Option<Duration>,
    interrupt_timeout: Option<Duration>,
    maximum_requests: u64,
    /// send-buffer-size / receive-buffer-size for each connection.
    buffer_sizes: (Option<usize>, Option<usize>),
    accepting: AtomicBool,
    active: AtomicUsize,
    /// Connections taken so far (refused ones included).
    taken: AtomicU64,
    last_activity: Mutex<Instant>,
    recycle: Mutex<Option<&'static str>>,
    /// One entry per worker thread: the request it runs, watched for request-timeout.
    running: Vec<Mutex<Option<Running>>>,
    hub: Hub,
    /// request-timeout reports still logging a stack: the process waits for them before it
    /// exits (within its time limit), or the stack would be lost.
    reporting: AtomicUsize,
}

impl State {
    fn recycle(&self, reason: &'static str) {
        lock(&self.recycle).get_or_insert(reason);
    }

    /// No new requests: kept connections are closed at once, so their Apache children send
    /// the next request to the group's socket (the replacement) instead of waiting on a
    /// process that will not read it.
    fn stop_accepting(&self) {
        let mut idle = lock(&self.hub.idle);
        self.accepting.store(false, Ordering::Relaxed);
        idle.clear();
    }

    /// Requests that request-timeout already answered but whose threads still run.
    fn timed_out(&self) -> usize {
        self.running
            .iter()
            .filter(|r| lock(r).as_ref().is_some_and(|r| r.timed_out))
            .count()
    }
}

/// A request in progress, as the monitor sees it.
struct Running {
    started: Instant,
    /// Python's ident of the worker thread (`threading.get_ident()`).
    thread: u64,
    /// `METHOD URI`, for the log.
    request: String,
    conn: Arc<ConnWriter>,
    timed_out: bool,
}

/// The write side of one connection to an Apache child, shared between the worker thread
/// and the monitor. The monitor sends `Accepted` for a request that has been quiet for a
/// while (the Apache child waits for it only connect-timeout) and may end a request that
/// ran past request-timeout between two frames.
struct ConnWriter {
    /// The connection's write side; it outlives the request when the connection is kept.
    stream: Arc<Mutex<UnixStream>>,
    /// The `Accepted` frame went out (normally with the first response bytes).
    accepted: AtomicBool,
    /// This request is over on the wire: request-timeout cut it, or it ended (`finish`).
    cut: AtomicBool,
    /// A write failed: the Apache child went away.
    broken: AtomicBool,
}

impl ConnWriter {
    fn new(stream: Arc<Mutex<UnixStream>>) -> Self {
        ConnWriter {
            stream,
            accepted: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            broken: AtomicBool::new(false),
        }
    }

    /// Ends this request's use of the connection. From now on a late `cut` (request-timeout
    /// racing the end) does nothing, so it cannot touch the connection's next request.
    /// True if the connection can carry another request.
    fn finish(&self) -> bool {
        let _stream = lock(&self.stream);
        !self.cut.swap(true, Ordering::Relaxed) && !self.broken.load(Ordering::Relaxed)
    }

    /// Writes `frames`, which begin with `Accepted` unless `accepted_in` is false; that
    /// frame is skipped if the monitor already sent it.
    fn send(&self, frames: &[u8], accepted_in: bool) -> std::io::Result<()> {
        self.with(|s, accepted| {
            let skip = if accepted_in && accepted {
                ACCEPTED_LEN
            } else {
                0
            };
            s.write_all(&frames[skip..])
        })
    }

    /// Runs `f` on the stream, with whether `Accepted` had gone out before; it has after.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut UnixStream, bool) -> std::io::Result<R>,
    ) -> std::io::Result<R> {
        let mut stream = lock(&self.stream);
        if self.cut.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(
                "request-timeout already answered this request",
            ));
        }
        let accepted = self.accepted.swap(true, Ordering::Relaxed);
        let r = f(&mut stream, accepted);
        if r.is_err() {
            self.broken.store(true, Ordering::Relaxed);
        }
        r
    }

    /// Tells the Apache child its request runs, if nothing has yet. Called by the monitor:
    /// if the worker is writing right now, that write carries `Accepted`, so it never waits.
    fn accept(&self) {
        if let Ok(mut stream) = self.stream.try_lock() {
            if !self.cut.load(Ordering::Relaxed) {
                Self::send_accepted(&mut stream, &self.accepted);
            }
        }
    }

    fn send_accepted(stream: &mut UnixStream, accepted: &AtomicBool) {
        if !accepted.swap(true, Ordering::Relaxed) {
            let mut frame = Vec::with_capacity(ACCEPTED_LEN);
            accepted_frame(&mut frame);
            let _ = stream.write_all(&frame);
        }
    }

    /// Sends `last` as the request's final frame (after `Accepted` if need be), then shuts
    /// the connection so the application's further reads and writes fail instead of
    /// blocking.
    fn cut(&self, last: &[u8]) {
        let mut stream = lock(&self.stream);
        if self.cut.swap(true, Ordering::Relaxed) {
            return;
        }
        Self::send_accepted(&mut stream, &self.accepted);
        let _ = stream.write_all(last);
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Encoded size of the `Accepted` frame.
const ACCEPTED_LEN: usize = 9;

/// This daemon's pid, set when it starts: `getpid` is a system call, and every request's
/// `Accepted` frame names the pid.
static PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn accepted_frame(out: &mut Vec<u8>) {
    Frame::Accepted {
        pid: PID.load(Ordering::Relaxed),
    }
    .encode(out);
}

/// A request quiet this long gets its `Accepted` frame from the monitor (capped at half
/// the group's connect-timeout, the Apache child's patience).
const ACCEPT_QUIET: Duration = Duration::from_millis(500);

/// Locks `m`; a thread that panicked while holding it left plain data behind.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolves `user=` / `socket-user=` to (uid, primary gid, name).
pub fn resolve_user(a: &Account) -> Result<(u32, u32, String), String> {
    let user = match a {
        Account::Name(n) => User::from_name(n),
        Account::Id(id) => User::from_uid(Uid::from_raw(*id)),
    }
    .map_err(|e| e.to_string())?
    .ok_or_else(|| format!("no such user {a:?}"))?;
    Ok((user.uid.as_raw(), user.gid.as_raw(), user.name))
}

pub fn resolve_group(a: &Account) -> Result<u32, String> {
    match a {
        Account::Id(id) => Ok(*id),
        Account::Name(n) => nix::unistd::Group::from_name(n)
            .map_err(|e| e.to_string())?
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| format!("no such group '{n}'")),
    }
}

/// The daemon's main: never returns to Apache code; the value is the exit status.
/// `retire` is the supervisor's pipe: a recycling daemon writes its pid there so its
/// replacement starts while it finishes its last requests.
pub fn run(server: Server<'_>, generation: &Generation, group: &Group, retire: &OwnedFd) -> i32 {
    let o = &group.options;
    let name = &o.name;
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    PID.store(std::process::id(), Ordering::Relaxed);
    process::set_title(&o.title().unwrap_or_else(|| format!("(rwsgi:{name})")));
    let Some(listener) = group.listener.as_ref() else {
        return EXIT_CONFIG;
    };
    // Before anything slow (Python's start, preloaded scripts): a stop or drain that comes
    // meanwhile is then acted on once the process is up, not lost until the supervisor's
    // SIGKILL.
    let stop = Arc::new(AtomicBool::new(false));
    let drain = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    // The supervisor drains its daemons with SIGWINCH (Apache restarted); SIGUSR1 comes
    // from an operator and evicts this one process: it is replaced at once and gets
    // eviction-timeout to finish.
    let _ = signal_hook::flag::register(libc::SIGWINCH, drain.clone());
    let evict = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(libc::SIGUSR1, evict.clone());
    match setup_process(server, group) {
        Ok(()) => {}
        Err(why) => {
            tracing::error!(
                "RW0203: daemon process {} of group '{name}' cannot start: {why}",
                std::process::id()
            );
            // The supervisor backs off; a short pause keeps a log line from being lost in
            // a crash loop as well.
            std::thread::sleep(Duration::from_millis(200));
            return EXIT_CONFIG;
        }
    }
    if let Err(why) = start_python(server, group) {
        tracing::error!(
            "RW0203: daemon process {} of group '{name}': {why}",
            std::process::id()
        );
        std::thread::sleep(Duration::from_millis(200));
        return EXIT_CONFIG;
    }
    if stop.load(Ordering::Relaxed) {
        // Stopped while starting: nothing was taken, nothing to finish.
        return 0;
    }
    let hub = match Hub::new(listener) {
        Ok(hub) => hub,
        Err(e) => {
            tracing::error!("RW0203: daemon of group '{name}': cannot set up epoll: {e}");
            return EXIT_CONFIG;
        }
    };
    let state = Arc::new(State {
        group: name.clone(),
        secret: generation.secret,
        socket_timeout: group.socket_timeout,
        response_socket_timeout: o.response_socket_timeout.unwrap_or(group.socket_timeout),
        queue_timeout: o.queue_timeout,
        accept_quiet: ACCEPT_QUIET.min(o.connect_timeout / 2),
        request_timeout: o.request_timeout,
        interrupt_timeout: o.interrupt_timeout,
        maximum_requests: o.maximum_requests,
        buffer_sizes: (
            o.send_buffer_size.map(|n| n as usize),
            o.receive_buffer_size.map(|n| n as usize),
        ),
        accepting: AtomicBool::new(true),
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
        let mut builder = std::thread::Builder::new().name(format!("rwsgi-{name}"));
        if let Some(size) = o.stack_size {
            builder = builder.stack_size(size as usize);
        }
        if let Err(e) = builder.spawn(move || worker(&state, index)) {
            tracing::error!("RW0203: daemon of group '{name}': cannot start a thread: {e}");
            return EXIT_CONFIG;
        }
    }
    let gil_seen = Arc::new(AtomicU64::new(now_us()));
    if o.deadlock_timeout.is_some() {
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
    }
    let started = Instant::now();
    tracing::info!(
        "RW0202: daemon process {} of group '{name}' ready ({} threads)",
        std::process::id(),
        o.threads
    );
    let mut ending: Option<(Ending, Instant)> = None;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        watch_request_times(&state);
        if let Some(limit) = o.deadlock_timeout {
            let stuck =
                Duration::from_micros(now_us().saturating_sub(gil_seen.load(Ordering::Relaxed)));
            if stuck > limit {
                // Python cannot run a line, so nothing can finish: exit now. The
                // supervisor logs the exit (RW0204) and starts a new process.
                tracing::error!(
                    "RW0219: daemon process {} of group '{name}': no thread could take Python's GIL for {:.0}s (deadlock-timeout {}s); a C extension holds it. Exiting so a new process starts; {} requests were running",
                    std::process::id(),
                    stuck.as_secs_f64(),
                    limit.as_secs(),
                    state.active.load(Ordering::Relaxed)
                );
                let _ = std::io::stderr().flush();
                return EXIT_DEADLOCK;
            }
        }
        if ending.is_none() {
            let why = if stop.load(Ordering::Relaxed) {
                Some(Ending::Stop)
            } else if drain.load(Ordering::Relaxed) {
                Some(Ending::Drain)
            } else if evict.load(Ordering::Relaxed) {
                Some(Ending::Recycle(EVICTION))
            } else if let Some(reason) = *lock(&state.recycle) {
                Some(Ending::Recycle(reason))
            } else if o.startup_timeout.is_some_and(|t| {
                let since = FAILING_SINCE_US.load(Ordering::Relaxed);
                since != 0 && now_us().saturating_sub(since) >= t.as_micros() as u64
            }) {
                // A script that failed to load and keeps failing: a fresh interpreter may
                // succeed where this one's half-imported state cannot (mod_wsgi's reason
                // for the option: Django's "populate() isn't reentrant").
                Some(Ending::Recycle("startup-timeout"))
            } else if o.restart_interval.is_some_and(|i| started.elapsed() >= i) {
                Some(Ending::Recycle("restart-interval"))
            } else if o.inactivity_timeout.is_some_and(|t| {
                state.active.load(Ordering::Relaxed) == 0
                    && lock(&state.last_activity).elapsed() >= t
            }) {
                Some(Ending::Recycle("inactivity-timeout"))
            } else if o
                .resident_memory_limit
                .is_some_and(|limit| resident_bytes().is_some_and(|rss| rss > limit))
            {
                Some(Ending::Recycle("resident-memory-limit"))
            } else {
                None
            };
            if let Some(why) = why {
                if let Ending::Recycle(reason) = why {
                    tracing::info!(
                        "RW0207: daemon process {} of group '{name}' recycles ({reason}) after {} requests",
                        std::process::id(),
                        state.taken.load(Ordering::Relaxed)
                    );
                }
                if why != Ending::Drain {
                    state.stop_accepting();
                }
                if let Ending::Recycle(_) = why {
                    // The supervisor starts the replacement now, not after this one exits.
                    let _ = nix::unistd::write(retire, &std::process::id().to_le_bytes());
                }
                let limit = match why {
                    Ending::Stop => o.shutdown_timeout,
                    Ending::Recycle(EVICTION) => o.eviction_timeout.unwrap_or(o.graceful_timeout),
                    Ending::Drain | Ending::Recycle(_) => o.graceful_timeout,
                };
                ending = Some((why, Instant::now() + limit));
            }
        } else if stop.load(Ordering::Relaxed) && state.accepting.load(Ordering::Relaxed) {
            state.stop_accepting();
        }
        let Some((why, deadline)) = ending else {
            continue;
        };
        // Requests request-timeout already answered do not hold the process up; their
        // stack reports do.
        let idle = state.active.load(Ordering::Relaxed) <= state.timed_out()
            && state.reporting.load(Ordering::Relaxed) == 0;
        let quiet = lock(&state.last_activity).elapsed() > Duration::from_millis(500);
        let done = match why {
            // Old-generation Apache children may still connect while they finish: wait
            // until nothing has arrived for a moment.
            Ending::Drain => idle && quiet,
            _ => idle,
        };
        if done || Instant::now() >= deadline {
            if !done {
                tracing::warn!(
                    "RW0208: daemon process {} of group '{name}' exits with {} requests still running ({why:?} time limit reached)",
                    std::process::id(),
                    state.active.load(Ordering::Relaxed)
                );
            }
            let _ = std::io::stderr().flush();
            return 0;
        }
    }
}

/// Limits, privileges, working directory and environment, then readability checks.
fn setup_process(server: Server<'_>, group: &Group) -> Result<(), String> {
    use nix::sys::resource::{Resource, setrlimit};
    let o = &group.options;
    if o.cpu_priority != 0 {
        process::set_priority(o.cpu_priority);
    }
    for (resource, limit) in [
        (Resource::RLIMIT_DATA, o.memory_limit),
        (Resource::RLIMIT_AS, o.virtual_memory_limit),
        (Resource::RLIMIT_CPU, o.cpu_time_limit),
    ] {
        if let Some(l) = limit {
            setrlimit(resource, l, l).map_err(|e| format!("setrlimit {resource:?}: {e}"))?;
        }
    }
    let (apache_uid, apache_gid, apache_user) = Server::unixd_user();
    let (uid, user_gid, user) = match &o.user {
        Some(a) => resolve_user(a)?,
        None => (apache_uid, apache_gid, apache_user),
    };
    let gid = match &o.group {
        Some(g) => resolve_group(g)?,
        None if o.user.is_some() => user_gid,
        None => apache_gid,
    };
    if os::is_root() {
        nix::unistd::setgid(Gid::from_raw(gid)).map_err(|e| format!("setgid({gid}): {e}"))?;
        if o.supplementary_groups.is_empty() {
            let c = std::ffi::CString::new(user.as_str()).map_err(|e| e.to_string())?;
            nix::unistd::initgroups(&c, Gid::from_raw(gid))
                .map_err(|e| format!("initgroups({user}): {e}"))?;
        } else {
            let gids = o
                .supplementary_groups
                .iter()
                .map(|g| resolve_group(&Account::Name(g.clone())).map(Gid::from_raw))
                .collect::<Result<Vec<_>, _>>()?;
            nix::unistd::setgroups(&gids).map_err(|e| format!("setgroups: {e}"))?;
        }
        nix::unistd::setuid(Uid::from_raw(uid)).map_err(|e| format!("setuid({uid}): {e}"))?;
    } else if o.user.is_some() && uid != nix::unistd::getuid().as_raw() {
        return Err(format!(
            "user={user} needs Apache to be started as root; remove user= or start Apache as root"
        ));
    }
    if let Some(mask) = o.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    let mut env = Vec::new();
    if let Some(lang) = &o.lang {
        env.push(("LANG", lang.clone()));
    }
    if let Some(locale) = &o.locale {
        env.push(("LC_ALL", locale.clone()));
    }
    if let Some(eggs) = &o.python_eggs {
        env.push(("PYTHON_EGG_CACHE", eggs.clone()));
    }
    let home = o.home.clone().or_else(|| {
        // mod_wsgi: a daemon running as another user than Apache's works in its home.
        (o.user.is_some())
            .then(|| User::from_uid(Uid::from_raw(uid)).ok().flatten())
            .flatten()
            .map(|u| u.dir.to_string_lossy().into_owned())
    });
    if let Some(h) = &home {
        std::env::set_current_dir(h).map_err(|e| format!("cannot enter home={h}: {e}"))?;
        env.push(("HOME", h.clone()));
    }
    process::set_env(&env);
    let _ = server;
    check_readable(group)
}

/// As the daemon's own user: everything Python and the app need is readable. Names the
/// exact path that is not, instead of Python failing obscurely (mod_wsgi pain point 4).
fn check_readable(group: &Group) -> Result<(), String> {
    let o = &group.options;
    let dirs = o
        .python_home
        .iter()
        .chain(o.home.iter())
        .chain(o.python_path.iter());
    let uid = nix::unistd::getuid();
    let who = User::from_uid(uid).ok().flatten().map_or_else(
        || format!("uid {uid}"),
        |u| format!("{} (uid {uid})", u.name),
    );
    for dir in dirs {
        check_path(Path::new(dir), true).map_err(|e| format!("{e}, as {who}"))?;
    }
    for script in group.scripts.iter().chain(&group.preload) {
        let p = Path::new(script);
        // Directory aliases map to scripts inside; the directory itself must be readable.
        check_path(p, p.is_dir()).map_err(|e| format!("{e}, as {who}"))?;
    }
    Ok(())
}

fn check_path(path: &Path, is_dir: bool) -> Result<(), String> {
    let mut probe = std::path::PathBuf::new();
    let parts: Vec<_> = path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        probe.push(part);
        let last = i + 1 == parts.len();
        let need = match (last, is_dir) {
            (false, _) => AccessFlags::X_OK,
            (true, true) => AccessFlags::R_OK | AccessFlags::X_OK,
            (true, false) => AccessFlags::R_OK,
        };
        if let Err(e) = access(&probe, need) {
            let what = if last { "read" } else { "enter" };
            return Err(format!(
                "cannot {what} {} ({}) — needed for {}",
                probe.display(),
                e.desc(),
                path.display()
            ));
        }
    }
    Ok(())
}

fn start_python(server: Server<'_>, group: &Group) -> Result<(), String> {
    let o = &group.options;
    let mut settings: PythonSettings = server.config().python.clone();
    if let Some(home) = &o.python_home {
        settings.home = Some(home.clone());
    }
    let mut path: Vec<String> = o.home.iter().cloned().collect();
    path.extend(o.python_path.iter().cloned());
    path.extend(settings.path.iter().cloned());
    settings.path = path;
    if o.switch_interval.is_some() {
        settings.switch_interval = o.switch_interval;
    }
    if o.python_eggs.is_some() {
        settings.eggs = o.python_eggs.clone();
    }
    interpreter::start(&settings).map_err(|e| format!("Python could not start: {e}"))?;
    let mpm = Mpm {
        threaded: o.threads > 1,
        max_threads: o.threads as i32,
        max_daemons: o.processes as i32,
    };
    with_gil(|py| {
        modules::install(py, &settings, &mpm, &o.name, o.server_metrics).map_err(|e| {
            crate::python::traceback::log(py, "RW0203: setting up Python failed", &e);
            "setting up Python failed (traceback above)".to_owned()
        })?;
        let base = modules::base_environ(py, o.threads > 1, o.multiprocess).map_err(|e| {
            crate::python::traceback::log(py, "RW0203: building the base environ failed", &e);
            "building the base environ failed".to_owned()
        })?;
        let _ = CHILD.set(ChildState {
            scripts: Default::default(),
            base_environ: base.unbind(),
            var_keys: wsgi::var_keys(py),
        });
        if let Some(child) = CHILD.get() {
            for script in &group.preload {
                if let Err(err) = child.scripts.module(py, script, false, None) {
                    log_load_error(py, &err);
                }
            }
        }
        Ok(())
    })
}

/// Resident set size of this process.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// epoll token of the group's listening socket; kept connections have their own.
const LISTENER: u64 = u64::MAX;

/// Kept connections a process holds at most; more are closed after their request (their
/// Apache children connect again).
const KEEP_AT_MOST: usize = 128;

/// Where idle worker threads wait: the group's listening socket and the connections kept
/// between requests. Each is armed one-shot, so exactly one thread takes a new connection
/// or a kept connection's next request.
struct Hub {
    epoll: Epoll,
    listener: UnixListener,
    idle: Mutex<HashMap<u64, Conn>>,
    next_token: AtomicU64,
}

impl Hub {
    fn new(listener: &UnixListener) -> nix::Result<Hub> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        // A readiness event can race with the group's other processes for the connection:
        // the loser must get EAGAIN, not block. (The socket's file description is shared
        // with the supervisor and those processes, which all use it the same way.)
        let listener = listener.try_clone().map_err(|_| nix::Error::EBADF)?;
        listener
            .set_nonblocking(true)
            .map_err(|_| nix::Error::EBADF)?;
        epoll.add(&listener, EpollEvent::new(ARMED, LISTENER))?;
        Ok(Hub {
            epoll,
            listener,
            idle: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
        })
    }

    /// The next connection with a request waiting, new or kept; `None` after a quiet
    /// second (so the caller notices a stop) or a lost race.
    fn wait(&self, state: &State) -> Option<Conn> {
        let mut events = [EpollEvent::empty()];
        match self.epoll.wait(&mut events, EpollTimeout::from(1000u16)) {
            Ok(1) => {}
            _ => return None,
        }
        let token = events[0].data();
        if token != LISTENER {
            return lock(&self.idle).remove(&token);
        }
        let accepted = self.listener.accept();
        // Armed again at once: another thread takes the next connection meanwhile.
        let _ = self
            .epoll
            .modify(&self.listener, &mut EpollEvent::new(ARMED, LISTENER));
        let (stream, _) = accepted.ok()?;
        set_buffer_sizes(&stream, state.buffer_sizes);
        let _ = stream.set_read_timeout(Some(state.socket_timeout));
        let _ = stream.set_write_timeout(Some(state.response_socket_timeout));
        let reader = stream.try_clone().ok()?;
        Some(Conn {
            token: self.next_token.fetch_add(1, Ordering::Relaxed),
            watched: false,
            reader: Arc::new(Mutex::new(FrameReader::new(reader))),
            writer: Arc::new(Mutex::new(stream)),
        })
    }

    /// Keeps `conn` for its Apache child's next request.
    fn keep(&self, state: &State, mut conn: Conn) {
        let mut idle = lock(&self.idle);
        // Under the lock: `stop_accepting` clears the set after clearing the flag.
        if !state.accepting.load(Ordering::Relaxed) || idle.len() >= KEEP_AT_MOST {
            return;
        }
        let mut event = EpollEvent::new(ARMED, conn.token);
        let armed = {
            let stream = lock(&conn.writer);
            if conn.watched {
                self.epoll.modify(&*stream, &mut event)
            } else {
                self.epoll.add(&*stream, event)
            }
        };
        if armed.is_ok() {
            conn.watched = true;
            // The event can fire at once, but its thread waits for this lock to find it.
            idle.insert(conn.token, conn);
        }
    }
}

/// One-shot: after an event the descriptor stays quiet until it is armed again.
const ARMED: EpollFlags = EpollFlags::EPOLLIN.union(EpollFlags::EPOLLONESHOT);

/// A connection from an Apache child, which may carry many requests one after another.
struct Conn {
    token: u64,
    /// Registered with the hub's epoll set (it is re-armed from then on).
    watched: bool,
    reader: Arc<Mutex<FrameReader<UnixStream>>>,
    writer: Arc<Mutex<UnixStream>>,
}

/// One worker thread: take the next request (on a new or a kept connection), serve it,
/// keep the connection, until the process winds down.
fn worker(state: &Arc<State>, index: usize) {
    let mut thread = WorkerThread {
        index,
        strings: WireStrings::default(),
    };
    while state.accepting.load(Ordering::Relaxed) {
        let Some(conn) = state.hub.wait(state) else {
            continue;
        };
        if serve(state, &mut thread, &conn) {
            state.hub.keep(state, conn);
        }
    }
}

/// What a worker thread keeps from one request to the next.
struct WorkerThread {
    /// Its slot in `State::running`.
    index: usize,
    strings: WireStrings,
}

fn set_buffer_sizes(conn: &UnixStream, (send, receive): (Option<usize>, Option<usize>)) {
    use nix::sys::socket::{setsockopt, sockopt};
    if let Some(n) = send {
        let _ = setsockopt(conn, sockopt::SndBuf, &n);
    }
    if let Some(n) = receive {
        let _ = setsockopt(conn, sockopt::RcvBuf, &n);
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Serves the next request on `conn`: authenticate, read the environ, run the app, end
/// the response. True if the connection can carry another request.
fn serve(state: &State, thread: &mut WorkerThread, conn: &Conn) -> bool {
    let mut reader = lock(&conn.reader);
    let refuse = |reader: &FrameReader<UnixStream>, why: &str| {
        reject(state, reader.get_ref(), &lock(&conn.writer), why);
        false
    };
    let hello: Hello = match reader.read_frame() {
        Ok(Some(Frame::Hello(h))) => h,
        // An Apache child closed a kept connection (it exited): nothing to say.
        Ok(None) if conn.watched => return false,
        other => {
            let why = match other {
                Ok(Some(f)) => format!("expected Hello, got frame 0x{:02x}", f.kind()),
                Ok(None) => "closed before Hello".to_owned(),
                Err(e) => e.to_string(),
            };
            return refuse(&reader, &why);
        }
    };
    if hello.version != protocol::VERSION {
        let why = format!(
            "protocol version {} (this daemon speaks {}); Apache and the daemon come from different rwsgi builds",
            hello.version,
            protocol::VERSION
        );
        return refuse(&reader, &why);
    }
    if !protocol::secrets_match(&hello.secret, &state.secret) {
        return refuse(&reader, "wrong secret");
    }
    // Requests are counted as they are taken, so maximum-requests is exact with several
    // threads waiting.
    let max = state.maximum_requests;
    let taken = state.taken.fetch_add(1, Ordering::Relaxed) + 1;
    if !state.accepting.load(Ordering::Relaxed) || (max > 0 && taken > max) {
        // Winding down: closing before `Accepted` makes the Apache child retry, and
        // another process (the replacement) takes the request.
        return false;
    }
    if max > 0 && taken == max {
        // The last request: the replacement starts while it runs.
        state.stop_accepting();
        state.recycle("maximum-requests");
    }
    // Room for a small response whole (Accepted, Head, Data, End): one allocation.
    let mut out = Vec::with_capacity(1024);
    let now = now_us();
    if let Some(limit) = state.queue_timeout {
        let waited = Duration::from_micros(now.saturating_sub(hello.queue_start_us));
        if waited > limit {
            Frame::Error {
                status: 504,
                reason: &format!(
                    "queue-timeout: the request waited {:.1}s for a free daemon thread (limit {:.1}s)",
                    waited.as_secs_f64(),
                    limit.as_secs_f64()
                ),
            }
            .encode(&mut out);
            let _ = (&*lock(&conn.writer)).write_all(&out);
            return false;
        }
    }
    accepted_frame(&mut out);
    debug_assert_eq!(out.len(), ACCEPTED_LEN);
    let vars = match reader.read_frame() {
        Ok(Some(Frame::Environ(p))) => Vars::new(&p),
        _ => return false,
    };
    // The transport reads the body through the same reader.
    drop(reader);
    state.active.fetch_add(1, Ordering::Relaxed);
    *lock(&state.last_activity) = Instant::now();
    let keep = run_request(state, thread, conn, &hello, now, &vars, out);
    *lock(&state.last_activity) = Instant::now();
    state.active.fetch_sub(1, Ordering::Relaxed);
    keep
}

/// Runs the application for a request whose environ has arrived; true if the response
/// ended cleanly and the connection can carry another request.
fn run_request(
    state: &State,
    thread: &mut WorkerThread,
    conn: &Conn,
    hello: &Hello,
    now: u64,
    vars: &Vars,
    out: Vec<u8>,
) -> bool {
    let get = |key: &str| String::from_utf8_lossy(vars.get(key.as_bytes())).into_owned();
    let handler_script = get("mod_wsgi.handler_script");
    let script = if handler_script.is_empty() {
        get("SCRIPT_FILENAME")
    } else {
        handler_script
    };
    let callable = get("mod_wsgi.callable_object");
    let reload = get("mod_wsgi.script_reloading") == "1";
    let method = get("REQUEST_METHOD");
    let header_only = method == "HEAD";
    let writer = Arc::new(ConnWriter::new(conn.writer.clone()));
    let transport = DaemonTransport {
        reader: conn.reader.clone(),
        conn: writer.clone(),
        out,
        accepted_in_out: true,
        ended: false,
    };
    let channel = Channel::new(Box::new(transport));
    let _revoke = Revoke(&channel);
    let times = Times {
        request_start: hello.request_start_us as f64 / 1e6,
        queue_start: hello.queue_start_us as f64 / 1e6,
        daemon_start: now as f64 / 1e6,
    };
    let Some(child) = CHILD.get() else {
        return false;
    };
    let app = App {
        script: &script,
        callable: &callable,
        reload,
        // Apache's directory walk stat'ed the script moments ago: no stat of our own.
        mtime_us: hello.script_mtime_us,
    };
    let slot = &state.running[thread.index];
    let set_running = |running: Option<Running>| {
        *lock(slot) = running;
    };
    set_running(Some(Running {
        started: Instant::now(),
        thread: nix::sys::pthread::pthread_self() as u64,
        // Only request-timeout's log line names the request.
        request: if state.request_timeout.is_some() {
            format!("{method} {}", get("REQUEST_URI"))
        } else {
            String::new()
        },
        conn: writer.clone(),
        timed_out: false,
    }));
    let outcome = run_app(child, &app, &channel, header_only, times, |env| {
        env.wire_vars(vars.iter(), &mut thread.strings);
    });
    // Says End or Error on the wire, with the GIL released.
    channel.close(&outcome);
    set_running(None);
    // After an error the Apache child drops the connection itself; nothing may be left
    // unread either, or the next request would read it.
    writer.finish() && matches!(outcome, Outcome::Done) && lock(&conn.reader).buffered() == 0
}

/// Called by the monitor: sends `Accepted` for quiet requests, and hands each request that
/// has run past request-timeout to a thread of its own that answers it, logs where the
/// application is stuck and recycles.
fn watch_request_times(state: &Arc<State>) {
    for (index, slot) in state.running.iter().enumerate() {
        let mut slot = lock(slot);
        let Some(running) = slot.as_mut() else {
            continue;
        };
        let ran = running.started.elapsed();
        if ran >= state.accept_quiet && !running.conn.accepted.load(Ordering::Relaxed) {
            running.conn.accept();
        }
        let Some(limit) = state.request_timeout else {
            continue;
        };
        if running.timed_out || ran < limit {
            continue;
        }
        running.timed_out = true;
        let stuck = Stuck {
            index,
            started: running.started,
            thread: running.thread,
            request: running.request.clone(),
            ran: running.started.elapsed(),
            conn: running.conn.clone(),
        };
        state.reporting.fetch_add(1, Ordering::Relaxed);
        let reporter = state.clone();
        // Taking the GIL for the stack can wait on the stuck thread: not on the monitor.
        let spawned = std::thread::Builder::new()
            .name("rwsgi-timeout".into())
            .spawn(move || time_out(&reporter, limit, stuck));
        if spawned.is_err() {
            state.reporting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct Stuck {
    index: usize,
    /// Tells this request apart from the thread's next one.
    started: Instant,
    thread: u64,
    request: String,
    ran: Duration,
    conn: Arc<ConnWriter>,
}

/// request-timeout fired: 504 (or a cut response) for the client first, then the stack of
/// the stuck thread in the log, then either an interrupt (interrupt-timeout) or a recycle.
fn time_out(state: &State, limit: Duration, stuck: Stuck) {
    let pid = std::process::id();
    let group = &state.group;
    let mut frame = Vec::new();
    Frame::Error {
        status: 504,
        reason: &format!(
            "request-timeout: {} ran {:.1}s in daemon pid {pid} (limit {}s); its stack is logged as RW0218",
            stuck.request,
            stuck.ran.as_secs_f64(),
            limit.as_secs()
        ),
    }
    .encode(&mut frame);
    stuck.conn.cut(&frame);
    let interrupt = state.interrupt_timeout;
    let then = match interrupt {
        Some(t) => format!(
            "interrupting it with mod_wsgi.RequestTimeout; the process recycles if it is still running in {}s",
            t.as_secs()
        ),
        None => "the process recycles".to_owned(),
    };
    if interrupt.is_none() {
        state.recycle("request-timeout");
    }
    tracing::error!(
        "RW0218: request-timeout: {} ran {:.1}s (limit {}s) in daemon pid {pid} of group '{group}'; the client got 504; {then}. Where it was:",
        stuck.request,
        stuck.ran.as_secs_f64(),
        limit.as_secs()
    );
    // A plain attach: this short-lived thread must not keep a persistent thread state.
    let stack = pyo3::Python::attach(|py| {
        let stack = crate::python::traceback::thread_stack(py, stuck.thread);
        if interrupt.is_some() {
            crate::python::thread_state::interrupt(
                py,
                stuck.thread,
                &py.get_type::<modules::RequestTimeout>(),
            );
        }
        stack
    });
    for line in stack {
        tracing::error!("RW0218:   {line}");
    }
    state.reporting.fetch_sub(1, Ordering::Relaxed);
    let Some(wait) = interrupt else { return };
    std::thread::sleep(wait);
    let still = lock(&state.running[stuck.index])
        .as_ref()
        .is_some_and(|r| r.started == stuck.started);
    if still {
        tracing::error!(
            "RW0218: {} in daemon pid {pid} of group '{group}' did not stop within interrupt-timeout ({}s); the process recycles",
            stuck.request,
            wait.as_secs()
        );
        state.recycle("request-timeout");
    }
}

/// The request's variables, copied out of the frame reader in one piece (the reader moves
/// on to the body while the app runs).
struct Vars {
    bytes: Vec<u8>,
    /// Key start, value start, value end in `bytes`.
    spans: Vec<(usize, usize, usize)>,
}

impl Vars {
    fn new(pairs: &[(&[u8], &[u8])]) -> Vars {
        let size = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        let mut vars = Vars {
            bytes: Vec::with_capacity(size),
            spans: Vec::with_capacity(pairs.len()),
        };
        for (k, v) in pairs {
            let key = vars.bytes.len();
            vars.bytes.extend_from_slice(k);
            let value = vars.bytes.len();
            vars.bytes.extend_from_slice(v);
            vars.spans.push((key, value, vars.bytes.len()));
        }
        vars
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], &[u8])> {
        self.spans
            .iter()
            .map(|&(k, v, end)| (&self.bytes[k..v], &self.bytes[v..end]))
    }

    /// The last value given for `key` (later ones override), or empty.
    fn get(&self, key: &[u8]) -> &[u8] {
        self.iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, v)| v)
    }
}

/// Refuses a connection that is not from this generation's Apache.
fn reject(state: &State, conn: &UnixStream, writer: &UnixStream, why: &str) {
    let peer = nix::sys::socket::getsockopt(conn, nix::sys::socket::sockopt::PeerCredentials)
        .map(|c| format!("pid {} uid {}", c.pid(), c.uid()))
        .unwrap_or_else(|_| "an unknown peer".to_owned());
    tracing::warn!(
        "RW0209: daemon group '{}' refused a connection from {peer}: {why}; nothing was run",
        state.group
    );
    let mut out = Vec::new();
    Frame::Error {
        status: 403,
        reason: "refused: not an authenticated rwsgi client",
    }
    .encode(&mut out);
    let _ = (&*writer).write_all(&out);
}

/// Why writing to the Apache child failed, for the log.
fn write_failed(e: &std::io::Error) -> String {
    if matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        "the Apache child took nothing for response-socket-timeout: the client stopped reading"
            .to_owned()
    } else {
        format!("the Apache child went away: {e}")
    }
}

/// The daemon side of one request as a WSGI transport: frames to and from the Apache child.
struct DaemonTransport {
    reader: Arc<Mutex<FrameReader<UnixStream>>>,
    conn: Arc<ConnWriter>,
    /// Frames not yet written: small responses leave in one write.
    out: Vec<u8>,
    /// `out` begins with the `Accepted` frame (until the first write).
    accepted_in_out: bool,
    ended: bool,
}

/// Buffered frames are written once they pass this size.
const WRITE_AT: usize = 64 * 1024;

/// `wsgi.file_wrapper` files from this size on go to the Apache child as an open
/// descriptor; smaller ones are cheaper to copy into the response's frames.
const PASS_FILES_FROM: u64 = 32 * 1024;

impl DaemonTransport {
    fn push(&mut self) -> Result<(), String> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.conn.send(&self.out, self.accepted_in_out);
        self.accepted_in_out = false;
        self.out.clear();
        r.map_err(|e| write_failed(&e))
    }

    fn end(&mut self, outcome: &Outcome) -> Result<(), String> {
        if !self.ended {
            self.ended = true;
            match outcome {
                Outcome::Done => Frame::End.encode(&mut self.out),
                Outcome::Failed { status } => Frame::Error {
                    status: *status,
                    reason: "the application failed (see the daemon's log lines above)",
                }
                .encode(&mut self.out),
                Outcome::Aborted => Frame::Error {
                    status: 500,
                    reason: "the application failed after the response started",
                }
                .encode(&mut self.out),
            }
        }
        self.push()
    }

    /// Asks the Apache child for up to `max` body bytes and hands them to `take`.
    fn request_body(
        &mut self,
        max: usize,
        fill: bool,
        take: impl FnOnce(&[u8]),
    ) -> Result<usize, BodyError> {
        let lost = |why: String| BodyError {
            status: 400,
            reason: format!("reading the request body from the Apache child failed: {why}"),
        };
        Frame::ReadBody {
            max: max.min(u32::MAX as usize) as u32,
            fill,
        }
        .encode(&mut self.out);
        self.push().map_err(lost)?;
        match lock(&self.reader).read_frame() {
            Ok(Some(Frame::Body(data))) if data.len() <= max => {
                take(data);
                Ok(data.len())
            }
            Ok(Some(Frame::BodyError { status, reason })) => Err(BodyError {
                status,
                reason: reason.to_owned(),
            }),
            Ok(Some(f)) => Err(lost(format!("unexpected frame 0x{:02x}", f.kind()))),
            Ok(None) => Err(lost("connection closed".into())),
            Err(e) => Err(lost(e.to_string())),
        }
    }
}

impl Transport for DaemonTransport {
    fn read_body(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError> {
        let max = buf.len();
        self.request_body(max, fill, |data| buf[..data.len()].copy_from_slice(data))
    }
    fn read_body_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError> {
        let max = buf.len();
        self.request_body(max, fill, |data| {
            for (dst, src) in buf.iter_mut().zip(data) {
                dst.write(*src);
            }
        })
    }
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), String> {
        let headers: Vec<_> = head
            .headers
            .iter()
            .map(|(n, v)| (wsgi::latin1_encode(n), wsgi::latin1_encode(v)))
            .collect();
        let line = wsgi::latin1_encode(&head.status_line);
        Frame::Head {
            status: head.status,
            status_line: &line,
            headers: headers.iter().map(|(n, v)| (&n[..], &v[..])).collect(),
        }
        .encode(&mut self.out);
        Ok(())
    }
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), String> {
        if data.len() > WRITE_AT {
            self.push()?;
            let k = if flush { kind::DATA_FLUSH } else { kind::DATA };
            return self
                .conn
                .with(|s, _| protocol::write_data(s, k, data))
                .map_err(|e| write_failed(&e));
        }
        if flush {
            Frame::DataFlush(data).encode(&mut self.out);
        } else if !data.is_empty() {
            Frame::Data(data).encode(&mut self.out);
        }
        if flush || self.out.len() >= WRITE_AT {
            self.push()?;
        }
        Ok(())
    }
    fn send_file(&mut self, fd: i32, offset: u64, len: u64) -> Result<(), String> {
        if len >= PASS_FILES_FROM {
            // The Apache child gets the open file itself and sends it with Apache's file
            // bucket (sendfile or mmap): its bytes never cross the socket.
            self.push()?;
            let mut frame = Vec::with_capacity(32);
            Frame::File { offset, len }.encode(&mut frame);
            return self
                .conn
                .with(|s, _| fd_passing::send_with_fd(s, &frame, fd))
                .map_err(|e| write_failed(&e));
        }
        let mut buf = vec![0u8; 256 * 1024];
        let mut done = 0u64;
        while done < len {
            let want = ((len - done) as usize).min(buf.len());
            let n = process::pread(fd, &mut buf[..want], offset + done)
                .map_err(|e| format!("reading the file to send failed: {e}"))?;
            if n == 0 {
                break;
            }
            self.send_body(&buf[..n], false)?;
            done += n as u64;
        }
        Ok(())
    }
    fn abort(&mut self) {
        let _ = self.end(&Outcome::Aborted);
    }
    fn buffers(&self, len: usize, flush: bool) -> bool {
        // Frame headers and the head's encoding add a little to `len`.
        !flush && self.out.len().saturating_add(len).saturating_add(1024) < WRITE_AT
    }
    fn finish(&mut self, outcome: &Outcome) {
        let _ = self.end(outcome);
    }
}
