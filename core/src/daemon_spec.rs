//! Everything one daemon process needs to know, by value: built by the supervisor for each
//! daemon it starts, used directly by a forked daemon and handed as JSON to an exec'd one
//! on an inherited descriptor (never argv or the environment: it holds the secret).

use std::time::Duration;

use crate::daemon_options::DaemonOptions;
use crate::protocol::SECRET_LEN;
use crate::python_settings::PythonSettings;

/// The descriptors an exec'd daemon inherits, at fixed numbers.
pub const SPEC_FD: i32 = 3;
pub const LISTENER_FD: i32 = 4;
pub const RETIRE_FD: i32 = 5;
/// With `server-metrics=On`: the daemon's end of its channel to the supervisor, which
/// answers with Apache's scoreboard (`crate::scoreboard::answer`).
pub const SCOREBOARD_FD: i32 = 6;

/// rwsgi's version: a spec is read only by the runtime of the same release.
pub const RWSGI_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DaemonSpec {
    /// The version of the module that wrote it ([`RWSGI_VERSION`]).
    pub rwsgi_version: String,
    pub options: DaemonOptions,
    /// The generation's secret, which every Apache child proves it knows.
    pub secret: [u8; SECRET_LEN],
    /// Apache's `Timeout` when `socket-timeout=` is not given.
    pub socket_timeout: Duration,
    /// Scripts this group runs or preloads: checked as the daemon's user before Python.
    pub scripts: Vec<String>,
    /// `WSGIImportScript … process-group=<this group>`: (script, application group).
    pub preload: Vec<(String, String)>,
    /// The group's Python settings, merged from the server's and the group's.
    pub python: PythonSettings,
    /// Whether a request for `%{GLOBAL}` can reach this group.
    pub global_used: bool,
    /// Apache's `User` (uid, gid, name): the daemons' account without `user=`.
    pub apache_account: (u32, u32, String),
    /// Apache's version (major, minor, patch) and banner, for the `mod_wsgi` module.
    pub apache_version: (u32, u32, u32),
    pub banner: String,
    /// The main server's `LogLevel` for this module, as Apache numbers it (`APLOG_*`):
    /// an exec'd daemon writes the lines at or under it.
    pub log_level: u8,
    /// The main server's `ErrorLogFormat`, which an exec'd daemon's lines follow.
    pub error_log_format: Option<String>,
    /// The main server's `ServerName` (`%v` of that format).
    pub server_name: String,
    /// `ErrorLog syslog…`: an exec'd daemon sends its lines there itself (Apache's stderr,
    /// which it inherits, is then /dev/null).
    pub syslog: Option<crate::errorlog_format::Syslog>,
}

/// Why a spec could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the daemon settings are not readable JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "the daemon settings come from rwsgi {found} but this runtime is rwsgi {RWSGI_VERSION}; install the same version in both places"
    )]
    Version { found: String },
}

impl DaemonSpec {
    pub fn to_json(&self) -> Vec<u8> {
        // Plain data with string keys: serialising it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<DaemonSpec, SpecError> {
        // The version first, so a spec of another release is named as such rather than
        // as a missing field.
        #[derive(serde::Deserialize)]
        struct Versioned {
            rwsgi_version: String,
        }
        let v: Versioned = serde_json::from_slice(bytes)?;
        if v.rwsgi_version != RWSGI_VERSION {
            return Err(SpecError::Version {
                found: v.rwsgi_version,
            });
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DaemonSpec {
        let mut options = crate::daemon_options::parse(&[
            "g".to_owned(),
            "processes=2".to_owned(),
            "request-timeout=1.5".to_owned(),
            "user=#33".to_owned(),
            "python-executable=/opt/py/bin/python3.13".to_owned(),
        ])
        .unwrap();
        options.python_path = vec!["/srv/a".into(), "/srv/ü".into()];
        DaemonSpec {
            rwsgi_version: RWSGI_VERSION.to_owned(),
            options,
            secret: [7; SECRET_LEN],
            socket_timeout: Duration::from_millis(2500),
            scripts: vec!["/srv/app.wsgi".into()],
            preload: vec![("/srv/app.wsgi".into(), String::new())],
            python: PythonSettings {
                hash_seed: Some(0),
                switch_interval: Some(0.001),
                ..PythonSettings::default()
            },
            global_used: true,
            apache_account: (33, 33, "www-data".into()),
            apache_version: (2, 4, 62),
            banner: "Apache/2.4.62 (Debian)".into(),
            log_level: 6,
            error_log_format: Some("[%t] %M".into()),
            server_name: "example.test".into(),
            syslog: Some(crate::errorlog_format::Syslog {
                tag: "apache2".into(),
                facility: 19 << 3,
            }),
        }
    }

    #[test]
    fn a_spec_survives_its_json() {
        let s = spec();
        assert_eq!(DaemonSpec::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn a_spec_of_another_release_is_named_as_such() {
        let mut s = spec();
        s.rwsgi_version = "0.0.9".into();
        let err = DaemonSpec::from_json(&s.to_json()).unwrap_err().to_string();
        assert!(err.contains("rwsgi 0.0.9"), "{err}");
        assert!(err.contains(RWSGI_VERSION), "{err}");
    }

    #[test]
    fn garbage_is_a_json_error() {
        assert!(matches!(
            DaemonSpec::from_json(b"{\"x\":"),
            Err(SpecError::Json(_))
        ));
    }
}
