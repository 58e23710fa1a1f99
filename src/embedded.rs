//! Embedded mode: runs a WSGI application inside the Apache child, on the request's own
//! worker thread, with the request itself as the transport.

use crate::apache::{
    BodyError as ApacheBodyError, OsFile, Request, RequestIo, ResponseError, SslVars, status,
};
use crate::python::interpreter;
use crate::request_vars::{self, Routed};
use crate::ssl_vars::SslCallables;
use crate::wsgi::runner::{App, CHILD, Revoke, run_app};
use crate::wsgi::{BodyError, Channel, Outcome, ResponseHead, SendError, Times, Transport};

/// Unflushed body bytes below this size wait in [`Embedded::held`]: Apache's core output
/// filter holds back as much itself (its `THRESHOLD_MIN_WRITE`) until more comes or the
/// response ends, so holding them changes nothing the client sees.
const HOLD_BELOW: usize = 4096;

/// The embedded request as a WSGI transport.
struct Embedded {
    io: RequestIo,
    /// Body bytes the application produced without asking for a flush (a list's or tuple's
    /// items), kept until the next write that releases the GIL anyway or the end of the
    /// response: storing them needs no GIL hand-over, which costs two thread switches when
    /// other threads wait for it.
    held: Vec<u8>,
}

impl Embedded {
    /// Passes the held bytes on to Apache's output filters, with a FLUSH if asked.
    fn release(&mut self, flush: bool) -> Result<(), ResponseError> {
        if self.held.is_empty() && !flush {
            return Ok(());
        }
        let result = self.io.write(&self.held, flush);
        self.held.clear();
        result
    }
}

/// Apache's refusal as the WSGI layer's.
fn sent(e: ResponseError) -> SendError {
    SendError::Transport(Box::new(e))
}

impl Transport for Embedded {
    fn read_body(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError> {
        self.io
            .read(buf, fill)
            .map_err(|ApacheBodyError { status, reason }| BodyError { status, reason })
    }
    fn read_body_uninit(
        &mut self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError> {
        self.io
            .read_uninit(buf, fill)
            .map_err(|ApacheBodyError { status, reason }| BodyError { status, reason })
    }
    fn send_head(&mut self, head: &ResponseHead) -> Result<(), SendError> {
        let (line, headers) = head.latin1();
        self.io
            .send_head(head.status, &line, &headers)
            .map_err(sent)
    }
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), SendError> {
        if self.held.len() + data.len() >= HOLD_BELOW {
            self.release(false).map_err(sent)?;
            if flush || data.len() >= HOLD_BELOW {
                return self.io.write(data, flush).map_err(sent);
            }
        }
        self.held.extend_from_slice(data);
        if flush {
            self.release(true).map_err(sent)
        } else {
            Ok(())
        }
    }
    fn send_file(&mut self, file: OsFile, offset: u64, len: u64) -> Result<(), SendError> {
        self.release(false).map_err(sent)?;
        self.io.send_file(file, offset, len).map_err(sent)
    }
    fn abort(&mut self) {
        // What was produced before the failure goes out ahead of the cut.
        let _ = self.release(false);
        self.io.abort()
    }
    fn finish(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Done => {
                if let Err(reason) = self.release(false) {
                    tracing::info!(
                        "RW0114: sending the end of the response failed, the client has most likely gone away: {reason}"
                    );
                }
            }
            // Apache answers with its own error page; a half-built body must not precede it.
            Outcome::Failed { .. } | Outcome::Aborted => self.held.clear(),
        }
    }
    fn buffers(&self, len: usize, flush: bool) -> bool {
        !flush && self.held.len().saturating_add(len) < HOLD_BELOW
    }
}

/// This process's pid, asked once: `getpid` is a system call, and every request reports
/// it. Only Apache's children run requests, so the value is set in the child it belongs to.
fn own_pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Runs `request` in this process.
pub fn run(r: &mut Request<'_>, request: &Routed) -> i32 {
    // Vhosts inherit the main server's S-only settings when their configs are merged.
    if r.server().config().restrict_embedded == Some(true) {
        tracing::error!(
            "RW0109: embedded mode is disabled (WSGIRestrictEmbedded On); cannot run {}",
            request.route.script
        );
        return status::INTERNAL_SERVER_ERROR;
    }
    let Some(child) = CHILD.get().filter(|_| interpreter::is_running()) else {
        tracing::error!(
            "RW0110: Python is not available in this process (see the RW0100 start-up error); cannot run {}",
            request.route.script
        );
        return status::INTERNAL_SERVER_ERROR;
    };
    if let Err(code) = r.setup_client_block(request.child.chunked) {
        return code;
    }
    let header_only = r.header_only();
    let mut io = r.io();
    if request.child.stream_coalescing {
        io.coalesce_streams();
    }
    let channel = Channel::new(Box::new(Embedded {
        io,
        held: Vec::new(),
    }));
    // Objects the app keeps (wsgi.input, write) must never reach this request once the
    // handler returns — also when it unwinds from a panic.
    let _revoke = Revoke(&channel);
    let start = r.request_time_us() as f64 / 1e6;
    // No queue and no daemon in embedded mode: both 0, as mod_wsgi gives them.
    let times = Times {
        request_start: start,
        queue_start: 0.0,
        daemon_start: 0.0,
    };
    let app = App {
        route: &request.route,
        server_pid: own_pid(),
        daemon: false,
    };
    // Revoked (dropped) when the handler returns.
    let ssl = SslVars::of(r).map(SslCallables::new);
    let outcome = run_app(child, &app, &channel, header_only, times, |env| {
        request_vars::collect(r, &request.route, &request.child, env);
        if let Some(ssl) = &ssl {
            match ssl.make(env.py()) {
                Ok(callables) => {
                    for (key, f) in callables {
                        env.insert(key, Ok(f));
                    }
                }
                Err(err) => env.insert("mod_ssl.is_https", Err::<(), _>(err)),
            }
        }
        if request.child.pass_apache_request {
            let capsule = crate::capsule::request_rec(env.py(), r.raw_ptr());
            env.insert("apache.request_rec", capsule);
        }
    });
    // Sends what the transport still holds, without the GIL.
    channel.close(&outcome);
    match outcome {
        Outcome::Done | Outcome::Aborted => status::OK,
        Outcome::Failed { status } => i32::from(status),
    }
}
