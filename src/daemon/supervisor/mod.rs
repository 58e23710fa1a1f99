//! The supervisor: one process per generation, forked from the Apache parent. It holds the
//! groups' listening sockets (so connections queue while a daemon restarts instead of
//! failing), forks the daemons, respawns them with back-off, answers exec'd daemons'
//! requests for Apache's scoreboard (`scoreboard_relay`), and drains or stops them.

mod scoreboard_relay;
mod stopped;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use self::scoreboard_relay::Channel;
use self::stopped::StoppedWatch;
use super::{Generation, Group, describe_exit};
use crate::apache::process::{self, Forked};
use crate::apache::{Server, scoreboard};
use rwsgi_runtime::daemon::{self, EXIT_CONFIG, Launched, exec};
use rwsgi_runtime::os;

/// Longest pause between restarts of a daemon that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A daemon that ran at least this long before dying starts its back-off afresh.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// The supervisor's round: how often it looks at its daemons and signals.
const ROUND: Duration = Duration::from_millis(20);

struct Slot {
    group: usize,
    pid: Option<Pid>,
    started: Instant,
    next_start: Instant,
    failures: u32,
    /// An exec'd daemon's channel for `server-metrics=On` (`scoreboard_relay`).
    channel: Option<Channel>,
}

/// A daemon that announced its recycle: it finishes its requests while its replacement,
/// started at once, already serves. Reaped and logged, never respawned.
struct Retiring {
    group: usize,
    pid: Pid,
    started: Instant,
    /// Its scoreboard channel: a recycling daemon still gets answers.
    channel: Option<Channel>,
}

/// Forks the supervisor; returns its pid in the parent.
pub fn spawn(generation: &Generation) -> std::io::Result<i32> {
    match process::fork()? {
        Forked::Parent(pid) => Ok(pid),
        Forked::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(generation)))
                .unwrap_or(70);
            os::exit_now(code)
        }
    }
}

fn run(generation: &Generation) -> i32 {
    process::close_apache_listeners();
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    process::default_sigchld();
    os::set_title(&format!("(rwsgi:supervisor:g{})", generation.number));
    let stop = Arc::new(AtomicBool::new(false));
    let drain = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let _ = signal_hook::flag::register(libc::SIGUSR1, drain.clone());
    // Apache's parent owned these; a supervisor must not react to Apache's graceful stop.
    let _ = signal_hook::flag::register(libc::SIGWINCH, drain.clone());

    let now = Instant::now();
    let mut slots: Vec<Slot> = generation
        .groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            (0..g.options.processes).map(move |_| Slot {
                group: i,
                pid: None,
                started: now,
                next_start: now,
                failures: 0,
                channel: None,
            })
        })
        .collect();
    // Daemons write their pid here when they start recycling.
    let Ok((retire_rx, retire_tx)) = nix::unistd::pipe() else {
        tracing::error!("RW0200: the daemon supervisor cannot create its pipe");
        return 71;
    };
    let _ = nix::fcntl::fcntl(
        &retire_rx,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut retiring: Vec<Retiring> = Vec::new();
    let mut ending: Option<(Signal, Instant)> = None;
    let mut stopped = StoppedWatch::new();
    loop {
        if ending.is_none() {
            let signal = if stop.load(Ordering::Relaxed) {
                Some(Signal::SIGTERM)
            } else if drain.load(Ordering::Relaxed) {
                Some(Signal::SIGUSR1)
            } else {
                None
            };
            if let Some(signal) = signal {
                // Daemons take SIGWINCH as "drain": SIGUSR1 may also reach them straight
                // from Apache's process group.
                let signal = if signal == Signal::SIGUSR1 {
                    Signal::SIGWINCH
                } else {
                    signal
                };
                for pid in all_pids(&slots, &retiring) {
                    let _ = kill(pid, signal);
                }
                let longest = generation
                    .groups
                    .iter()
                    .map(|g| g.options.graceful_timeout + g.options.shutdown_timeout)
                    .max()
                    .unwrap_or_default();
                ending = Some((signal, Instant::now() + longest + Duration::from_secs(1)));
            }
        } else if stop.load(Ordering::Relaxed) {
            if let Some((Signal::SIGWINCH, _)) = ending {
                // A stop during a drain: pass it on.
                for pid in all_pids(&slots, &retiring) {
                    let _ = kill(pid, Signal::SIGTERM);
                }
                ending = ending.map(|(_, deadline)| (Signal::SIGTERM, deadline));
            }
        }
        take_retirements(&retire_rx, &mut slots, &mut retiring);
        reap(generation, &mut slots, &mut retiring);
        let group = |i: usize| &generation.groups[i].options;
        stopped.check(
            slots
                .iter()
                .filter_map(|s| s.pid.map(|pid| (pid, s.group)))
                .chain(retiring.iter().map(|r| (r.pid, r.group)))
                .map(|(pid, i)| (pid, group(i).name.as_str(), group(i).connect_timeout)),
        );
        match ending {
            Some((_, deadline)) => {
                if all_pids(&slots, &retiring).next().is_none() {
                    break;
                }
                if Instant::now() > deadline {
                    for pid in all_pids(&slots, &retiring) {
                        tracing::warn!("RW0206: daemon pid {pid} did not exit in time; killing it");
                        let _ = kill(pid, Signal::SIGKILL);
                    }
                }
            }
            None => {
                let now = Instant::now();
                for slot in slots.iter_mut() {
                    if slot.pid.is_none() && slot.next_start <= now {
                        (slot.pid, slot.channel) = match start(generation, slot.group, &retire_tx) {
                            Some((pid, channel)) => (Some(pid), channel),
                            None => (None, None),
                        };
                        slot.started = now;
                        if slot.pid.is_none() {
                            slot.next_start = now + Duration::from_secs(5);
                        }
                    }
                }
            }
        }
        let mut channels: Vec<&mut Option<Channel>> = slots
            .iter_mut()
            .map(|s| &mut s.channel)
            .chain(retiring.iter_mut().map(|r| &mut r.channel))
            .collect();
        scoreboard_relay::wait_and_answer(&mut channels, ROUND);
    }
    for g in &generation.groups {
        let _ = std::fs::remove_file(&g.socket);
    }
    // The last generation out removes the directory (it fails while others still use it).
    let _ = std::fs::remove_dir(&generation.dir);
    0
}

