//! What directive setters share to read their arguments: words, one word, `On|Off`,
//! the options of script aliases and handler scripts, group selectors, paths, and the one
//! refusal of daemon-only settings where daemon mode is not compiled. The pure parsing is
//! `rwsgi_core::directive_args`; this adds the directive's name and Apache's `ServerRoot`.
//! It uses no setter, so every setter file can use it.

use super::{AppOptions, DirectiveError, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args::{self as parse, GroupSpec};

/// The argument line split into words by Apache's quoting rules.
pub(super) fn words(cmd: &Cmd<'_>, args: &str) -> Result<Vec<String>, DirectiveError> {
    parse::words(args).map_err(|reason| DirectiveError::Words {
        directive: cmd.name(),
        reason,
    })
}

/// The only argument; `what` says what it should be.
pub(super) fn one_word(cmd: &Cmd<'_>, args: &str, what: &str) -> Result<String, DirectiveError> {
    let w = words(cmd, args)?;
    parse::one(&cmd.name(), &w, what)
        .map(str::to_owned)
        .map_err(DirectiveError::Args)
}

/// The only argument, `On` or `Off`.
pub(super) fn on_off(cmd: &Cmd<'_>, args: &str) -> Result<bool, DirectiveError> {
    let v = one_word(cmd, args, "On or Off")?;
    parse::flag(&cmd.name(), &v).map_err(DirectiveError::Args)
}

/// Daemon mode needs `fork`: where it is not available (Windows), what only makes sense
/// with it fails the configuration test and says why. (mod_wsgi does not register those
/// directives there, so Apache answers only "Invalid command".)
pub(super) fn daemon_only(what: &str) -> Result<(), DirectiveError> {
    if cfg!(unix) {
        return Ok(());
    }
    Err(DirectiveError::DaemonModeUnavailable {
        what: what.to_owned(),
    })
}

/// Parses the options shared by script aliases and handler scripts.
pub(super) fn app_options(
    cmd: &Cmd<'_>,
    server: &mut ServerConf,
    opts: &[String],
) -> Result<AppOptions, DirectiveError> {
    let name = cmd.name();
    let mut out = AppOptions::default();
    let allowed = [
        "process-group",
        "application-group",
        "callable-object",
        "pass-authorization",
    ];
    for (key, value) in parse::options(&name, opts, &allowed).map_err(DirectiveError::Args)? {
        match key.as_str() {
            "process-group" => out.process_group = Some(process_group_spec(&name, &value)?),
            "application-group" => {
                out.application_group = Some(application_group_spec(&name, &value)?)
            }
            "callable-object" => {
                if value.is_empty() {
                    return Err(DirectiveError::BadOption {
                        directive: name,
                        option: "callable-object",
                        problem: "needs a name",
                    });
                }
                out.callable_object = Some(value)
            }
            _ => {
                out.pass_authorization = Some(
                    parse::flag(&format!("{name} pass-authorization"), &value)
                        .map_err(DirectiveError::Args)?,
                )
            }
        }
    }
    if out.application_group == Some(GroupSpec::Global) {
        // Known here when process-group= says where it runs; else any process may.
        match &out.process_group {
            Some(GroupSpec::Named(group)) => server.global_group.processes.push(group.clone()),
            Some(GroupSpec::Global) => server.global_group.processes.push(String::new()),
            _ => server.global_group.anywhere = true,
        }
    }
    Ok(out)
}

/// A process group selector: embedded mode (`%{GLOBAL}`), a daemon group, or `%{ENV:…}`.
pub(super) fn process_group_spec(
    directive: &str,
    value: &str,
) -> Result<GroupSpec, DirectiveError> {
    match GroupSpec::parse(value) {
        spec @ (GroupSpec::Global | GroupSpec::Env(_)) => Ok(spec),
        spec @ GroupSpec::Named(_) => {
            daemon_only(&format!("{directive} (process group '{value}')"))?;
            Ok(spec)
        }
        GroupSpec::Server | GroupSpec::Resource | GroupSpec::Host => {
            Err(DirectiveError::NotAProcessGroup {
                directive: directive.to_owned(),
                value: value.to_owned(),
            })
        }
    }
}

/// An application group selector: every form mod_wsgi accepts.
pub(super) fn application_group_spec(
    directive: &str,
    value: &str,
) -> Result<GroupSpec, DirectiveError> {
    if value.is_empty() {
        return Err(DirectiveError::EmptyApplicationGroup {
            directive: directive.to_owned(),
        });
    }
    Ok(GroupSpec::parse(value))
}

/// `path` resolved against Apache's `ServerRoot` (as Apache's own directives resolve theirs).
pub(super) fn absolute_path(cmd: &Cmd<'_>, path: &str) -> Result<String, DirectiveError> {
    cmd.pool()
        .server_root_relative(path)
        .ok_or_else(|| DirectiveError::InvalidPath {
            directive: cmd.name(),
            path: path.to_owned(),
        })
}
