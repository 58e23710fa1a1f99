//! The Apache-child side of a daemon request: take a kept connection or connect (retrying
//! while the daemon starts), send the environ, feed the body as the app asks for it, and
//! pass the response on. A connection that ends without `End` or `Error` is a cut
//! response, logged with the reason the supervisor recorded (e.g. "signal 9"). A
//! connection whose response ended cleanly is kept for the child's next request.

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Generation, Group, death_note};
use crate::apache::fd_passing::FdReceiver;
use crate::apache::{Request, RequestIo, status};
use crate::request_vars::{self, Routed};
use rwsgi_core::protocol::{
    self, Frame, FrameReader, Hello, ProtocolError, ReadError, RequestEncoder,
};

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A connection to one of the group's daemons, kept between requests: socket, connect,
/// accept, close and the timeouts' setup are then paid once, not per request.
pub struct Pooled {
    /// Reads frames and keeps the files a daemon passes with `File` frames.
    reader: FrameReader<FdReceiver>,
    /// The receive timeout the socket has now (set only when it must change).
    read_timeout: Duration,
}

impl Pooled {
    fn new(stream: UnixStream, group: &Group) -> Pooled {
        let _ = stream.set_write_timeout(Some(group.socket_timeout));
        Pooled {
            reader: FrameReader::new(FdReceiver::new(stream)),
            read_timeout: Duration::ZERO,
        }
    }

    fn stream(&self) -> &UnixStream {
        self.reader.get_ref().stream()
    }

    fn set_read_timeout(&mut self, timeout: Duration) {
        if self.read_timeout != timeout {
            self.read_timeout = timeout;
            let _ = self.stream().set_read_timeout(Some(timeout));
        }
    }
}

/// `script-user=` / `script-group=`: the script and its directory must belong to that
/// user and group and be writable by nobody else, or the request gets 403 (a file someone
/// else could change must not run as the daemon's user).
pub fn check_script_owner(group: &Group, script: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let owner = &group.script_owner;
    if owner.uid.is_none() && owner.gid.is_none() {
        return Ok(());
    }
    for path in [Some(script), script.parent()].into_iter().flatten() {
        let m =
            std::fs::metadata(path).map_err(|e| format!("cannot check {}: {e}", path.display()))?;
        if let Some(uid) = owner.uid.filter(|&uid| uid != m.uid()) {
            return Err(format!(
                "{} belongs to uid {}, not to script-user (uid {uid})",
                path.display(),
                m.uid()
            ));
        }
        if let Some(gid) = owner.gid.filter(|&gid| gid != m.gid()) {
            return Err(format!(
                "{} belongs to gid {}, not to script-group (gid {gid})",
                path.display(),
                m.gid()
            ));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!(
                "{} is writable by its group or others (mode {:o}); script-user/script-group allow only the owner to write",
                path.display(),
                m.mode() & 0o7777
            ));
        }
    }
    Ok(())
}

/// Connections a child keeps per group at most (one per thread is the natural bound).
const KEEP_AT_MOST: usize = 256;