fn all_pids<'a>(slots: &'a [Slot], retiring: &'a [Retiring]) -> impl Iterator<Item = Pid> + 'a {
    slots
        .iter()
        .filter_map(|s| s.pid)
        .chain(retiring.iter().map(|r| r.pid))
}

/// Moves daemons that announced a recycle out of their slots, so replacements start now.
fn take_retirements(pipe: &OwnedFd, slots: &mut [Slot], retiring: &mut Vec<Retiring>) {
    let mut buf = [0u8; 256];
    while let Ok(n) = nix::unistd::read(pipe, &mut buf) {
        if n == 0 {
            return;
        }
        // Writes of 4 bytes to a pipe are atomic: reads hold whole pids.
        for chunk in buf[..n].chunks_exact(4) {
            let pid = Pid::from_raw(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            if let Some(slot) = slots.iter_mut().find(|s| s.pid == Some(pid)) {
                retiring.push(Retiring {
                    group: slot.group,
                    pid,
                    started: slot.started,
                    channel: slot.channel.take(),
                });
                slot.pid = None;
                slot.failures = 0;
                slot.next_start = Instant::now();
            }
        }
    }
}

/// Forks a daemon of `group`; in the supervisor, its pid and, for an exec'd daemon with
/// `server-metrics=On`, the supervisor's end of its scoreboard channel.
fn start(
    generation: &Generation,
    group: usize,
    retire: &OwnedFd,
) -> Option<(Pid, Option<Channel>)> {
    let g = &generation.groups[group];
    let pair = if g.options.server_metrics && g.runtime.exec_python.is_some() {
        Channel::pair()
            .inspect_err(|e| {
                // The daemon starts without it, and says what that means (RW0225).
                tracing::warn!(
                    "RW0225: the daemon supervisor cannot make a scoreboard channel for group '{}': {e}",
                    g.options.name
                );
            })
            .ok()
    } else {
        None
    };
    match process::fork() {
        Ok(Forked::Parent(pid)) => Some((Pid::from_raw(pid), pair.map(|(ours, _)| ours))),
        Ok(Forked::Child) => {
            let theirs = pair.map(|(_, theirs)| theirs);
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_daemon(generation, g, retire, theirs.as_ref())
            }))
            .unwrap_or(70);
            os::exit_now(code)
        }
        Err(e) => {
            tracing::error!(
                "RW0205: cannot fork a daemon process for group '{}': {e}",
                generation.groups[group].options.name
            );
            None
        }
    }
}

