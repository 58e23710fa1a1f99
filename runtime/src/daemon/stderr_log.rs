//! An exec'd daemon's log: Apache's error log is its inherited stderr (Apache points the
//! stderr of its parent, and so of the supervisor, at the main server's `ErrorLog`), so
//! it writes lines there in Apache's default format, keeping those at or under the main
//! server's `LogLevel` for the module, as Apache would.

use std::io::Write;

use crate::log::{Level, LogSink};
use crate::os;

struct StderrLog {
    /// Apache's number for the highest level kept (`APLOG_*`).
    threshold: u8,
}

impl LogSink for StderrLog {
    fn write(&self, level: Level, line: &str) {
        if level.aplog() > self.threshold {
            return;
        }
        // Apache's `%T` on Linux: the kernel's thread id.
        let tid = nix::unistd::gettid();
        let entry = format!(
            "[{}] [wsgi:{}] [pid {}:tid {tid}] {line}\n",
            os::log_time(),
            level.name(),
            std::process::id()
        );
        // One write per line: lines of different threads never mix.
        let _ = std::io::stderr().lock().write_all(entry.as_bytes());
    }
}

/// Routes this process's log lines to its stderr.
pub fn install(threshold: u8) {
    let sink: &'static StderrLog = Box::leak(Box::new(StderrLog { threshold }));
    crate::log::install(sink);
}
