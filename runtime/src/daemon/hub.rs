//! Where a daemon's idle worker threads wait: the group's listening socket and the
//! connections Apache children keep between requests, in one epoll set.

use std::collections::HashMap;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

use super::lock;
use rwsgi_core::protocol::FrameReader;

/// How each connection taken from the listener is set up.
pub struct ConnSettings {
    /// socket-timeout: how long a read from the Apache child may block.
    pub socket_timeout: Duration,
    /// How long writing the response to the Apache child may block (a client that does
    /// not read holds the Apache child, which stops reading from us).
    pub response_socket_timeout: Duration,
    /// send-buffer-size / receive-buffer-size.
    pub buffer_sizes: (Option<usize>, Option<usize>),
}

/// epoll token of the group's listening socket; kept connections have their own.
const LISTENER: u64 = u64::MAX;

/// Kept connections a process holds at most; more are closed after their request (their
/// Apache children connect again).
const KEEP_AT_MOST: usize = 128;

/// Where idle worker threads wait: the group's listening socket and the connections kept
/// between requests. Each is armed one-shot, so exactly one thread takes a new connection
/// or a kept connection's next request.
pub struct Hub {
    epoll: Epoll,
    listener: UnixListener,
    settings: ConnSettings,
    /// False once the process stops taking requests; changed under the `idle` lock.
    accepting: AtomicBool,
    idle: Mutex<HashMap<u64, Conn>>,
    next_token: AtomicU64,
}

impl Hub {
    pub fn new(listener: &UnixListener, settings: ConnSettings) -> nix::Result<Hub> {
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
            settings,
            accepting: AtomicBool::new(true),
            idle: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
        })
    }

    /// The next connection with a request waiting, new or kept; `None` after a quiet
    /// second (so the caller notices a stop) or a lost race.
    pub fn wait(&self) -> Option<Conn> {
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
        let settings = &self.settings;
        set_buffer_sizes(&stream, settings.buffer_sizes);
        let _ = stream.set_read_timeout(Some(settings.socket_timeout));
        let _ = stream.set_write_timeout(Some(settings.response_socket_timeout));
        let reader = stream.try_clone().ok()?;
        let peer_pid =
            nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
                .map_or(0, |c| c.pid().max(0) as u32);
        Some(Conn {
            token: self.next_token.fetch_add(1, Ordering::Relaxed),
            watched: false,
            peer_pid,
            reader: Arc::new(Mutex::new(FrameReader::new(reader))),
            writer: Arc::new(Mutex::new(stream)),
        })
    }

    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::Relaxed)
    }

    /// No new requests: kept connections are closed at once, so their Apache children send
    /// the next request to the group's socket (the replacement) instead of waiting on a
    /// process that will not read it.
    pub fn stop_accepting(&self) {
        let mut idle = lock(&self.idle);
        self.accepting.store(false, Ordering::Relaxed);
        idle.clear();
    }

    /// Keeps `conn` for its Apache child's next request.
    pub fn keep(&self, mut conn: Conn) {
        let mut idle = lock(&self.idle);
        // Under the lock: `stop_accepting` clears the set after clearing the flag.
        if !self.accepting() || idle.len() >= KEEP_AT_MOST {
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
pub struct Conn {
    token: u64,
    /// Registered with the hub's epoll set (it is re-armed from then on).
    pub watched: bool,
    /// The Apache child at the other end (0 if the system did not say).
    pub peer_pid: u32,
    pub reader: Arc<Mutex<FrameReader<UnixStream>>>,
    pub writer: Arc<Mutex<UnixStream>>,
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