/// In the child forked for one daemon: run it here on the module's Python, or exec it into
/// the group's own (with `scoreboard`, its end of the scoreboard channel).
fn run_daemon(
    generation: &Generation,
    group: &Group,
    retire: &OwnedFd,
    scoreboard: Option<&UnixStream>,
) -> i32 {
    let Some(listener) = group.listener.as_ref() else {
        return EXIT_CONFIG;
    };
    let spec = group.spec(generation);
    let Some(python) = &group.runtime.exec_python else {
        let scoreboard = Some(scoreboard::snapshot as fn() -> _);
        return daemon::run(&spec, listener, retire, Launched::Forked { scoreboard });
    };
    let why = exec::exec_daemon(python, &spec, listener, retire, scoreboard);
    tracing::error!(
        "RW0203: daemon process {} of group '{}' cannot start: {why}",
        std::process::id(),
        spec.options.name
    );
    daemon::start_failed()
}

/// The end of an RW0204 line for an exec'd group: the Python it ran, which may be what
/// failed.
fn execd(generation: &Generation, group: usize) -> String {
    generation.groups[group]
        .runtime
        .exec_python
        .as_ref()
        .map_or_else(String::new, |python| {
            format!(" (exec'd into {})", python.display())
        })
}

/// Collects exited daemons, logs why each one ended and schedules its replacement.
fn reap(generation: &Generation, slots: &mut [Slot], retiring: &mut Vec<Retiring>) {
    loop {
        let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(s) => s,
        };
        let Some(pid) = status.pid() else { return };
        let why = describe_exit(status);
        let planned = matches!(status, WaitStatus::Exited(_, 0));
        if let Some(i) = retiring.iter().position(|r| r.pid == pid) {
            // Its channel closes with it.
            let r = retiring.swap_remove(i);
            if !planned {
                write_death_note(generation, pid, &why);
                tracing::error!(
                    "RW0204: daemon pid {pid} of group '{}' died ({why}) after {:.1}s while recycling; its replacement already runs{}",
                    generation.groups[r.group].options.name,
                    r.started.elapsed().as_secs_f64(),
                    execd(generation, r.group)
                );
            }
            continue;
        }
        let Some(slot) = slots.iter_mut().find(|s| s.pid == Some(pid)) else {
            continue;
        };
        slot.pid = None;
        slot.channel = None;
        let group = &generation.groups[slot.group].options.name;
        let lived = slot.started.elapsed();
        if planned {
            slot.failures = 0;
            slot.next_start = Instant::now();
            continue;
        }
        write_death_note(generation, pid, &why);
        if lived >= STABLE_AFTER {
            slot.failures = 0;
        }
        slot.failures += 1;
        let delay = if slot.failures <= 1 {
            Duration::ZERO
        } else {
            (Duration::from_secs(1) * 2u32.saturating_pow(slot.failures - 2)).min(MAX_BACKOFF)
        };
        slot.next_start = Instant::now() + delay;
        if delay.is_zero() {
            tracing::error!(
                "RW0204: daemon pid {pid} of group '{group}' died ({why}) after {:.1}s; starting a new one{}",
                lived.as_secs_f64(),
                execd(generation, slot.group)
            );
        } else {
            tracing::error!(
                "RW0204: daemon pid {pid} of group '{group}' died ({why}) after {:.1}s, {} times in a row; next start in {}s{}",
                lived.as_secs_f64(),
                slot.failures,
                delay.as_secs(),
                execd(generation, slot.group)
            );
        }
        prune_notes(generation);
    }
}

/// Tells Apache children relaying a request of `pid` why it ended.
fn write_death_note(generation: &Generation, pid: Pid, why: &str) {
    let note = super::death_note(&generation.dir, pid.as_raw() as u32);
    let _ = std::fs::write(&note, why);
    if os::is_root() {
        let (uid, gid, _) = Server::unixd_user();
        let _ = std::os::unix::fs::chown(&note, Some(uid), Some(gid));
    }
}

/// Removes death notes older than a minute (their requests have long been answered).
fn prune_notes(generation: &Generation) {
    let Ok(entries) = std::fs::read_dir(&generation.dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(60));
        if old && e.file_name().to_string_lossy().starts_with("died.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
