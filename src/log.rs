//! Apache's error log as the runtime's log sink: each line is attached to the request the
//! thread is processing (client address, vhost ErrorLog) when there is one, by the
//! fence's `log_current`.

use crate::apache::log_current;
use rwsgi_runtime::log::{Level, LogSink};

struct ApacheLog;

impl LogSink for ApacheLog {
    fn write(&self, level: Level, line: &str) {
        log_current(level, line);
    }
}

static APACHE_LOG: ApacheLog = ApacheLog;

/// Routes this process's log lines to Apache (idempotent).
pub fn install() {
    rwsgi_runtime::log::install(&APACHE_LOG);
}
