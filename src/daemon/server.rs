//! One daemon process: privileges first, then checks as the daemon's own user, then Python,
//! then worker threads serving requests from the group's socket, until it is told to stop,
//! drain or recycle. Apache children keep their connections between requests, so idle
//! threads wait in one epoll set for either a new connection or the next request on a kept
//! one.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::unistd::{AccessFlags, Gid, Pid, Uid, User, access};

use super::conn::{ACCEPTED_LEN, ConnWriter, DaemonTransport, PID, accepted_frame};
use super::hub::{Conn, ConnSettings, Hub};
use super::state::{Running, State};
use super::timeout::watch_request_times;
use super::vars::Vars;
use super::{Generation, Group, lock};
use crate::apache::{Mpm, Server, os, process};
use crate::config::PythonSettings;
use crate::python::{interpreter, with_gil};
use crate::wsgi::Setup;
use crate::wsgi::runner::{self, App, CHILD, FAILING_SINCE_US, Revoke, run_app};
use crate::wsgi::{Channel, Outcome, Times, WireStrings};
use rwsgi_core::daemon_options::Account;
use rwsgi_core::protocol::{self, Frame, FrameReader, Hello};
use rwsgi_core::route::Route;

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

/// A request quiet this long gets its `Accepted` frame from the monitor (capped at half
/// the group's connect-timeout, the Apache child's patience).
const ACCEPT_QUIET: Duration = Duration::from_millis(500);

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
    let supervisor = nix::unistd::getppid();
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
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    // SIGHUP and SIGUSR2 belong to the application (`mod_wsgi.subscribe_signals`), as in
    // mod_wsgi; they wait in this queue until Python runs.
    let app_signals = signal_hook::iterator::Signals::new([libc::SIGHUP, libc::SIGUSR2]).ok();
    // The supervisor drains its daemons with SIGWINCH (Apache restarted); SIGUSR1 comes
    // from an operator and evicts this one process: it is replaced at once and gets
    // eviction-timeout to finish.
    let _ = signal_hook::flag::register(libc::SIGWINCH, drain.clone());
    let evict = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(libc::SIGUSR1, evict.clone());
    match setup_process(server, group, supervisor) {
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
    let settings = ConnSettings {
        socket_timeout: group.socket_timeout,
        response_socket_timeout: o.response_socket_timeout.unwrap_or(group.socket_timeout),
        buffer_sizes: (
            o.send_buffer_size.map(|n| n as usize),
            o.receive_buffer_size.map(|n| n as usize),
        ),
    };
    let hub = match Hub::new(listener, settings) {
        Ok(hub) => hub,
        Err(e) => {
            tracing::error!("RW0203: daemon of group '{name}': cannot set up epoll: {e}");
            return EXIT_CONFIG;
        }
    };
    let state = Arc::new(State {
        group: name.clone(),
        secret: generation.secret,
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
    if let Some(signals) = app_signals {
        let _ = std::thread::Builder::new()
            .name("rwsgi-signals".into())
            .spawn(move || deliver_signals(signals));
    }
    let stopping_done = Arc::new(AtomicBool::new(false));
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
                .is_some_and(|limit| crate::usage::resident_bytes().is_some_and(|rss| rss > limit))
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
                    state.hub.stop_accepting();
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
                // The application hears first (mod_wsgi's order), while its last requests
                // finish.
                let done = stopping_done.clone();
                let spawned = std::thread::Builder::new()
                    .name("rwsgi-stopping".into())
                    .spawn(move || {
                        with_gil(|py| runner::publish_stopping(py, &why.shutdown_reason()));
                        done.store(true, Ordering::Release);
                    });
                if spawned.is_err() {
                    stopping_done.store(true, Ordering::Release);
                }
            }
        } else if stop.load(Ordering::Relaxed) && state.hub.accepting() {
            state.hub.stop_accepting();
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
        let stopped = stopping_done.load(Ordering::Acquire);
        if (done && stopped) || Instant::now() >= deadline {
            if !stopped {
                tracing::warn!(
                    "RW0128: daemon process {} of group '{name}': its shutdown callbacks (mod_wsgi.subscribe_shutdown) did not finish within the time limit ({why:?}); exiting without them",
                    std::process::id()
                );
            }
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

impl Ending {
    /// mod_wsgi's name for it (`process_stopping`'s `shutdown_reason`).
    fn shutdown_reason(self) -> String {
        match self {
            Ending::Stop => "shutdown_signal".to_owned(),
            Ending::Drain => "graceful_signal".to_owned(),
            Ending::Recycle(EVICTION) => "eviction_signal".to_owned(),
            Ending::Recycle(reason) => reason.replace('-', "_"),
        }
    }
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

/// Limits, privileges, working directory and environment, then readability checks.
fn setup_process(server: Server<'_>, group: &Group, supervisor: Pid) -> Result<(), String> {
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
        // Changing credentials cleared the parent-death signal: set it again, so the daemon
        // stops with its supervisor, and go now if the supervisor is already gone.
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
        if nix::unistd::getppid() != supervisor {
            return Err("its supervisor died while it started".to_owned());
        }
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
    }
    // HOME is the daemon's user's, not that of whoever started Apache (mod_wsgi's rule;
    // the working directory above is another matter).
    if let Ok(Some(account)) = User::from_uid(nix::unistd::getuid()) {
        env.push(("HOME", account.dir.to_string_lossy().into_owned()));
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
    let preloaded = group.preload.iter().map(|(script, _)| script);
    for script in group.scripts.iter().chain(preloaded) {
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
                "cannot {what} {} ({}); needed for {}",
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
    // A daemon's path is its own: WSGIPythonPath is for embedded mode, as in mod_wsgi.
    settings.path = o.python_path.clone();
    settings.first_path = o.home.clone();
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
    let setup = Setup {
        own_gil: settings.own_gil_in(&o.name),
        settings,
        mpm,
        process_group: o.name.clone(),
        server_metrics: o.server_metrics,
        multithread: o.threads > 1,
        multiprocess: o.multiprocess,
    };
    let global_used = crate::routing::global_group_reaches(server, &o.name);
    with_gil(|py| {
        runner::set_up(
            py,
            "RW0203",
            setup,
            global_used,
            group
                .preload
                .iter()
                .map(|(script, group)| runner::Preload { script, group }),
        )
    })
}

/// One worker thread: take the next request (on a new or a kept connection), serve it,
/// keep the connection, until the process winds down.
fn worker(state: &Arc<State>, index: usize) {
    let mut thread = WorkerThread {
        index,
        strings: WireStrings::default(),
    };
    while state.hub.accepting() {
        let Some(conn) = state.hub.wait() else {
            continue;
        };
        if serve(state, &mut thread, &conn) {
            state.hub.keep(conn);
        }
    }
    // Its strings belong to the interpreters that made them; dropped here, outside any,
    // pyo3 would queue their decrefs for whichever interpreter attaches next. The process
    // is winding down: let them go with it.
    std::mem::forget(thread.strings);
}

/// What a worker thread keeps from one request to the next.
struct WorkerThread {
    /// Its slot in `State::running`.
    index: usize,
    strings: WireStrings,
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
        let answer = Refusal {
            status: 403,
            reason: "refused: not an authenticated rwsgi client",
        };
        reject(state, reader.get_ref(), &lock(&conn.writer), why, answer);
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
        // Not a stranger: an Apache child of another rwsgi build (a daemon's Python with
        // another rwsgi installed). Both sides say what differs.
        let why = format!(
            "protocol version {} (this daemon speaks {}); Apache and the daemon come from different rwsgi builds",
            hello.version,
            protocol::VERSION
        );
        let answer = Refusal {
            status: 502,
            reason: &format!("refused: {why}"),
        };
        reject(state, reader.get_ref(), &lock(&conn.writer), &why, answer);
        return false;
    }
    if !protocol::secrets_match(&hello.secret, &state.secret) {
        return refuse(&reader, "wrong secret");
    }
    // Requests are counted as they are taken, so maximum-requests is exact with several
    // threads waiting.
    let max = state.maximum_requests;
    let taken = state.taken.fetch_add(1, Ordering::Relaxed) + 1;
    if !state.hub.accepting() || (max > 0 && taken > max) {
        // Winding down: closing before `Accepted` makes the Apache child retry, and
        // another process (the replacement) takes the request.
        return false;
    }
    if max > 0 && taken == max {
        // The last request: the replacement starts while it runs.
        state.hub.stop_accepting();
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
    let (route, vars) = match reader.read_frame() {
        Ok(Some(Frame::Request { route, environ })) => (route, Vars::new(&environ)),
        _ => return false,
    };
    // The transport reads the body through the same reader.
    drop(reader);
    if script_changed(&route) {
        // Touch-to-deploy: modules the old script imported are in this process, so it
        // restarts rather than run the new script beside them (mod_wsgi's behaviour).
        // Nothing was sent: the Apache child retries, and the replacement, which starts
        // now, takes the request with the new code.
        state.hub.stop_accepting();
        state.recycle("script-reload");
        return false;
    }
    // WSGIIgnoreActivity: the request does not keep inactivity-timeout from firing.
    let activity = !route.ignore_activity;
    state.active.fetch_add(1, Ordering::Relaxed);
    if activity {
        *lock(&state.last_activity) = Instant::now();
    }
    let request = Taken {
        hello: &hello,
        taken_us: now,
        route: &route,
        vars: &vars,
    };
    let keep = run_request(state, thread, conn, &request, out);
    if activity {
        *lock(&state.last_activity) = Instant::now();
    }
    state.active.fetch_sub(1, Ordering::Relaxed);
    keep
}

/// Whether reloading is on for the request and this process loaded its script from an
/// older (or newer) file; logs RW0221 when so.
fn script_changed(route: &Route) -> bool {
    if !route.reload {
        return false;
    }
    let script = &route.script;
    let changed = CHILD
        .get()
        .is_some_and(|child| child.script_changed(script, route.script_mtime_us));
    if changed {
        tracing::info!(
            "RW0221: WSGI script '{script}' changed since daemon process {} loaded it; the process restarts to load it, and the request goes to its replacement",
            std::process::id()
        );
    }
    changed
}

/// A request this daemon took: its opening, when it was taken, its route and variables.
#[derive(Clone, Copy)]
struct Taken<'a> {
    hello: &'a Hello,
    /// µs since the epoch.
    taken_us: u64,
    route: &'a Route,
    vars: &'a Vars,
}

/// Runs the application for a request whose environ has arrived; true if the response
/// ended cleanly and the connection can carry another request.
fn run_request(
    state: &State,
    thread: &mut WorkerThread,
    conn: &Conn,
    request: &Taken<'_>,
    out: Vec<u8>,
) -> bool {
    let Taken {
        hello,
        taken_us: now,
        route,
        vars,
    } = *request;
    let get = |key: &str| String::from_utf8_lossy(vars.get(key.as_bytes())).into_owned();
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
    // Apache's directory walk stat'ed the script moments ago (the route carries its mtime):
    // no stat of our own.
    let app = App {
        route,
        server_pid: conn.peer_pid,
        daemon: true,
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
        group: route.application_group.clone(),
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

/// What a refused client is answered.
struct Refusal<'a> {
    status: u16,
    reason: &'a str,
}

/// Refuses a connection that is not from this generation's Apache: `why` goes to the log,
/// `answer` to the peer.
fn reject(state: &State, conn: &UnixStream, writer: &UnixStream, why: &str, answer: Refusal) {
    let peer = nix::sys::socket::getsockopt(conn, nix::sys::socket::sockopt::PeerCredentials)
        .map(|c| format!("pid {} uid {}", c.pid(), c.uid()))
        .unwrap_or_else(|_| "an unknown peer".to_owned());
    tracing::warn!(
        "RW0209: daemon group '{}' refused a connection from {peer}: {why}; nothing was run",
        state.group
    );
    let mut out = Vec::new();
    Frame::Error {
        status: answer.status,
        reason: answer.reason,
    }
    .encode(&mut out);
    let _ = (&*writer).write_all(&out);
}
