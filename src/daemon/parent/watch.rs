//! The Apache parent's watch over the current generation's supervisor. If it dies while
//! the generation serves (killed, crashed), its daemons stop with it (they are told to at
//! its death) and nothing would accept on the group sockets: the parent logs why and
//! starts another on the same sockets. One that keeps dying is given up on, saying so.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::super::{current, describe_exit, supervisor};
use crate::apache::{Mpm, Server, process};

/// The current generation's supervisor; 0 once told to drain (a restart or stop), so its
/// exit is expected.
static SUPERVISOR: AtomicI32 = AtomicI32::new(0);

/// Replacements give up after this many within `WINDOW`.
const AT_MOST: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

thread_local! {
    /// When supervisors were replaced (the Apache parent is single-threaded).
    static REPLACED: RefCell<Vec<Instant>> = const { RefCell::new(Vec::new()) };
}

/// Watches `pid`, the generation's new supervisor.
pub fn started(server: Server<'_>, pid: i32) {
    SUPERVISOR.store(pid, Ordering::SeqCst);
    process::register_other_child(server, pid, Some(Box::new(move |status| died(pid, status))));
}

/// A restart or stop: the current supervisor drains (finishes what it accepted) and exits,
/// and that exit is expected.
pub fn retire() {
    let pid = SUPERVISOR.swap(0, Ordering::SeqCst);
    if pid > 0 {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGUSR1);
    }
}

fn died(pid: i32, status: i32) {
    // Told to drain, or Apache is stopping or restarting (the supervisor may be reaped
    // before it is told): an expected end.
    if SUPERVISOR.load(Ordering::SeqCst) != pid || Mpm::stopping() {
        return;
    }
    SUPERVISOR.store(0, Ordering::SeqCst);
    let why = WaitStatus::from_raw(Pid::from_raw(pid), status)
        .map(describe_exit)
        .unwrap_or_else(|_| format!("wait status {status}"));
    let (Some(generation), Some(server)) = (current(), Server::main()) else {
        return;
    };
    let number = generation.number;
    let now = Instant::now();
    let recent = REPLACED.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|t| now.duration_since(*t) < WINDOW);
        r.push(now);
        r.len()
    });
    if recent > AT_MOST {
        tracing::error!(
            "RW0223: the daemon supervisor pid {pid} of generation {number} died ({why}), the {recent}th time within a minute; not starting another: daemon requests get 503 until Apache restarts (fix what kills it first)"
        );
        return;
    }
    tracing::error!(
        "RW0223: the daemon supervisor pid {pid} of generation {number} died ({why}); its daemons stop, and a new supervisor starts them on the same sockets"
    );
    match supervisor::spawn(&generation) {
        Ok(new) => {
            started(server, new);
            tracing::info!(
                "RW0201: daemon supervisor pid {new} started for generation {number} (replacing pid {pid})"
            );
        }
        Err(e) => tracing::error!(
            "RW0223: no new daemon supervisor for generation {number}: RW0200: fork of the daemon supervisor: {e}; daemon requests get 503 until Apache restarts"
        ),
    }
}
