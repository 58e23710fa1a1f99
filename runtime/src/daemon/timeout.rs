//! request-timeout in a daemon: the monitor's watch over running requests, and the
//! report (504 for the client, the stuck thread's Python stack in the log) with its
//! interrupt or recycle.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::conn::ConnWriter;
use super::lock;
use super::state::State;
use crate::wsgi::Context;
use crate::wsgi::runner::CHILD;
use rwsgi_core::protocol::Frame;

/// Called by the monitor: sends `Accepted` for quiet requests, and hands each request that
/// has run past request-timeout to a thread of its own that answers it, logs where the
/// application is stuck and recycles.
pub fn watch_request_times(state: &Arc<State>) {
    for (index, slot) in state.running.iter().enumerate() {
        let mut slot = lock(slot);
        let Some(running) = slot.as_mut() else {
            continue;
        };
        let ran = running.started.elapsed();
        if ran >= state.accept_quiet && !running.conn.accepted() {
            running.conn.accept();
        }
        let Some(limit) = state.request_timeout else {
            continue;
        };
        if running.timed_out || ran < limit {
            continue;
        }
        running.timed_out = true;
        let stuck = Stuck {
            index,
            started: running.started,
            thread: running.thread,
            request: running.request.clone(),
            group: running.group.clone(),
            ran: running.started.elapsed(),
            conn: running.conn.clone(),
        };
        state.reporting.fetch_add(1, Ordering::Relaxed);
        let reporter = state.clone();
        // Taking the GIL for the stack can wait on the stuck thread: not on the monitor.
        let spawned = std::thread::Builder::new()
            .name("rwsgi-timeout".into())
            .spawn(move || time_out(&reporter, limit, stuck));
        if spawned.is_err() {
            state.reporting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct Stuck {
    index: usize,
    /// Tells this request apart from the thread's next one.
    started: Instant,
    thread: u64,
    request: String,
    group: String,
    ran: Duration,
    conn: Arc<ConnWriter>,
}

/// request-timeout fired: 504 (or a cut response) for the client first, then the stack of
/// the stuck thread in the log, then either an interrupt (interrupt-timeout) or a recycle.
fn time_out(state: &State, limit: Duration, stuck: Stuck) {
    let pid = std::process::id();
    let group = &state.group;
    let mut frame = Vec::new();
    Frame::Error {
        status: 504,
        reason: &format!(
            "request-timeout: {} ran {:.1}s in daemon pid {pid} (limit {}s); its stack is logged as RW0218",
            stuck.request,
            stuck.ran.as_secs_f64(),
            limit.as_secs()
        ),
    }
    .encode(&mut frame);
    stuck.conn.cut(&frame);
    let interrupt = state.interrupt_timeout;
    let then = match interrupt {
        Some(t) => format!(
            "interrupting it with mod_wsgi.RequestTimeout; the process recycles if it is still running in {}s",
            t.as_secs()
        ),
        None => "the process recycles".to_owned(),
    };
    if interrupt.is_none() {
        state.recycle("request-timeout");
    }
    tracing::error!(
        "RW0218: request-timeout: {} ran {:.1}s (limit {}s) in daemon pid {pid} of group '{group}'; the client got 504; {then}. Where it was:",
        stuck.request,
        stuck.ran.as_secs_f64(),
        limit.as_secs()
    );
    // A temporary thread state: this short-lived thread must not keep a persistent one.
    let report = |py: pyo3::Python<'_>, context: &Context, own_gil: bool| {
        // `sys._current_frames()` walks every interpreter's threads: not while own-GIL
        // interpreters run Python beside this one.
        let stack = if own_gil {
            vec!["(not read: sub-interpreters with their own GIL run meanwhile)".to_owned()]
        } else {
            crate::python::traceback::thread_stack(py, stuck.thread)
        };
        if interrupt.is_some() {
            let timeout = context.request_timeout_type(py);
            crate::python::thread_state::interrupt(py, stuck.thread, &timeout);
        }
        stack
    };
    let stack = CHILD
        .get()
        .and_then(|child| {
            let own_gil = child.own_gil();
            child.visit(&stuck.group, |py, context| report(py, context, own_gil))
        })
        .unwrap_or_default();
    for line in stack {
        tracing::error!("RW0218:   {line}");
    }
    state.reporting.fetch_sub(1, Ordering::Relaxed);
    let Some(wait) = interrupt else { return };
    std::thread::sleep(wait);
    let still = lock(&state.running[stuck.index])
        .as_ref()
        .is_some_and(|r| r.started == stuck.started);
    if still {
        tracing::error!(
            "RW0218: {} in daemon pid {pid} of group '{group}' did not stop within interrupt-timeout ({}s); the process recycles",
            stuck.request,
            wait.as_secs()
        );
        state.recycle("request-timeout");
    }
}
