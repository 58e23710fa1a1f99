//! The daemon's main thread once it serves: every 50 ms it watches request times
//! (request-timeout), the GIL (deadlock-timeout) and the reasons to wind down (a signal,
//! maximum-requests, restart-interval, inactivity-timeout, memory, a script that keeps
//! failing), and once winding down, when the process may exit.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::lock;
use super::state::State;
use super::timeout::watch_request_times;
use super::{EXIT_DEADLOCK, now_us};
use crate::python::with_gil;
use crate::wsgi::runner::{self, FAILING_SINCE_US};
use rwsgi_core::daemon_spec::DaemonSpec;

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

/// The signals a daemon acts on, registered before anything slow.
pub(super) struct Signals {
    /// SIGTERM, SIGINT.
    pub(super) stop: Arc<AtomicBool>,
    /// SIGWINCH: the supervisor drains its daemons (Apache restarted).
    drain: Arc<AtomicBool>,
    /// SIGUSR1, from an operator: this one process is replaced at once and gets
    /// eviction-timeout to finish.
    evict: Arc<AtomicBool>,
    /// SIGHUP and SIGUSR2 belong to the application (`mod_wsgi.subscribe_signals`), as in
    /// mod_wsgi; they wait in this queue until Python runs.
    pub(super) app: Option<signal_hook::iterator::Signals>,
}

impl Signals {
    pub(super) fn register() -> Signals {
        let flag = |signals: &[i32]| {
            let flag = Arc::new(AtomicBool::new(false));
            for &sig in signals {
                let _ = signal_hook::flag::register(sig, flag.clone());
            }
            flag
        };
        Signals {
            stop: flag(&[libc::SIGTERM, libc::SIGINT]),
            app: signal_hook::iterator::Signals::new([libc::SIGHUP, libc::SIGUSR2]).ok(),
            drain: flag(&[libc::SIGWINCH]),
            evict: flag(&[libc::SIGUSR1]),
        }
    }
}

/// The main thread's watch.
pub(super) struct Monitor<'a> {
    spec: &'a DaemonSpec,
    state: Arc<State>,
    signals: Signals,
    /// deadlock-timeout's probe: when a thread last got the GIL (µs since the epoch).
    gil_seen: Option<Arc<AtomicU64>>,
    retire: &'a OwnedFd,
    started: Instant,
    /// The application's `process_stopping` subscribers have returned.
    stopping_done: Arc<AtomicBool>,
    /// Why and until when the process winds down, once it does.
    ending: Option<(Ending, Instant)>,
}

