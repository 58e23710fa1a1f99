//! Where the runtime's log lines go: a `tracing` subscriber that hands every event to the
//! process's [`LogSink`] (Apache's error log, in mod_rwsgi.so), and the lines of Python
//! `logging` records (`mod_wsgi.LogHandler`). The runtime reaches a log only through this
//! file.

use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A line's severity, as Apache's error log grades it (`Trace` is its `trace1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Crit,
    Err,
    Warning,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The level as Apache numbers it (`APLOG_CRIT` 2 … `APLOG_TRACE1` 8).
    pub fn aplog(self) -> u8 {
        match self {
            Level::Crit => 2,
            Level::Err => 3,
            Level::Warning => 4,
            Level::Info => 6,
            Level::Debug => 7,
            Level::Trace => 8,
        }
    }
}

/// Where a process writes its log lines. It filters by level itself (Apache by
/// `LogLevel`, per module and virtual host).
pub trait LogSink: Send + Sync {
    fn write(&self, level: Level, line: &str);
}

static SINK: OnceLock<&'static dyn LogSink> = OnceLock::new();

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

fn level(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::ERROR => Level::Err,
        tracing::Level::WARN => Level::Warning,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::TRACE => Level::Trace,
    }
}

/// Hands every `tracing` event to the sink.
struct ToSink;

impl Subscriber for ToSink {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        // The sink filters.
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
        write(level(event.metadata().level()), &message.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Routes this process's log lines to `sink` (the first one installed stays).
pub fn install(sink: &'static dyn LogSink) {
    let _ = SINK.set(sink);
    let _ = tracing::subscriber::set_global_default(ToSink);
}

fn write(level: Level, line: &str) {
    match SINK.get() {
        Some(sink) => sink.write(level, line),
        // Before a sink: stderr, which a server's processes point at its error log.
        None => eprintln!("{line}"),
    }
}

/// One line of a Python `logging` record at level `levelno` (`mod_wsgi.LogHandler`), at
/// the level that matches it.
pub fn python_record(levelno: i64, line: &str) {
    let level = match levelno {
        50.. => Level::Crit,
        40..=49 => Level::Err,
        30..=39 => Level::Warning,
        20..=29 => Level::Info,
        _ => Level::Debug,
    };
    write(level, line);
}
