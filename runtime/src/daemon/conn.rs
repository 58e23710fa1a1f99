//! The daemon's side of one connection to an Apache child: the write half shared with the
//! monitor (`ConnWriter`), and a request's frames as a WSGI `Transport`.

use std::io::Write;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::{fd_passing, lock};
use crate::os;
use crate::wsgi::{BodyError, Outcome, ResponseHead, SendError, Transport};
use rwsgi_core::protocol::{self, BodyReadError, Frame, FrameReader, kind};

/// The write side of one connection to an Apache child, shared between the worker thread
/// and the monitor. The monitor sends `Accepted` for a request that has been quiet for a
/// while (the Apache child waits for it only connect-timeout) and may end a request that
/// ran past request-timeout between two frames.
pub struct ConnWriter {
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
    pub fn new(stream: Arc<Mutex<UnixStream>>) -> Self {
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
    pub fn finish(&self) -> bool {
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
    /// Whether `Accepted` has gone out.
    pub fn accepted(&self) -> bool {
        self.accepted.load(Ordering::Relaxed)
    }

    pub fn accept(&self) {
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
    pub fn cut(&self, last: &[u8]) {
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
pub const ACCEPTED_LEN: usize = 9;

/// This daemon's pid, set when it starts: `getpid` is a system call, and every request's
/// `Accepted` frame names the pid.
pub static PID: AtomicU32 = AtomicU32::new(0);

pub fn accepted_frame(out: &mut Vec<u8>) {
    Frame::Accepted {
        pid: PID.load(Ordering::Relaxed),
    }
    .encode(out);
}

/// Why the daemon could not send a response to the Apache child.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(
        "the Apache child took nothing for response-socket-timeout: the client stopped reading"
    )]
    ClientStoppedReading,
    #[error("the Apache child went away: {0}")]
    ApacheChildGone(std::io::Error),
    #[error("reading the file to send failed: {0}")]
    ReadFile(std::io::Error),
}

impl From<ConnError> for SendError {
    fn from(e: ConnError) -> SendError {
        SendError::Transport(Box::new(e))
    }
}

/// Why writing to the Apache child failed, for the log.
fn write_failed(e: std::io::Error) -> ConnError {
    if matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        ConnError::ClientStoppedReading
    } else {
        ConnError::ApacheChildGone(e)
    }
}

/// The daemon side of one request as a WSGI transport: frames to and from the Apache child.
pub struct DaemonTransport {
    pub reader: Arc<Mutex<FrameReader<UnixStream>>>,
    pub conn: Arc<ConnWriter>,
    /// Frames not yet written: small responses leave in one write.
    pub out: Vec<u8>,
    /// `out` begins with the `Accepted` frame (until the first write).
    pub accepted_in_out: bool,
    pub ended: bool,
}

/// Buffered frames are written once they pass this size.
const WRITE_AT: usize = 64 * 1024;

/// `wsgi.file_wrapper` files from this size on go to the Apache child as an open
/// descriptor; smaller ones are cheaper to copy into the response's frames.
const PASS_FILES_FROM: u64 = 32 * 1024;

impl DaemonTransport {
    fn push(&mut self) -> Result<(), ConnError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.conn.send(&self.out, self.accepted_in_out);
        self.accepted_in_out = false;
        self.out.clear();
        r.map_err(write_failed)
    }

    fn end(&mut self, outcome: &Outcome) -> Result<(), ConnError> {
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

    /// Reads up to `max` request body bytes from the Apache child (in exchanges of at most
    /// a frame each) and hands them to `take` with their offset.
    fn request_body(
        &mut self,
        max: usize,
        fill: bool,
        take: impl FnMut(usize, &[u8]),
    ) -> Result<usize, BodyError> {
        let reader = self.reader.clone();
        let mut reader = lock(&reader);
        let ask = |frame: Frame<'_>| {
            frame.encode(&mut self.out);
            self.push().map_err(|e| e.to_string())
        };
        protocol::read_body(&mut reader, max, fill, ask, take).map_err(|e| match e {
            BodyReadError::Refused { status, reason } => BodyError { status, reason },
            e if e.is_protocol_error() => {
                let peer = peer_of(reader.get_ref());
                tracing::error!(
                    "RW0214: {peer} broke the protocol while sending the request body to daemon pid {}: {e}",
                    PID.load(Ordering::Relaxed)
                );
                BodyError {
                    status: 500,
                    reason: format!("the Apache child broke the protocol: {e}"),
                }
            }
            e => BodyError {
                status: 400,
                reason: format!("reading the request body from the Apache child failed: {e}"),
            },
        })
    }
}

/// The process at the other end of `stream`, for log lines: `the Apache child pid N (uid U)`.
pub fn peer_of(stream: &UnixStream) -> String {
    nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials).map_or_else(
        |_| "an unknown peer".to_owned(),
        |c| format!("the Apache child pid {} (uid {})", c.pid(), c.uid()),
    )
}

impl Transport for DaemonTransport {
    fn read_body(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError> {
        let max = buf.len();
        self.request_body(max, fill, |at, data| {
            buf[at..at + data.len()].copy_from_slice(data)
        })
    }
    fn read_body_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError> {
        let max = buf.len();
        self.request_body(max, fill, |at, data| {
            for (dst, src) in buf[at..].iter_mut().zip(data) {
                dst.write(*src);
            }
        })
    }
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), SendError> {
        let (line, headers) = head.latin1();
        Frame::Head {
            status: head.status,
            status_line: &line,
            headers: headers.iter().map(|(n, v)| (&n[..], &v[..])).collect(),
        }
        .encode(&mut self.out);
        Ok(())
    }
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), SendError> {
        if data.len() > WRITE_AT {
            // Written from where it lies, in as many frames as its size needs.
            self.push()?;
            let k = if flush { kind::DATA_FLUSH } else { kind::DATA };
            return self
                .conn
                .with(|s, _| protocol::write_block(s, k, data))
                .map_err(|e| write_failed(e).into());
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
    fn send_file(&mut self, fd: i32, offset: u64, len: u64) -> Result<(), SendError> {
        if len >= PASS_FILES_FROM {
            // The Apache child gets the open file itself and sends it with Apache's file
            // bucket (sendfile or mmap): its bytes never cross the socket.
            self.push()?;
            let mut frame = Vec::with_capacity(32);
            Frame::File { offset, len }.encode(&mut frame);
            return self
                .conn
                .with(|s, _| fd_passing::send_with_fd(s, &frame, fd))
                .map_err(|e| write_failed(e).into());
        }
        let mut buf = vec![0u8; 256 * 1024];
        let mut done = 0u64;
        while done < len {
            let want = ((len - done) as usize).min(buf.len());
            let n = os::pread(fd, &mut buf[..want], offset + done).map_err(ConnError::ReadFile)?;
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
