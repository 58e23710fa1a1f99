//! The Apache child relaying one daemon request once it is sent: the request body as the
//! daemon asks for it, the response (head, data, passed files) to the client, and how the
//! exchange ended.

use std::io::{ErrorKind, Write};
use std::ops::ControlFlow;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::super::Group;
use super::Pooled;
use crate::apache::{RequestIo, status};
use rwsgi_core::protocol::{self, Frame, ProtocolError, ReadError};

/// How a relayed request ended.
pub(super) enum Relay {
    Done(i32),
    /// `End` after the whole response: the connection can carry another request.
    Complete,
    /// The connection ended before the daemon took the request.
    NotAccepted,
    /// The connection ended mid-request without End or Error.
    Died {
        pid: u32,
        head_sent: bool,
        why: String,
    },
    /// The daemon sent bytes the protocol does not allow; it did not die.
    Broken {
        pid: u32,
        head_sent: bool,
        error: ProtocolError,
    },
}

/// What the relay of one request has seen so far.
struct Progress<'g> {
    group: &'g Group,
    /// `WSGIErrorOverride On`: an error status (4xx, 5xx) from the application becomes
    /// the handler's status, for Apache's error document, and its head and body are
    /// dropped.
    error_override: bool,
    /// The daemon that took the request (0 until `Accepted`).
    pid: u32,
    head_sent: bool,
    /// The application's error status, kept for Apache's error document.
    overridden: Option<u16>,
    /// Request body bytes for the daemon, and the frame they go in (reused).
    body: Vec<u8>,
    frame_out: Vec<u8>,
    flush: Flush,
}

/// Relays until the request ends.
pub(super) fn relay(
    io: &mut RequestIo,
    conn: &mut Pooled,
    group: &Group,
    error_override: bool,
) -> Relay {
    let mut p = Progress {
        group,
        error_override,
        pid: 0,
        head_sent: false,
        overridden: None,
        body: Vec::new(),
        frame_out: Vec::new(),
        flush: Flush::new(group),
    };
    loop {
        if let ControlFlow::Break(ended) = p.step(io, conn) {
            return ended;
        }
    }
}

