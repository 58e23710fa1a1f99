//! Setters of the directives that choose process and application groups
//! (`WSGIProcessGroup`, `WSGIApplicationGroup`, `WSGIImportScript`). The group selectors
//! they read, which the script aliases share, are parsed in `args.rs`.

use super::args::{
    absolute_path, app_options, application_group_spec, one_word, process_group_spec, words,
};
use super::{DirConf, DirectiveError, ImportScript, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args::GroupSpec;

pub(super) fn process_group(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "a process group")?;
    dir.app.process_group = Some(process_group_spec(&cmd.name(), &v)?);
    Ok(())
}

pub(super) fn application_group(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
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
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let name = cmd.name();
    let [path, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            directive: name,
            expected: "a script path, process-group= and application-group=".to_owned(),
        });
    };
    let o = app_options(cmd, server, opts)?;
    if o.process_group.is_none() || o.application_group.is_none() {
        return Err(DirectiveError::Invalid {
            reason: format!(
                "both process-group= and application-group= are required, e.g. {name} {path} process-group=%{{GLOBAL}} application-group=%{{GLOBAL}}"
            ),
            directive: name,
        });
    }
    if o.callable_object.is_some() || o.pass_authorization.is_some() {
        return Err(DirectiveError::Invalid {
            directive: name,
            reason: "only process-group= and application-group= are valid here".to_owned(),
        });
    }
    if matches!(o.process_group, Some(GroupSpec::Env(_)))
        || matches!(o.application_group, Some(GroupSpec::Env(_)))
    {
        return Err(DirectiveError::Invalid {
            directive: name,
            reason: "%{ENV:...} cannot be used for a script imported at process start".to_owned(),
        });
    }
    let process_group = match &o.process_group {
        Some(GroupSpec::Named(n)) => Some(n.clone()),
        _ => None,
    };
    // At process start there is no request to expand %{SERVER} or %{RESOURCE} from.
    let application_group = match &o.application_group {
        Some(GroupSpec::Named(n)) => n.clone(),
        Some(GroupSpec::Server | GroupSpec::Resource | GroupSpec::Host) => {
            return Err(DirectiveError::Invalid {
                directive: name,
                reason: "application-group= %{SERVER}, %{HOST} and %{RESOURCE} are expanded \
                         from a request, and a script is imported before the first one: write \
                         the group's expanded name (what mod_wsgi.application_group reports, \
                         e.g. 'www.example.com|/app')"
                    .to_owned(),
            });
        }
        _ => String::new(),
    };
    if process_group.is_none() && cmd.in_virtual_host() {
        return Err(DirectiveError::Invalid {
            directive: name,
            reason: "embedded-mode import scripts must be configured in the main server, not inside <VirtualHost>"
                .to_owned(),
        });
    }
    server.import_scripts.push(ImportScript {
        path: absolute_path(cmd, path)?,
        process_group,
        application_group,
    });
    Ok(())
}
