//! Daemons frozen by SIGSTOP (or a terminal stop): such a process still takes connections
//! from the group's socket but never answers them, and nothing inside it can notice. The
//! supervisor replaces one that stays stopped for a third of connect-timeout (at least 1 s,
//! at most 10 s): once it is killed, the requests it took but never confirmed are retried
//! on the other daemons by the Apache children, and its slot gets a new process.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How often the supervisor looks.
const EVERY: Duration = Duration::from_millis(250);

/// Daemons seen stopped, and since when.
pub struct StoppedWatch {
    seen: Vec<(Pid, Instant)>,
    next_check: Instant,
}

impl StoppedWatch {
    pub fn new() -> StoppedWatch {
        StoppedWatch {
            seen: Vec::new(),
            next_check: Instant::now(),
        }
    }

    /// Looks at `daemons` (pid, its group's name and connect-timeout) and kills those
    /// stopped for longer than their group allows.
    pub fn check<'a>(&mut self, daemons: impl Iterator<Item = (Pid, &'a str, Duration)>) {
        let now = Instant::now();
        if now < self.next_check {
            return;
        }
        self.next_check = now + EVERY;
        let mut seen = Vec::new();
        for (pid, group, connect_timeout) in daemons {
            if !is_stopped(pid) {
                continue;
            }
            let since = self
                .seen
                .iter()
                .find(|(p, _)| *p == pid)
                .map_or(now, |(_, since)| *since);
            let limit = limit(connect_timeout);
            if now.duration_since(since) < limit {
                seen.push((pid, since));
                continue;
            }
            tracing::error!(
                "RW0222: daemon pid {pid} of group '{group}' has been stopped (SIGSTOP or a terminal stop) for {:.1}s, a third of connect-timeout; killing it so that a new process serves its slot, and the requests it took are retried",
                now.duration_since(since).as_secs_f64()
            );
            let _ = kill(pid, Signal::SIGKILL);
        }
        self.seen = seen;
    }
}

/// How long a daemon may stay stopped: long enough for a debugger's or an operator's
/// deliberate pause, short enough that a request it took is retried before connect-timeout.
pub fn limit(connect_timeout: Duration) -> Duration {
    (connect_timeout / 3).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// Whether `pid` is stopped by a signal (`T` in /proc; a debugger's trace stop, `t`, is not).
fn is_stopped(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state == "T")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(limit(Duration::from_secs(15)), Duration::from_secs(5));
        assert_eq!(limit(Duration::from_secs(1)), Duration::from_secs(1));
        assert_eq!(limit(Duration::from_secs(300)), Duration::from_secs(10));
    }
}
