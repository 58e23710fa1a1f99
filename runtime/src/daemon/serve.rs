//! A daemon's worker threads: each takes the next request (on a new connection or a kept
//! one), checks who sent it, runs it with the route the Apache child decided, and keeps the
//! connection for the next.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::conn::{ACCEPTED_LEN, ConnWriter, DaemonTransport, accepted_frame};
use super::hub::Conn;
use super::lock;
use super::now_us;
use super::state::{Running, State};
use super::vars::Vars;
use crate::wsgi::runner::{App, CHILD, Revoke, run_app};
use crate::wsgi::{Channel, Outcome, Times, WireStrings};
use rwsgi_core::protocol::{self, Frame, FrameReader, Hello, ProtocolError, ReadError};
use rwsgi_core::route::Route;

/// One worker thread: take the next request (on a new or a kept connection), serve it,
/// keep the connection, until the process winds down.
pub(super) fn worker(state: &Arc<State>, index: usize) {
    let mut thread = WorkerThread {
        index,
        strings: WireStrings::default(),
    };
    while state.hub.accepting() {
        let Some(conn) = state.hub.wait() else {
            continue;
        };
        if serve(state, &mut thread, &conn) {
            state.hub.keep(conn);
        }
    }
    // Its strings belong to the interpreters that made them; dropped here, outside any,
    // pyo3 would queue their decrefs for whichever interpreter attaches next. The process
    // is winding down: let them go with it.
    std::mem::forget(thread.strings);
}

/// What a worker thread keeps from one request to the next.
struct WorkerThread {
    /// Its slot in `State::running`.
    index: usize,
    strings: WireStrings,
}

/// Serves the next request on `conn`: authenticate, read the environ, run the app, end
/// the response. True if the connection can carry another request.
fn serve(state: &State, thread: &mut WorkerThread, conn: &Conn) -> bool {
    let mut reader = lock(&conn.reader);
    let refuse = |reader: &FrameReader<UnixStream>, why: &str| {
        let answer = Refusal {
            status: 403,
            reason: "refused: not an authenticated rwsgi client",
        };
        reject(state, reader.get_ref(), &lock(&conn.writer), why, answer);
        false
    };
    let hello: Hello = match reader.read_frame() {
        Ok(Some(Frame::Hello(h))) => h,
        // An Apache child closed a kept connection (it exited): nothing to say.
        Ok(None) if conn.watched => return false,
        Err(ReadError::Protocol(ProtocolError::OtherVersion(version))) => {
            // Not a stranger: an Apache child of another rwsgi build (a daemon's Python
            // with another rwsgi installed). Both sides say what differs.
            let why = format!(
                "protocol version {version} (this daemon speaks {}); Apache and the daemon come from different rwsgi builds",
                protocol::VERSION
            );
            let answer = Refusal {
                status: 502,
                reason: &format!("refused: {why}"),
            };
            reject(state, reader.get_ref(), &lock(&conn.writer), &why, answer);
            return false;
        }
        other => {
            let why = match other {
                Ok(Some(f)) => format!("expected Hello, got frame 0x{:02x}", f.kind()),
                Ok(None) => "closed before Hello".to_owned(),
                Err(e) => e.to_string(),
            };
            return refuse(&reader, &why);
        }
    };
    if !protocol::secrets_match(&hello.secret, &state.secret) {
        return refuse(&reader, "wrong secret");
    }
    // Requests are counted as they are taken, so maximum-requests is exact with several
    // threads waiting.
    let max = state.maximum_requests;
    let taken = state.taken.fetch_add(1, Ordering::Relaxed) + 1;
    if !state.hub.accepting() || (max > 0 && taken > max) {
        // Winding down: closing before `Accepted` makes the Apache child retry, and
        // another process (the replacement) takes the request.
        return false;
    }
    if max > 0 && taken == max {
        // The last request: the replacement starts while it runs.
        state.hub.stop_accepting();
        state.recycle("maximum-requests");
    }
    // Room for a small response whole (Accepted, Head, Data, End): one allocation.
    let mut out = Vec::with_capacity(1024);
    let now = now_us();
    if let Some(limit) = state.queue_timeout {
        let waited = Duration::from_micros(now.saturating_sub(hello.queue_start_us));
        if waited > limit {
            Frame::Error {
                status: 504,
                reason: &format!(
                    "queue-timeout: the request waited {:.1}s for a free daemon thread (limit {:.1}s)",
                    waited.as_secs_f64(),
                    limit.as_secs_f64()
                ),
            }
            .encode(&mut out);
            let _ = (&*lock(&conn.writer)).write_all(&out);
            return false;
        }
    }
    accepted_frame(&mut out);
    debug_assert_eq!(out.len(), ACCEPTED_LEN);
    let (route, vars) = match reader.read_frame() {
        Ok(Some(Frame::Request { route, environ })) => (route, Vars::new(&environ)),
        _ => return false,
    };
    // The transport reads the body through the same reader.
    drop(reader);
    if script_changed(&route) {
        // Touch-to-deploy: modules the old script imported are in this process, so it
        // restarts rather than run the new script beside them (mod_wsgi's behaviour).
        // Nothing was sent: the Apache child retries, and the replacement, which starts
        // now, takes the request with the new code.
        state.hub.stop_accepting();
        state.recycle("script-reload");
        return false;
    }
    // WSGIIgnoreActivity: the request does not keep inactivity-timeout from firing.
    let activity = !route.ignore_activity;
    state.active.fetch_add(1, Ordering::Relaxed);
    if activity {
        *lock(&state.last_activity) = Instant::now();
    }
    let request = Taken {
        hello: &hello,
        taken_us: now,
        route: &route,
        vars: &vars,
    };
    let keep = run_request(state, thread, conn, &request, out);
    if activity {
        *lock(&state.last_activity) = Instant::now();
    }
    state.active.fetch_sub(1, Ordering::Relaxed);
    keep
}

