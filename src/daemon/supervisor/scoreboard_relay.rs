//! The supervisor's half of the scoreboard relay: a daemon exec'd into its own Python does
//! not map Apache's scoreboard, so with `server-metrics=On` it asks here, one byte a
//! question, over a socket pair made before its fork, and gets a copy per byte
//! (`rwsgi_core::scoreboard::answer`). The supervisor, forked once the scoreboard exists,
//! maps it. The supervisor's ends are non-blocking: the 20 ms round waits on them in
//! `poll`, so a question is answered at once and a daemon that never asks costs nothing.

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, send};

use crate::apache::scoreboard;

/// A daemon asks one question at a time, waiting for each answer: more questions queued
/// than this come from no daemon of ours, and end the channel.
const MAX_QUEUED: usize = 4;

/// The supervisor's end of one daemon's channel.
pub struct Channel {
    stream: UnixStream,
    /// Answers not yet written whole; `sent` bytes of the first one are.
    out: VecDeque<Vec<u8>>,
    sent: usize,
}

impl Channel {
    /// A new channel: the supervisor's end, and the daemon's (placed at `SCOREBOARD_FD`
    /// before its exec).
    pub fn pair() -> std::io::Result<(Channel, UnixStream)> {
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let channel = Channel {
            stream: ours,
            out: VecDeque::new(),
            sent: 0,
        };
        Ok((channel, theirs))
    }

    fn poll_fd(&self) -> PollFd<'_> {
        let mut events = PollFlags::POLLIN;
        if !self.out.is_empty() {
            events |= PollFlags::POLLOUT;
        }
        PollFd::new(self.stream.as_fd(), events)
    }

    /// Answers every question waiting, as far as the socket takes the answers now. False
    /// when the channel is done: the daemon closed its end (it exited, or gave up waiting
    /// and so can no longer tell answers apart), or it broke the protocol.
    fn serve(&mut self) -> bool {
        let mut asked = 0;
        let mut buf = [0u8; 16];
        loop {
            match (&self.stream).read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => asked += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            if self.out.len() + asked > MAX_QUEUED {
                return false;
            }
        }
        if asked > 0 {
            let frame = rwsgi_core::scoreboard::answer(scoreboard::snapshot().as_ref());
            self.out.extend(std::iter::repeat_n(frame, asked));
        }
        self.flush()
    }

    /// Writes queued answers until done or the socket is full; false on a write error.
    fn flush(&mut self) -> bool {
        while let Some(front) = self.out.front() {
            // MSG_NOSIGNAL: a daemon gone must not end the supervisor with SIGPIPE.
            let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
            match send(self.stream.as_raw_fd(), &front[self.sent..], flags) {
                Ok(0) => return false,
                Ok(n) => {
                    self.sent += n;
                    if self.sent == front.len() {
                        self.out.pop_front();
                        self.sent = 0;
                    }
                }
                Err(Errno::EAGAIN) => return true,
                Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// The supervisor's pause between two rounds: up to `round`, cut short by a question on
/// any of `channels`, which are then all answered. A channel that is done is dropped.
pub fn wait_and_answer(channels: &mut [&mut Option<Channel>], round: Duration) {
    let timeout = PollTimeout::try_from(round).unwrap_or(PollTimeout::MAX);
    let woke = {
        let mut fds: Vec<PollFd<'_>> = channels
            .iter()
            .filter_map(|c| c.as_ref().map(Channel::poll_fd))
            .collect();
        poll(&mut fds, timeout)
    };
    match woke {
        Ok(0) => {}
        Ok(_) => {
            for channel in channels.iter_mut() {
                if channel.as_mut().is_some_and(|c| !c.serve()) {
                    **channel = None;
                }
            }
        }
        // A signal (stop, drain) cut the pause short: the round acts on it now.
        Err(Errno::EINTR) => {}
        // Not expected; the round keeps its pace.
        Err(_) => std::thread::sleep(round),
    }
}
