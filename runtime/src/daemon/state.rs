//! The state a daemon process's threads share.

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::ConnWriter;
use super::hub::Hub;
use super::lock;
use rwsgi_core::protocol;

/// What a daemon's threads (workers, the monitor, request-timeout reporters) share.
pub struct State {
    pub group: String,
    pub secret: [u8; protocol::SECRET_LEN],
    pub queue_timeout: Option<Duration>,
    /// A request quiet this long gets its `Accepted` frame from the monitor.
    pub accept_quiet: Duration,
    pub request_timeout: Option<Duration>,
    pub interrupt_timeout: Option<Duration>,
    pub maximum_requests: u64,
    /// Requests running now.
    pub active: AtomicUsize,
    /// Connections taken so far (refused ones included).
    pub taken: AtomicU64,
    pub last_activity: Mutex<Instant>,
    pub recycle: Mutex<Option<&'static str>>,
    /// One entry per worker thread: the request it runs, watched for request-timeout.
    pub running: Vec<Mutex<Option<Running>>>,
    pub hub: Hub,
    /// request-timeout reports still logging a stack: the process waits for them before it
    /// exits (within its time limit), or the stack would be lost.
    pub reporting: AtomicUsize,
}

impl State {
    /// Asks the process to recycle (the first reason given is the one logged).
    pub fn recycle(&self, reason: &'static str) {
        lock(&self.recycle).get_or_insert(reason);
    }

    /// Requests that request-timeout already answered but whose threads still run.
    pub fn timed_out(&self) -> usize {
        self.running
            .iter()
            .filter(|r| lock(r).as_ref().is_some_and(|r| r.timed_out))
            .count()
    }
}

/// A request in progress, as the monitor sees it.
pub struct Running {
    pub started: Instant,
    /// Python's ident of the worker thread (`threading.get_ident()`).
    pub thread: u64,
    /// `METHOD URI`, for the log.
    pub request: String,
    /// The application group, whose interpreter an interrupt goes to.
    pub group: String,
    pub conn: Arc<ConnWriter>,
    pub timed_out: bool,
}