/// Whether reloading is on for the request and this process loaded its script from an
/// older (or newer) file; logs RW0221 when so.
fn script_changed(route: &Route) -> bool {
    if !route.reload {
        return false;
    }
    let script = &route.script;
    let changed = CHILD
        .get()
        .is_some_and(|child| child.script_changed(script, route.script_mtime_us));
    if changed {
        tracing::info!(
            "RW0221: WSGI script '{script}' changed since daemon process {} loaded it; the process restarts to load it, and the request goes to its replacement",
            std::process::id()
        );
    }
    changed
}

/// A request this daemon took: its opening, when it was taken, its route and variables.
#[derive(Clone, Copy)]
struct Taken<'a> {
    hello: &'a Hello,
    /// µs since the epoch.
    taken_us: u64,
    route: &'a Route,
    vars: &'a Vars,
}

/// Runs the application for a request whose environ has arrived; true if the response
/// ended cleanly and the connection can carry another request.
fn run_request(
    state: &State,
    thread: &mut WorkerThread,
    conn: &Conn,
    request: &Taken<'_>,
    out: Vec<u8>,
) -> bool {
    let Taken {
        hello,
        taken_us: now,
        route,
        vars,
    } = *request;
    let get = |key: &str| String::from_utf8_lossy(vars.get(key.as_bytes())).into_owned();
    let method = get("REQUEST_METHOD");
    let header_only = method == "HEAD";
    let writer = Arc::new(ConnWriter::new(conn.writer.clone()));
    let transport = DaemonTransport {
        reader: conn.reader.clone(),
        conn: writer.clone(),
        out,
        accepted_in_out: true,
        ended: false,
    };
    let channel = Channel::new(Box::new(transport));
    let _revoke = Revoke(&channel);
    let times = Times {
        request_start: hello.request_start_us as f64 / 1e6,
        queue_start: hello.queue_start_us as f64 / 1e6,
        daemon_start: now as f64 / 1e6,
    };
    let Some(child) = CHILD.get() else {
        return false;
    };
    // Apache's directory walk stat'ed the script moments ago (the route carries its mtime):
    // no stat of our own.
    let app = App {
        route,
        server_pid: conn.peer_pid,
        daemon: true,
    };
    let slot = &state.running[thread.index];
    let set_running = |running: Option<Running>| {
        *lock(slot) = running;
    };
    set_running(Some(Running {
        started: Instant::now(),
        thread: nix::sys::pthread::pthread_self() as u64,
        // Only request-timeout's log line names the request.
        request: if state.request_timeout.is_some() {
            format!("{method} {}", get("REQUEST_URI"))
        } else {
            String::new()
        },
        group: route.application_group.clone(),
        conn: writer.clone(),
        timed_out: false,
    }));
    let outcome = run_app(child, &app, &channel, header_only, times, |env| {
        env.wire_vars(vars.iter(), &mut thread.strings);
    });
    // Says End or Error on the wire, with the GIL released.
    channel.close(&outcome);
    set_running(None);
    // After an error the Apache child drops the connection itself; nothing may be left
    // unread either, or the next request would read it.
    writer.finish() && matches!(outcome, Outcome::Done) && lock(&conn.reader).buffered() == 0
}

/// What a refused client is answered.
struct Refusal<'a> {
    status: u16,
    reason: &'a str,
}

/// Refuses a connection that is not from this generation's Apache: `why` goes to the log,
/// `answer` to the peer.
fn reject(state: &State, conn: &UnixStream, writer: &UnixStream, why: &str, answer: Refusal) {
    let peer = nix::sys::socket::getsockopt(conn, nix::sys::socket::sockopt::PeerCredentials)
        .map(|c| format!("pid {} uid {}", c.pid(), c.uid()))
        .unwrap_or_else(|_| "an unknown peer".to_owned());
    tracing::warn!(
        "RW0209: daemon group '{}' refused a connection from {peer}: {why}; nothing was run",
        state.group
    );
    let mut out = Vec::new();
    Frame::Error {
        status: answer.status,
        reason: answer.reason,
    }
    .encode(&mut out);
    let _ = (&*writer).write_all(&out);
}
