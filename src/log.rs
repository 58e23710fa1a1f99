//! Apache's error log as the runtime's log sink: each line is attached to the request the
//! thread is processing (client address, vhost ErrorLog) when there is one, by the
//! fence's `log_current`.

use crate::apache::{self, log_current};
use rwsgi_runtime::log::{Level, LogSink};

struct ApacheLog;

impl LogSink for ApacheLog {
    fn write(&self, level: Level, line: &str) {
        let level = match level {
            Level::Crit => apache::Level::Crit,
            Level::Err => apache::Level::Err,
            Level::Warning => apache::Level::Warning,
            Level::Info => apache::Level::Info,
            Level::Debug => apache::Level::Debug,
            Level::Trace => apache::Level::Trace1,
        };
        log_current(level, line);
    }
}

static APACHE_LOG: ApacheLog = ApacheLog;

/// Routes this process's log lines to Apache (idempotent).
pub fn install() {
    rwsgi_runtime::log::install(&APACHE_LOG);
}
