//! Setters of the directives that choose process and application groups
//! (`WSGIProcessGroup`, `WSGIApplicationGroup`, `WSGIImportScript`) and the parsing of
//! group selectors the script aliases share.

use super::directives::{absolute_path, app_options, daemon_only, one_word, words};
use super::{DirConf, ImportScript, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args::GroupSpec;

/// A process group selector: embedded mode (`%{GLOBAL}`), a daemon group, or `%{ENV:…}`.
pub(super) fn process_group_spec(directive: &str, value: &str) -> Result<GroupSpec, String> {
    match GroupSpec::parse(value) {
        spec @ (GroupSpec::Global | GroupSpec::Env(_)) => Ok(spec),
        spec @ GroupSpec::Named(_) => {
            daemon_only(&format!("{directive} (process group '{value}')"))?;
            Ok(spec)
        }
        GroupSpec::Server | GroupSpec::Resource | GroupSpec::Host => Err(format!(
            "{directive}: '{value}' is not a process group; name a WSGIDaemonProcess group, \
             %{{GLOBAL}} (embedded) or %{{ENV:variable}}"
        )),
    }
}

/// An application group selector: every form mod_wsgi accepts.
pub(super) fn application_group_spec(directive: &str, value: &str) -> Result<GroupSpec, String> {
    if value.is_empty() {
        return Err(format!(
            "{directive}: the application group is empty; name one, or use %{{GLOBAL}}"
        ));
    }
    Ok(GroupSpec::parse(value))
}

pub(super) fn process_group(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    let v = one_word(cmd, args, "a process group")?;
    dir.app.process_group = Some(process_group_spec(&cmd.name(), &v)?);
    Ok(())
}

pub(super) fn application_group(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    let v = one_word(cmd, args, "an application group")?;
    let spec = application_group_spec(&cmd.name(), &v)?;
    if spec == GroupSpec::Global {
        // Which process groups this section's requests go to is not known here.
        server.global_group.anywhere = true;
    }
    dir.app.application_group = Some(spec);
    Ok(())
}

pub(super) fn import_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), String> {
    let w = words(cmd, args)?;
    let name = cmd.name();
    let [path, opts @ ..] = w.as_slice() else {
        return Err(format!(
            "{name}: expected a script path, process-group= and application-group="
        ));
    };
    let o = app_options(cmd, server, opts)?;
    if o.process_group.is_none() || o.application_group.is_none() {
        return Err(format!(
            "{name}: both process-group= and application-group= are required, e.g. {name} {path} process-group=%{{GLOBAL}} application-group=%{{GLOBAL}}"
        ));
    }
    if o.callable_object.is_some() || o.pass_authorization.is_some() {
        return Err(format!(
            "{name}: only process-group= and application-group= are valid here"
        ));
    }
    if matches!(o.process_group, Some(GroupSpec::Env(_)))
        || matches!(o.application_group, Some(GroupSpec::Env(_)))
    {
        return Err(format!(
            "{name}: %{{ENV:...}} cannot be used for a script imported at process start"
        ));
    }
    let process_group = match &o.process_group {
        Some(GroupSpec::Named(n)) => Some(n.clone()),
        _ => None,
    };
    // At process start there is no request to expand %{SERVER} or %{RESOURCE} from.
    let application_group = match &o.application_group {
        Some(GroupSpec::Named(n)) => n.clone(),
        Some(GroupSpec::Server | GroupSpec::Resource | GroupSpec::Host) => {
            return Err(format!(
                "{name}: application-group= %{{SERVER}}, %{{HOST}} and %{{RESOURCE}} are expanded from a \
                 request, and a script is imported before the first one: write the group's \
                 expanded name (what mod_wsgi.application_group reports, e.g. \
                 'www.example.com|/app')"
            ));
        }
        _ => String::new(),
    };
    if process_group.is_none() && cmd.in_virtual_host() {
        return Err(format!(
            "{name}: embedded-mode import scripts must be configured in the main server, not inside <VirtualHost>"
        ));
    }
    server.import_scripts.push(ImportScript {
        path: absolute_path(cmd, path)?,
        process_group,
        application_group,
    });
    Ok(())
}
