//! Setters of per-location switches of the response and the daemon (`WSGIErrorOverride`,
//! `WSGIIgnoreActivity`, `WSGIEnableSendfile`, `WSGIPassApacheRequest`, rwsgi's own
//! `WSGIStreamCoalescing`) and of the telemetry directives, which are accepted and warned
//! about (`lifecycle::check_config`).

use super::directives::{one_word, words};
use super::{DirConf, ServerConf};
use crate::apache::Cmd;

flag_setter!(error_override, _server, dir, dir.error_override);

flag_setter!(ignore_activity, _server, dir, dir.ignore_activity);

flag_setter!(enable_sendfile, _server, dir, dir.enable_sendfile);

flag_setter!(pass_apache_request, _server, dir, dir.pass_apache_request);

flag_setter!(stream_coalescing, _server, dir, dir.stream_coalescing);

pub(super) fn telemetry_service(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    let name = cmd.name();
    let w = words(cmd, args)?;
    let [target, opts @ ..] = w.as_slice() else {
        return Err(format!(
            "{name}: expected unix:/path/to/socket [interval=N]"
        ));
    };
    if !target.starts_with("unix:/") {
        return Err(format!(
            "{name}: '{target}' is not a Unix socket address; write unix:/path/to/socket"
        ));
    }
    for (_, value) in rwsgi_core::directive_args::options(&name, opts, &["interval"])? {
        match value.parse::<f64>() {
            Ok(v) if v >= 0.5 => {}
            _ => {
                return Err(format!(
                    "{name}: interval= must be a number of seconds, at least 0.5"
                ));
            }
        }
    }
    server.telemetry.push("WSGITelemetryService");
    Ok(())
}

pub(super) fn slow_requests(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    let v = one_word(cmd, args, "a number of seconds")?;
    if !v.parse::<f64>().is_ok_and(|s| s >= 0.0) {
        return Err(format!("{}: '{v}' is not a number of seconds", cmd.name()));
    }
    server.telemetry.push("WSGISlowRequests");
    Ok(())
}

pub(super) fn telemetry_options(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    if words(cmd, args)?.is_empty() {
        return Err(format!(
            "{}: name at least one option (or None, or All)",
            cmd.name()
        ));
    }
    server.telemetry.push("WSGITelemetryOptions");
    Ok(())
}