fn take_idle(group: &Group) -> Option<Pooled> {
    group.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

fn keep_idle(group: &Group, conn: Pooled) {
    let mut idle = group.idle.lock().unwrap_or_else(|e| e.into_inner());
    if idle.len() < KEEP_AT_MOST {
        idle.push(conn);
    }
}

/// Connects to the group's socket, retrying while it is missing or refusing (a daemon
/// starting or restarting) until `connect-timeout`.
fn connect(group: &Group) -> Result<UnixStream, (i32, String)> {
    let deadline = Instant::now() + group.options.connect_timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        match UnixStream::connect(&group.socket) {
            Ok(s) => return Ok(s),
            Err(e) => {
                let retry = matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::WouldBlock
                );
                // The directory exists for the generation's whole life: gone means
                // deleted under the running server, and waiting cannot bring it back.
                if e.kind() == ErrorKind::NotFound {
                    if let Some(dir) = group.socket.parent().filter(|d| !d.exists()) {
                        return Err((
                            503,
                            format!(
                                "the daemon socket directory {} no longer exists (deleted while Apache runs); requests for this group fail until Apache restarts, which recreates it (apachectl graceful)",
                                dir.display()
                            ),
                        ));
                    }
                }
                if e.kind() == ErrorKind::PermissionDenied {
                    return Err((
                        503,
                        format!(
                            "permission denied on {} (this Apache child runs as uid {}); the socket directory must belong to Apache's User",
                            group.socket.display(),
                            nix::unistd::getuid()
                        ),
                    ));
                }
                if !retry || Instant::now() + pause > deadline {
                    return Err((
                        503,
                        format!(
                            "no daemon accepted on {} within connect-timeout ({:.1}s): {e}",
                            group.socket.display(),
                            group.options.connect_timeout.as_secs_f64()
                        ),
                    ));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// Runs the request in the daemon group; returns the handler status.
pub fn handle(
    r: &mut Request<'_>,
    generation: &Generation,
    group: &Group,
    request: &Routed,
) -> i32 {
    if let Err(code) = r.setup_client_block(request.child.chunked) {
        return code;
    }
    // Hello and Request are encoded once; a retry sends the same bytes.
    let mut opening = Vec::with_capacity(4096);
    Frame::Hello(Hello {
        version: protocol::VERSION,
        secret: generation.secret,
        request_start_us: r.request_time_us().max(0) as u64,
        queue_start_us: now_us(),
    })
    .encode(&mut opening);
    let mut encoder = RequestEncoder::new(&mut opening, &request.route);
    request_vars::collect(r, &request.route, &request.child, &mut encoder);
    encoder.finish();
    let method = String::from_utf8_lossy(r.method()).into_owned();
    let uri = String::from_utf8_lossy(r.unparsed_uri()).into_owned();
    let name = &group.options.name;
    let mut io = r.io();
    if request.child.stream_coalescing {
        io.coalesce_streams();
    }
    // A connection closed before `Accepted` never ran the request: try again, until
    // connect-timeout. Daemons winding down close the connections their waiting threads
    // still take (at most one per thread) and the kept ones, and a daemon may die before
    // taking one. A kept connection that fails so is not counted: it was simply stale.
    let deadline = Instant::now() + group.options.connect_timeout;
    let mut attempts = 0u32;
    loop {
        let (mut conn, kept) = match take_idle(group) {
            Some(conn) => (conn, true),
            None => {
                attempts += 1;
                if attempts > 3 {
                    // Not the first few: give a restarting daemon a moment.
                    std::thread::sleep(Duration::from_millis(10));
                }
                match connect(group) {
                    Ok(c) => (Pooled::new(c, group), false),
                    Err((code, why)) => {
                        tracing::error!("RW0210: daemon group '{name}': {why}");
                        return code;
                    }
                }
            }
        };
        let retry = kept || Instant::now() < deadline;
        // Until a daemon takes the request, connect-timeout bounds the wait: the socket
        // accepts connections even while no daemon runs (the supervisor holds it).
        conn.set_read_timeout(group.options.connect_timeout.max(Duration::from_millis(10)));
        if let Err(e) = conn.stream().write_all(&opening) {
            if retry {
                continue;
            }
            tracing::error!("RW0210: daemon group '{name}': sending the request failed: {e}");
            return 502;
        }
        match relay(&mut io, &mut conn, group, request.child.error_override) {
            Relay::Done(code) => return code,
            Relay::Complete => {
                // Nothing may be left over (bytes or files), or the next request would
                // read it.
                if conn.reader.buffered() == 0 && conn.reader.get_ref().pending() == 0 {
                    keep_idle(group, conn);
                }
                return status::OK;
            }
            Relay::NotAccepted if retry => continue,
            Relay::NotAccepted => {
                tracing::error!(
                    "RW0211: daemon group '{name}' closed the connection before taking {method} {uri}, {attempts} times within connect-timeout ({:.1}s)",
                    group.options.connect_timeout.as_secs_f64()
                );
                return 502;
            }
            Relay::Died {
                pid,
                head_sent,
                why,
            } => {
                let cause = wait_for_note(generation, pid).unwrap_or(why);
                tracing::error!(
                    "RW0212: daemon pid {pid} of group '{name}' died ({cause}) during request {method} {uri}; {}",
                    outcome(head_sent)
                );
                return cut_or(&mut io, head_sent, 502);
            }
            Relay::Broken {
                pid,
                head_sent,
                error,
            } => {
                tracing::error!(
                    "RW0214: daemon pid {pid} of group '{name}' broke the protocol ({error}) during request {method} {uri} in Apache child pid {}; {}",
                    std::process::id(),
                    outcome(head_sent)
                );
                return cut_or(&mut io, head_sent, 502);
            }
        }
    }
}

/// What the client was given when a request failed in the middle.
fn outcome(head_sent: bool) -> &'static str {
    if head_sent {
        "the response to the client was cut"
    } else {
        "answering 502"
    }
}

/// Cuts a response that has started (the handler's status is then OK), else `status`.
fn cut_or(io: &mut RequestIo, head_sent: bool, status: i32) -> i32 {
    if head_sent {
        io.abort();
        status::OK
    } else {
        status
    }
}

enum Relay {
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

/// `error_override`: an error status (4xx, 5xx) from the application becomes the handler's
/// status, for Apache's error document, and its head and body are dropped
/// (`WSGIErrorOverride`).
fn relay(io: &mut RequestIo, conn: &mut Pooled, group: &Group, error_override: bool) -> Relay {
    let name = &group.options.name;
    let mut pid = 0;
    let mut head_sent = false;
    let mut overridden: Option<u16> = None;
    let mut body = Vec::new();
    let mut frame_out = Vec::new();
    let mut flush = Flush::new(group);
    loop {
        if !conn.reader.has_frame() {
            // About to wait for the daemon: what the application flushed goes to the
            // client first, unless more arrives within response-flush-delay.
            if flush.due(conn.stream()) && io.write(&[], true).is_err() {
                return Relay::Done(status::OK);
            }
            // Once the daemon has taken the request, socket-timeout bounds each wait; the
            // switch is made only before a read that has to wait (a small response is in
            // the first read, and the connection's next request waits with connect-timeout
            // again).
            if pid != 0 {
                conn.set_read_timeout(group.socket_timeout);
            }
        }
        let frame = match conn.reader.read_frame() {
            Ok(Some(f)) => f,
            Ok(None) if pid == 0 => return Relay::NotAccepted,
            Ok(None) => {
                return Relay::Died {
                    pid,
                    head_sent,
                    why: "connection closed without an end frame".into(),
                };
            }
            Err(ReadError::Io(e))
                if pid == 0 && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                tracing::error!(
                    "RW0210: no daemon process of group '{name}' took the request within connect-timeout ({:.1}s): its processes are down (see RW0203/RW0204) or all busy",
                    group.options.connect_timeout.as_secs_f64()
                );
                return Relay::Done(503);
            }
            Err(ReadError::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                tracing::error!(
                    "RW0213: daemon pid {pid} of group '{name}' sent nothing for socket-timeout ({:.0}s)",
                    group.socket_timeout.as_secs_f64()
                );
                if head_sent {
                    io.abort();
                    return Relay::Done(status::OK);
                }
                return Relay::Done(504);
            }
            // A connection that ends inside a frame is a death like any other.
            Err(ReadError::Protocol(error)) if error != ProtocolError::Truncated => {
                return Relay::Broken {
                    pid,
                    head_sent,
                    error,
                };
            }
            Err(e) if pid == 0 => {
                tracing::debug!("daemon connection failed before Accepted: {e}");
                return Relay::NotAccepted;
            }
            Err(e) => {
                return Relay::Died {
                    pid,
                    head_sent,
                    why: e.to_string(),
                };
            }
        };
        match frame {
            Frame::Accepted { pid: p } => pid = p,
            Frame::ReadBody { max, fill } => {
                let want = protocol::answer_size(max);
                body.resize(want, 0);
                frame_out.clear();
                match io.read(&mut body, fill) {
                    Ok(n) => Frame::Body(&body[..n]).encode(&mut frame_out),
                    Err(e) => Frame::BodyError {
                        status: e.status,
                        reason: &e.reason,
                    }
                    .encode(&mut frame_out),
                }
                if conn.stream().write_all(&frame_out).is_err() {
                    return Relay::Died {
                        pid,
                        head_sent,
                        why: "connection closed while sending the request body".into(),
                    };
                }
            }
            Frame::Head {
                status: code,
                status_line,
                headers,
            } => {
                let limit = group.options.header_buffer_size as usize;
                if let Some((n, v)) = headers.iter().find(|(n, v)| n.len() + v.len() + 2 > limit) {
                    tracing::error!(
                        "RW0214: daemon pid {pid} of group '{name}' sent a response header {} of {} bytes, over header-buffer-size ({limit}); answering 502",
                        String::from_utf8_lossy(n),
                        n.len() + v.len() + 2
                    );
                    return Relay::Done(502);
                }
                if error_override && code >= 400 {
                    overridden = Some(code);
                    continue;
                }
                if let Err(e) = io.send_head(code, status_line, &headers) {
                    tracing::error!("RW0214: cannot pass the daemon's response head on: {e}");
                    return Relay::Done(status::INTERNAL_SERVER_ERROR);
                }
                head_sent = true;
            }
            // The body of an overridden response is read and dropped.
            Frame::Data(_) | Frame::DataFlush(_) if overridden.is_some() => {}
            Frame::Data(data) | Frame::DataFlush(data) => {
                let now = flush.wanted(data.len(), matches!(frame, Frame::DataFlush(_)));
                if io.write(data, now).is_err() {
                    // The client went away; the daemon sees the closed socket and stops.
                    return Relay::Done(status::OK);
                }
            }
            Frame::File { .. } if overridden.is_some() => {
                // The descriptor came with the frame; dropping it closes it.
                drop(conn.reader.get_mut().take_fd());
            }
            Frame::File { offset, len } => {
                if let Err(why) = send_passed_file(io, conn, offset, len, &mut flush) {
                    tracing::error!(
                        "RW0214: daemon pid {pid} of group '{name}' passed a file that cannot be sent: {why}"
                    );
                    if head_sent {
                        io.abort();
                        return Relay::Done(status::OK);
                    }
                    return Relay::Done(502);
                }
            }
            Frame::End if overridden.is_some() => {
                return Relay::Done(i32::from(overridden.unwrap_or(500)));
            }
            Frame::End => {
                if !head_sent {
                    tracing::error!(
                        "RW0214: daemon pid {pid} of group '{name}' ended without a response head"
                    );
                    return Relay::Done(status::INTERNAL_SERVER_ERROR);
                }
                return Relay::Complete;
            }
            Frame::Error {
                status: code,
                reason,
            } => {
                if code != 500 || !reason.starts_with("the application failed") {
                    tracing::error!("RW0215: daemon group '{name}' (pid {pid}): {reason}");
                }
                if head_sent {
                    io.abort();
                    return Relay::Done(status::OK);
                }
                return Relay::Done(i32::from(code));
            }
            other => {
                tracing::error!(
                    "RW0214: daemon pid {pid} of group '{name}' sent an unexpected frame 0x{:02x}",
                    other.kind()
                );
                if head_sent {
                    io.abort();
                    return Relay::Done(status::OK);
                }
                return Relay::Done(502);
            }
        }
    }
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
) -> Result<(), String> {
    let file = conn
        .reader
        .get_mut()
        .take_fd()
        .ok_or("the File frame came without a descriptor")?;
    let st = nix::sys::stat::fstat(&file).map_err(|e| format!("fstat: {e}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err("not a regular file".into());
    }
    let size = st.st_size.max(0) as u64;
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(format!(
            "{len} bytes from offset {offset} asked of a file of {size} bytes"
        ));
    }
    let now = flush.wanted(len.min(usize::MAX as u64) as usize, false);
    let _ = io.send_file(file.as_raw_fd(), offset, len).and_then(|()| {
        if now {
            io.write(&[], true).map_err(|e| e.to_string())
        } else {
            Ok(())
        }
    });
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

/// Waits briefly for the supervisor's note on why daemon `pid` ended.
fn wait_for_note(generation: &Generation, pid: u32) -> Option<String> {
    if pid == 0 {
        return None;
    }
    let path = death_note(&generation.dir, pid);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Some(text);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
