//! `server-metrics=On` in a daemon exec'd into its own Python, which does not map Apache's
//! scoreboard: each `mod_wsgi.server_metrics()` call asks the supervisor (which does) over
//! the channel it placed at `SCOREBOARD_FD`, one byte, and reads back its answer
//! (`rwsgi_core::scoreboard::answer`).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::socket::MsgFlags;

use super::lock;
use crate::python::metrics::ScoreboardSource;
use rwsgi_core::scoreboard::{self, ANSWER_HEADER, AnswerError, Snapshot};

/// How long a call waits for the supervisor, which answers between two of its 20 ms
/// rounds: only a supervisor gone or stuck takes this long.
const PATIENCE: Duration = Duration::from_secs(2);
/// More than any real scoreboard (about 250 bytes a worker): a longer length is garbage.
const MAX_ANSWER: usize = 64 << 20;

/// The channel, and the group named in its log line. Calls take turns on it: each writes
/// its byte and reads its answer before the next one asks.
static CHANNEL: Mutex<Option<(UnixStream, String)>> = Mutex::new(None);
/// Whether RW0225 was logged: once per process.
static SAID: AtomicBool = AtomicBool::new(false);

/// Why a call got no scoreboard (RW0225).
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("its supervisor handed it no channel")]
    NoChannel,
    #[error("cannot set up the channel: {0}")]
    Setup(std::io::Error),
    #[error("cannot ask: {0}")]
    Ask(std::io::Error),
    #[error("no answer within {secs}s: {0}", secs = PATIENCE.as_secs())]
    Answer(std::io::Error),
    #[error("its answer claims {0} bytes")]
    TooLong(usize),
    #[error(transparent)]
    Json(#[from] AnswerError),
    #[error("the supervisor has no scoreboard")]
    NoScoreboard,
}

impl RelayError {
    /// Whether the channel may be out of step (half an answer left in it): it is dropped.
    fn breaks_channel(&self) -> bool {
        matches!(
            self,
            RelayError::Ask(_) | RelayError::Answer(_) | RelayError::TooLong(_)
        )
    }
}

/// The scoreboard source of an exec'd daemon of `group` with `server-metrics=On`: the
/// supervisor's answers over `channel`, or none without a channel (said once).
pub fn install(group: &str, channel: Option<UnixStream>) -> Option<ScoreboardSource> {
    let set_up = channel.ok_or(RelayError::NoChannel).and_then(|stream| {
        stream
            .set_read_timeout(Some(PATIENCE))
            .and_then(|()| stream.set_write_timeout(Some(PATIENCE)))
            .map_err(RelayError::Setup)?;
        Ok(stream)
    });
    match set_up {
        Ok(stream) => {
            *lock(&CHANNEL) = Some((stream, group.to_owned()));
            Some(relayed)
        }
        Err(why) => {
            say(group, &why, true);
            None
        }
    }
}

/// Apache's scoreboard from the supervisor; `None` (with one RW0225 line per process)
/// when it cannot be had.
fn relayed() -> Option<Snapshot> {
    let mut channel = lock(&CHANNEL);
    let (stream, group) = channel.as_mut()?;
    match ask(stream) {
        Ok(snapshot) => Some(snapshot),
        Err(why) => {
            let broken = why.breaks_channel();
            say(group, &why, broken);
            if broken {
                *channel = None;
            }
            None
        }
    }
}

fn ask(mut stream: &UnixStream) -> Result<Snapshot, RelayError> {
    // MSG_NOSIGNAL: an application may have restored SIGPIPE's default, which would end
    // the process if the supervisor's end were gone.
    nix::sys::socket::send(stream.as_raw_fd(), &[1], MsgFlags::MSG_NOSIGNAL)
        .map_err(|e| RelayError::Ask(e.into()))?;
    let mut header = [0u8; ANSWER_HEADER];
    stream.read_exact(&mut header).map_err(RelayError::Answer)?;
    let len = scoreboard::answer_len(header);
    if len > MAX_ANSWER {
        return Err(RelayError::TooLong(len));
    }
    let mut json = vec![0u8; len];
    stream.read_exact(&mut json).map_err(RelayError::Answer)?;
    scoreboard::from_json(&json)?.ok_or(RelayError::NoScoreboard)
}

/// RW0225, once per process; `for_good` when no later call can succeed either.
fn say(group: &str, why: &RelayError, for_good: bool) {
    if !SAID.swap(true, Ordering::Relaxed) {
        let then = if for_good {
            "returns None from now on"
        } else {
            "returned None"
        };
        tracing::warn!(
            "RW0225: daemon process {} of group '{group}' (exec'd) could not get Apache's scoreboard from its supervisor: {why}; mod_wsgi.server_metrics() {then}",
            std::process::id()
        );
    }
}
