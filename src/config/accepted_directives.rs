//! Setters of per-location switches of the response and the daemon (`WSGIErrorOverride`,
//! `WSGIIgnoreActivity`, `WSGIEnableSendfile`, `WSGIPassApacheRequest`, rwsgi's own
//! `WSGIStreamCoalescing`) and of the telemetry directives, which are accepted and warned
//! about (`lifecycle::check_config`).

use super::args::{one_word, words};
use super::{DirConf, DirectiveError, ServerConf};
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
) -> Result<(), DirectiveError> {
    let name = cmd.name();
    let w = words(cmd, args)?;
    let [target, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            directive: name,
            expected: "unix:/path/to/socket [interval=N]".to_owned(),
        });
    };
    if !target.starts_with("unix:/") {
        return Err(DirectiveError::NotUnixSocket {
            directive: name,
            address: target.clone(),
        });
    }
    for (_, value) in rwsgi_core::directive_args::options(&name, opts, &["interval"])
        .map_err(DirectiveError::Args)?
    {
        match value.parse::<f64>() {
            Ok(v) if v >= 0.5 => {}
            _ => {
                return Err(DirectiveError::BadOption {
                    directive: name,
                    option: "interval",
                    problem: "must be a number of seconds, at least 0.5",
                });
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
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "a number of seconds")?;
    if !v.parse::<f64>().is_ok_and(|s| s >= 0.0) {
        return Err(DirectiveError::NotSeconds {
            directive: cmd.name(),
            value: v,
        });
    }
    server.telemetry.push("WSGISlowRequests");
    Ok(())
}

pub(super) fn telemetry_options(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    if words(cmd, args)?.is_empty() {
        return Err(DirectiveError::NothingNamed {
            directive: cmd.name(),
            what: "option (or None, or All)",
        });
    }
    server.telemetry.push("WSGITelemetryOptions");
    Ok(())
}
