//! Setters of the Python hook directives run in the Apache child: the auth hooks
//! (`WSGIAccessScript`, `WSGIAuthUserScript`, `WSGIAuthGroupScript`,
//! `WSGIGroupAuthoritative`) and `WSGIDispatchScript`.

use std::sync::Arc;

use super::args::{absolute_path, application_group_spec, words};
use super::{DirConf, DirectiveError, HookScript, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args::{self as parse, GroupSpec};

/// `path [application-group=…]`; the group defaults to `%{GLOBAL}`.
pub(super) fn hook_script(
    cmd: &Cmd<'_>,
    server: &mut ServerConf,
    args: &str,
) -> Result<HookScript, DirectiveError> {
    let name = cmd.name();
    let w = words(cmd, args)?;
    let [path, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            expected: format!("a script path, e.g. {name} /srv/app/auth.wsgi"),
            directive: name,
        });
    };
    let mut application_group = GroupSpec::Global;
    for (_, value) in
        parse::options(&name, opts, &["application-group"]).map_err(DirectiveError::Args)?
    {
        application_group = application_group_spec(&name, &value)?;
    }
    // Apache's children need Python for it, even with WSGIRestrictEmbedded On.
    server.hook_scripts = true;
    if application_group == GroupSpec::Global {
        // It runs there in %{GLOBAL}, which then keeps their main interpreter whichever
        // request comes first.
        server.global_group.processes.push(String::new());
    }
    Ok(HookScript {
        path: absolute_path(cmd, path)?,
        application_group,
    })
}

pub(super) fn access_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.auth.access = Some(Arc::new(hook_script(cmd, server, args)?));
    Ok(())
}

pub(super) fn auth_user_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.auth.user = Some(Arc::new(hook_script(cmd, server, args)?));
    Ok(())
}

pub(super) fn auth_group_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.auth.group = Some(Arc::new(hook_script(cmd, server, args)?));
    Ok(())
}

flag_setter!(
    group_authoritative,
    _server,
    dir,
    dir.auth.group_authoritative
);

pub(super) fn dispatch_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.dispatch = Some(Arc::new(hook_script(cmd, server, args)?));
    Ok(())
}