impl Progress<'_> {
    /// Waits for the daemon's next frame and acts on it.
    fn step(&mut self, io: &mut RequestIo, conn: &mut Pooled) -> ControlFlow<Relay> {
        if !conn.reader.has_frame() {
            self.before_waiting(io, conn)?;
        }
        let frame = match conn.reader.read_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return ControlFlow::Break(self.closed()),
            Err(e) => return ControlFlow::Break(self.read_failed(io, e)),
        };
        match frame {
            Frame::Accepted { pid } => self.pid = pid,
            Frame::ReadBody { max, fill } => self.send_body(io, conn, max, fill)?,
            Frame::Head {
                status,
                status_line,
                headers,
            } => self.head(io, status, status_line, &headers)?,
            // The body of an overridden response is read and dropped.
            Frame::Data(_) | Frame::DataFlush(_) if self.overridden.is_some() => {}
            Frame::Data(data) => self.data(io, data, false)?,
            Frame::DataFlush(data) => self.data(io, data, true)?,
            Frame::File { .. } if self.overridden.is_some() => {
                // The descriptor came with the frame; dropping it closes it.
                drop(conn.reader.get_mut().take_fd());
            }
            Frame::File { offset, len } => self.file(io, conn, offset, len)?,
            Frame::End => return ControlFlow::Break(self.end()),
            Frame::Error { status, reason } => {
                return ControlFlow::Break(self.error(io, status, reason));
            }
            other => {
                let kind = other.kind();
                tracing::error!(
                    "RW0214: daemon pid {} of group '{}' sent an unexpected frame 0x{kind:02x}",
                    self.pid,
                    self.group.options.name
                );
                return ControlFlow::Break(self.cut_or(io, 502));
            }
        }
        ControlFlow::Continue(())
    }

    /// About to wait for the daemon: what the application flushed goes to the client
    /// first, unless more arrives within response-flush-delay. Once the daemon has taken
    /// the request, socket-timeout bounds each wait; the switch is made only before a read
    /// that has to wait (a small response is in the first read, and the connection's next
    /// request waits with connect-timeout again).
    fn before_waiting(&mut self, io: &mut RequestIo, conn: &mut Pooled) -> ControlFlow<Relay> {
        if self.flush.due(conn.stream()) && io.write(&[], true).is_err() {
            return ControlFlow::Break(Relay::Done(status::OK));
        }
        if self.pid != 0 {
            conn.set_read_timeout(self.group.socket_timeout);
        }
        ControlFlow::Continue(())
    }

    /// The connection ended between frames.
    fn closed(&self) -> Relay {
        if self.pid == 0 {
            return Relay::NotAccepted;
        }
        Relay::Died {
            pid: self.pid,
            head_sent: self.head_sent,
            why: "connection closed without an end frame".into(),
        }
    }

    /// Reading the daemon's next frame failed: a timeout, a broken protocol, or a death.
    fn read_failed(&self, io: &mut RequestIo, e: ReadError) -> Relay {
        let name = &self.group.options.name;
        let pid = self.pid;
        let timed_out =
            |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        match e {
            ReadError::Io(e) if pid == 0 && timed_out(&e) => {
                tracing::error!(
                    "RW0210: no daemon process of group '{name}' took the request within connect-timeout ({:.1}s): its processes are down (see RW0203/RW0204) or all busy",
                    self.group.options.connect_timeout.as_secs_f64()
                );
                Relay::Done(503)
            }
            ReadError::Io(e) if timed_out(&e) => {
                tracing::error!(
                    "RW0213: daemon pid {pid} of group '{name}' sent nothing for socket-timeout ({:.0}s)",
                    self.group.socket_timeout.as_secs_f64()
                );
                self.cut_or(io, 504)
            }
            // A connection that ends inside a frame is a death like any other.
            ReadError::Protocol(error) if error != ProtocolError::Truncated => Relay::Broken {
                pid,
                head_sent: self.head_sent,
                error,
            },
            e if pid == 0 => {
                tracing::debug!("daemon connection failed before Accepted: {e}");
                Relay::NotAccepted
            }
            e => Relay::Died {
                pid,
                head_sent: self.head_sent,
                why: e.to_string(),
            },
        }
    }

    /// `ReadBody`: up to `max` body bytes for the application (with `fill`, as many as
    /// are coming), or why reading failed.
    fn send_body(
        &mut self,
        io: &mut RequestIo,
        conn: &mut Pooled,
        max: u32,
        fill: bool,
    ) -> ControlFlow<Relay> {
        self.body.resize(protocol::answer_size(max), 0);
        self.frame_out.clear();
        match io.read(&mut self.body, fill) {
            Ok(n) => Frame::Body(&self.body[..n]).encode(&mut self.frame_out),
            Err(e) => Frame::BodyError {
                status: e.status,
                reason: &e.reason,
            }
            .encode(&mut self.frame_out),
        }
        if conn.stream().write_all(&self.frame_out).is_err() {
            return ControlFlow::Break(Relay::Died {
                pid: self.pid,
                head_sent: self.head_sent,
                why: "connection closed while sending the request body".into(),
            });
        }
        ControlFlow::Continue(())
    }

    /// The response head, within header-buffer-size, to the client (or kept back for
    /// Apache's error document).
    fn head(
        &mut self,
        io: &mut RequestIo,
        code: u16,
        status_line: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> ControlFlow<Relay> {
        let limit = self.group.options.header_buffer_size as usize;
        if let Some((n, v)) = headers.iter().find(|(n, v)| n.len() + v.len() + 2 > limit) {
            tracing::error!(
                "RW0214: daemon pid {} of group '{}' sent a response header {} of {} bytes, over header-buffer-size ({limit}); answering 502",
                self.pid,
                self.group.options.name,
                String::from_utf8_lossy(n),
                n.len() + v.len() + 2
            );
            return ControlFlow::Break(Relay::Done(502));
        }
        if self.error_override && code >= 400 {
            self.overridden = Some(code);
            return ControlFlow::Continue(());
        }
        if let Err(e) = io.send_head(code, status_line, headers) {
            tracing::error!("RW0214: cannot pass the daemon's response head on: {e}");
            return ControlFlow::Break(Relay::Done(status::INTERNAL_SERVER_ERROR));
        }
        self.head_sent = true;
        ControlFlow::Continue(())
    }

    /// Body bytes to the client; `flushed` when the application asked for a flush.
    fn data(&mut self, io: &mut RequestIo, data: &[u8], flushed: bool) -> ControlFlow<Relay> {
        let now = self.flush.wanted(data.len(), flushed);
        if io.write(data, now).is_err() {
            // The client went away; the daemon sees the closed socket and stops.
            return ControlFlow::Break(Relay::Done(status::OK));
        }
        ControlFlow::Continue(())
    }

    /// A file the daemon passed, sent by Apache.
    fn file(
        &mut self,
        io: &mut RequestIo,
        conn: &mut Pooled,
        offset: u64,
        len: u64,
    ) -> ControlFlow<Relay> {
        if let Err(why) = send_passed_file(io, conn, offset, len, &mut self.flush) {
            tracing::error!(
                "RW0214: daemon pid {} of group '{}' passed a file that cannot be sent: {why}",
                self.pid,
                self.group.options.name
            );
            return ControlFlow::Break(self.cut_or(io, 502));
        }
        ControlFlow::Continue(())
    }

    /// `End`: the response is complete (or was an overridden error).
    fn end(&self) -> Relay {
        if let Some(code) = self.overridden {
            return Relay::Done(i32::from(code));
        }
        if !self.head_sent {
            tracing::error!(
                "RW0214: daemon pid {} of group '{}' ended without a response head",
                self.pid,
                self.group.options.name
            );
            return Relay::Done(status::INTERNAL_SERVER_ERROR);
        }
        Relay::Complete
    }

    /// `Error`: the daemon's status before the head, a cut response after it.
    fn error(&self, io: &mut RequestIo, code: u16, reason: &str) -> Relay {
        // The application's own failure is logged (with its traceback) by the daemon.
        if code != 500 || !reason.starts_with("the application failed") {
            tracing::error!(
                "RW0215: daemon group '{}' (pid {}): {reason}",
                self.group.options.name,
                self.pid
            );
        }
        self.cut_or(io, i32::from(code))
    }

    /// Cuts a response that has started, else answers `status`.
    fn cut_or(&self, io: &mut RequestIo, status: i32) -> Relay {
        Relay::Done(super::cut_or(io, self.head_sent, status))
    }
}