impl<'a> Monitor<'a> {
    pub(super) fn new(
        spec: &'a DaemonSpec,
        state: Arc<State>,
        signals: Signals,
        gil_seen: Option<Arc<AtomicU64>>,
        retire: &'a OwnedFd,
    ) -> Monitor<'a> {
        Monitor {
            spec,
            state,
            signals,
            gil_seen,
            retire,
            started: Instant::now(),
            stopping_done: Arc::new(AtomicBool::new(false)),
            ending: None,
        }
    }

    /// Watches until the process may exit; the exit status.
    pub(super) fn run(mut self) -> i32 {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            watch_request_times(&self.state);
            if self.deadlocked() {
                return EXIT_DEADLOCK;
            }
            match self.ending {
                None => {
                    if let Some(why) = self.reason_to_end() {
                        self.begin_ending(why);
                    }
                }
                Some(_) if raised(&self.signals.stop) && self.state.hub.accepting() => {
                    self.state.hub.stop_accepting();
                }
                Some(_) => {}
            }
            if let Some((why, deadline)) = self.ending {
                if self.may_exit(why, deadline) {
                    let _ = std::io::stderr().flush();
                    return 0;
                }
            }
        }
    }

    /// deadlock-timeout: no thread could take the GIL for that long. Python cannot run a
    /// line, so nothing can finish: the process exits now, and the supervisor logs the
    /// exit (RW0204) and starts a new one.
    fn deadlocked(&self) -> bool {
        let (Some(limit), Some(seen)) = (self.spec.options.deadlock_timeout, &self.gil_seen) else {
            return false;
        };
        let stuck = Duration::from_micros(now_us().saturating_sub(seen.load(Ordering::Relaxed)));
        if stuck <= limit {
            return false;
        }
        tracing::error!(
            "RW0219: daemon process {} of group '{}': no thread could take Python's GIL for {:.0}s (deadlock-timeout {}s); a C extension holds it. Exiting so a new process starts; {} requests were running",
            std::process::id(),
            self.spec.options.name,
            stuck.as_secs_f64(),
            limit.as_secs(),
            self.state.active.load(Ordering::Relaxed)
        );
        let _ = std::io::stderr().flush();
        true
    }

    /// The first reason to wind down, if any, in order of precedence.
    fn reason_to_end(&self) -> Option<Ending> {
        let o = &self.spec.options;
        let state = &self.state;
        if raised(&self.signals.stop) {
            Some(Ending::Stop)
        } else if raised(&self.signals.drain) {
            Some(Ending::Drain)
        } else if raised(&self.signals.evict) {
            Some(Ending::Recycle(EVICTION))
        } else if let Some(reason) = *lock(&state.recycle) {
            Some(Ending::Recycle(reason))
        } else if o.startup_timeout.is_some_and(|t| {
            let since = FAILING_SINCE_US.load(Ordering::Relaxed);
            since != 0 && now_us().saturating_sub(since) >= t.as_micros() as u64
        }) {
            // A script that failed to load and keeps failing: a fresh interpreter may
            // succeed where this one's half-imported state cannot (mod_wsgi's reason for
            // the option: Django's "populate() isn't reentrant").
            Some(Ending::Recycle("startup-timeout"))
        } else if o
            .restart_interval
            .is_some_and(|i| self.started.elapsed() >= i)
        {
            Some(Ending::Recycle("restart-interval"))
        } else if o.inactivity_timeout.is_some_and(|t| {
            state.active.load(Ordering::Relaxed) == 0 && lock(&state.last_activity).elapsed() >= t
        }) {
            Some(Ending::Recycle("inactivity-timeout"))
        } else if o
            .resident_memory_limit
            .is_some_and(|limit| crate::usage::resident_bytes().is_some_and(|rss| rss > limit))
        {
            Some(Ending::Recycle("resident-memory-limit"))
        } else {
            None
        }
    }

    /// Stops taking requests (except while draining), has a recycle's replacement
    /// started, sets the time limit and tells the application.
    fn begin_ending(&mut self, why: Ending) {
        let o = &self.spec.options;
        if let Ending::Recycle(reason) = why {
            tracing::info!(
                "RW0207: daemon process {} of group '{}' recycles ({reason}) after {} requests",
                std::process::id(),
                o.name,
                self.state.taken.load(Ordering::Relaxed)
            );
        }
        if why != Ending::Drain {
            self.state.hub.stop_accepting();
        }
        if let Ending::Recycle(_) = why {
            // The supervisor starts the replacement now, not after this one exits.
            let _ = nix::unistd::write(self.retire, &std::process::id().to_le_bytes());
        }
        let limit = match why {
            Ending::Stop => o.shutdown_timeout,
            Ending::Recycle(EVICTION) => o.eviction_timeout.unwrap_or(o.graceful_timeout),
            Ending::Drain | Ending::Recycle(_) => o.graceful_timeout,
        };
        self.ending = Some((why, Instant::now() + limit));
        // The application hears first (mod_wsgi's order), while its last requests finish.
        let done = self.stopping_done.clone();
        let spawned = std::thread::Builder::new()
            .name("rwsgi-stopping".into())
            .spawn(move || {
                with_gil(|py| runner::publish_stopping(py, &why.shutdown_reason()));
                done.store(true, Ordering::Release);
            });
        if spawned.is_err() {
            self.stopping_done.store(true, Ordering::Release);
        }
    }

    /// Whether the process winding down may exit: its requests and the application's
    /// stopping callbacks are done, or the time limit passed (said in the log).
    fn may_exit(&self, why: Ending, deadline: Instant) -> bool {
        let state = &self.state;
        let name = &self.spec.options.name;
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
        let stopped = self.stopping_done.load(Ordering::Acquire);
        if !(done && stopped) && Instant::now() < deadline {
            return false;
        }
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
        true
    }
}

/// Whether a flag a signal handler sets is up.
fn raised(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
