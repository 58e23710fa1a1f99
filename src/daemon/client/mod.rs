//! The Apache-child side of a daemon request: take a kept connection or connect (retrying
//! while the daemon starts), send the route and the environ, then relay the body and the
//! response (`relay`). A connection that ends without `End` or `Error` is a cut
//! response, logged with the reason the supervisor recorded (e.g. "signal 9"). A
//! connection whose response ended cleanly is kept for the child's next request.

mod relay;

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use self::relay::{Relay, relay};
use super::{Generation, Group, current, death_note};
use crate::apache::{Request, RequestIo, status};
use crate::request_vars::{self, Routed};
use rwsgi_core::protocol::{Frame, FrameReader, Hello, RequestEncoder};
use rwsgi_runtime::daemon::fd_passing::FdReceiver;

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
pub fn check_script_owner(group: &Group, script: &Path) -> Result<(), OwnerError> {
    use std::os::unix::fs::MetadataExt;
    let owner = &group.script_owner;
    if owner.uid.is_none() && owner.gid.is_none() {
        return Ok(());
    }
    for path in [Some(script), script.parent()].into_iter().flatten() {
        let m = std::fs::metadata(path).map_err(|source| OwnerError::Unchecked {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(wanted) = owner.uid.filter(|&uid| uid != m.uid()) {
            return Err(OwnerError::User {
                path: path.to_path_buf(),
                uid: m.uid(),
                wanted,
            });
        }
        if let Some(wanted) = owner.gid.filter(|&gid| gid != m.gid()) {
            return Err(OwnerError::Group {
                path: path.to_path_buf(),
                gid: m.gid(),
                wanted,
            });
        }
        if m.mode() & 0o022 != 0 {
            return Err(OwnerError::Writable {
                path: path.to_path_buf(),
                mode: m.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

/// Why a script may not run under `script-user=` / `script-group=` (RW0220, 403).
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("cannot check {}: {source}", path.display())]
    Unchecked {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} belongs to uid {uid}, not to script-user (uid {wanted})", path.display())]
    User {
        path: std::path::PathBuf,
        uid: u32,
        wanted: u32,
    },
    #[error("{} belongs to gid {gid}, not to script-group (gid {wanted})", path.display())]
    Group {
        path: std::path::PathBuf,
        gid: u32,
        wanted: u32,
    },
    #[error(
        "{} is writable by its group or others (mode {mode:o}); script-user/script-group allow only the owner to write",
        path.display()
    )]
    Writable { path: std::path::PathBuf, mode: u32 },
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

/// Hands `request` to its daemon group (`process-group=`, `WSGIProcessGroup`).
pub fn dispatch(r: &mut Request<'_>, request: &Routed) -> i32 {
    let name = &request.route.process_group;
    let generation = current();
    let found = r
        .server()
        .config()
        .daemon_group(name)
        .and(generation.as_ref())
        .and_then(|g| g.group(name).map(|group| (g, group)));
    let Some((generation, group)) = found else {
        tracing::error!(
            "RW0116: no WSGIDaemonProcess group called '{name}' is configured for this server; cannot run {}",
            request.route.script
        );
        return status::INTERNAL_SERVER_ERROR;
    };
    let script = &request.route.script;
    if let Err(why) = check_script_owner(group, Path::new(script)) {
        tracing::error!(
            "RW0220: daemon group '{name}' refuses to run {script}: {why}; answering 403"
        );
        return status::FORBIDDEN;
    }
    handle(r, generation, group, request)
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
