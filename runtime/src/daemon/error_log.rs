//! An exec'd daemon's log: Apache's error log is its inherited stderr (Apache points the
//! stderr of its parent, and so of the supervisor, at the main server's `ErrorLog`), so
//! it writes its lines there as Apache would write them: in the main server's
//! `ErrorLogFormat` (or Apache's default), keeping those at or under the main server's
//! `LogLevel` for the module. With `ErrorLog syslog…` (Apache's stderr is /dev/null then)
//! it sends them to syslog itself, as Apache does: same facility and tag, Apache's default
//! format without the time (syslog stamps its own).

use std::io::Write;

use crate::log::{Level, LogSink};
use crate::os;
use rwsgi_core::errorlog_format::{self, ErrorLogFormat, LineFacts, Syslog};

struct DaemonLog {
    /// Apache's number for the highest level kept (`APLOG_*`).
    threshold: u8,
    format: Option<ErrorLogFormat>,
    server_name: String,
    /// Lines go to syslog (opened at install) instead of stderr.
    syslog: bool,
}

/// What `%F` shows for the module's lines: it logs with file `mod_rwsgi` and line 0.
const FILE_LINE: &str = "mod_rwsgi(0)";

fn time(arg: Option<&str>) -> String {
    match arg {
        Some(format) if format.contains('%') => os::strftime_now(format),
        _ => errorlog_format::ctime(&os::local_time(), arg).unwrap_or_default(),
    }
}

impl LogSink for DaemonLog {
    fn write(&self, level: Level, line: &str) {
        if level.aplog() > self.threshold {
            return;
        }
        let facts = LineFacts {
            level: level.aplog(),
            module: "wsgi",
            pid: std::process::id(),
            // Apache's `%T` on Linux: the kernel's thread id.
            tid: nix::unistd::gettid().as_raw() as u64,
            server_name: &self.server_name,
            file_line: Some(FILE_LINE),
            time: &time,
        };
        let mut entry = match &self.format {
            Some(format) => format.render(&facts, line),
            None => errorlog_format::render_default(&facts, line, !self.syslog),
        };
        if self.syslog {
            os::syslog(i32::from(facts.level.min(7)), &entry);
            return;
        }
        entry.push('\n');
        // One write per line: lines of different threads never mix.
        let _ = std::io::stderr().lock().write_all(entry.as_bytes());
    }
}

/// Routes this process's log lines to its stderr (or `syslog`), in `format` (the main
/// server's `ErrorLogFormat`; one Apache accepted that this cannot read gives Apache's
/// default).
pub fn install(threshold: u8, format: Option<&str>, server_name: &str, syslog: Option<&Syslog>) {
    if let Some(s) = syslog {
        os::open_syslog(&s.tag, s.facility);
    }
    let sink: &'static DaemonLog = Box::leak(Box::new(DaemonLog {
        threshold,
        format: format.and_then(|f| ErrorLogFormat::parse(f).ok()),
        server_name: server_name.to_owned(),
        syslog: syslog.is_some(),
    }));
    crate::log::install(sink);
}