/// Why a file a daemon passed cannot be sent: the daemon broke the protocol (RW0214).
#[derive(Debug, thiserror::Error)]
enum PassedFileError {
    #[error("the File frame came without a descriptor")]
    NoDescriptor,
    #[error("fstat: {0}")]
    Fstat(nix::Error),
    #[error("not a regular file")]
    NotRegular,
    #[error("{len} bytes from offset {offset} asked of a file of {size} bytes")]
    TooShort { offset: u64, len: u64, size: u64 },
}

/// Sends the file a `File` frame came with (its descriptor arrived with the frame's bytes).
/// Only a regular file long enough is sent; anything else is a broken daemon. A client
/// that went away is not an error here: the daemon notices when its next write fails.
fn send_passed_file(
    io: &mut RequestIo,
    conn: &mut Pooled,
    offset: u64,
    len: u64,
    flush: &mut Flush,
) -> Result<(), PassedFileError> {
    let file = conn
        .reader
        .get_mut()
        .take_fd()
        .ok_or(PassedFileError::NoDescriptor)?;
    let st = nix::sys::stat::fstat(&file).map_err(PassedFileError::Fstat)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(PassedFileError::NotRegular);
    }
    let size = st.st_size.max(0) as u64;
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(PassedFileError::TooShort { offset, len, size });
    }
    let now = flush.wanted(len.min(usize::MAX as u64) as usize, false);
    let _ = io
        .send_file(file.as_raw_fd(), offset, len)
        .and_then(|()| if now { io.write(&[], true) } else { Ok(()) });
    Ok(())
}

/// When the Apache child passes the application's flushes on to the client. With
/// response-flush-delay, a flush waits that long for more data, so a stream of small chunks
/// reaches the client in fewer, larger writes; response-buffer-size bounds what waits.
struct Flush {
    delay: Option<Duration>,
    limit: u64,
    /// A flush is owed since then.
    owed_since: Option<Instant>,
    /// Bytes passed to Apache since the last flush.
    unflushed: u64,
}

impl Flush {
    fn new(group: &Group) -> Flush {
        Flush {
            delay: group.options.response_flush_delay,
            limit: group.options.response_buffer_size,
            owed_since: None,
            unflushed: 0,
        }
    }

    /// Whether `len` bytes the daemon sent (flushed by the application or not) go to the
    /// client now.
    fn wanted(&mut self, len: usize, flushed: bool) -> bool {
        self.unflushed += len as u64;
        if flushed && self.owed_since.is_none() {
            self.owed_since = Some(Instant::now());
        }
        let now = match self.delay {
            None => flushed,
            Some(_) => self.unflushed >= self.limit,
        };
        if now {
            self.owed_since = None;
            self.unflushed = 0;
        }
        now
    }

    /// Before waiting for the daemon: true if the owed flush must happen now, because
    /// nothing more arrived within the delay.
    fn due(&mut self, stream: &UnixStream) -> bool {
        let (Some(since), Some(delay)) = (self.owed_since, self.delay) else {
            return false;
        };
        let left = delay.saturating_sub(since.elapsed());
        let more = !left.is_zero() && {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.max(Duration::from_millis(1)))
                .unwrap_or(PollTimeout::MAX);
            poll(&mut fds, ms).is_ok_and(|n| n > 0)
        };
        if more {
            return false;
        }
        self.owed_since = None;
        self.unflushed = 0;
        true
    }
}
