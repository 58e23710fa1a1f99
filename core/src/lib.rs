//! The pure parts of rwsgi: no Apache and no Python types, so they are unit-tested (and
//! later fuzzed) on their own, outside httpd.
#![forbid(unsafe_code)]

pub mod app_group;
pub mod daemon_options;
pub mod daemon_spec;
pub mod directive_args;
pub mod errorlog_format;
pub mod http;
pub mod metrics;
pub mod os_file;
pub mod protocol;
pub mod proxy;
pub mod python_settings;
pub mod route;
pub mod scoreboard;
pub mod venv;
