//! A `tracing` subscriber that writes events into Apache's error log, attached to the request
//! the thread is processing (client address, vhost ErrorLog) when there is one.
//!
//! Installed once per process; the fence's `log_current` picks the request context. This
//! file is the one way from the Python and WSGI layers to Apache's log (`write`), so a
//! process with another log (a daemon outside Apache) changes only it.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::apache::{self, log_current};

struct ApacheLog;

struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

fn level(l: &Level) -> apache::Level {
    match *l {
        Level::ERROR => apache::Level::Err,
        Level::WARN => apache::Level::Warning,
        Level::INFO => apache::Level::Info,
        Level::DEBUG => apache::Level::Debug,
        Level::TRACE => apache::Level::Trace1,
    }
}

impl Subscriber for ApacheLog {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        // Apache filters by LogLevel (per module and vhost) itself.
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        log_current(level(event.metadata().level()), &message.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// One line of a Python `logging` record at level `levelno` (`mod_wsgi.LogHandler`), at
/// the Apache level that matches it.
pub fn python_record(levelno: i64, line: &str) {
    let level = match levelno {
        50.. => apache::Level::Crit,
        40..=49 => apache::Level::Err,
        30..=39 => apache::Level::Warning,
        20..=29 => apache::Level::Info,
        _ => apache::Level::Debug,
    };
    log_current(level, line);
}

/// Routes this process's `tracing` events to Apache (idempotent).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(ApacheLog);
}
