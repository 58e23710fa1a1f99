//! The way into rwsgi for a request: URL mapping (`WSGIScriptAlias`) and the `handler`
//! hook, which finds the script a request runs and hands it to its daemon group or runs it
//! here (`embedded`).

use std::sync::Arc;

use crate::apache::{FileKind, Request, RequestLogContext, status};
use crate::config::{AliasPattern, AppOptions, GroupSpec, MapHead, ScriptAlias};
use crate::request_vars::{ChildOptions, Routed};
use crate::routing;
use rwsgi_core::directive_args::match_mount;
use rwsgi_core::route::Route;

/// Handler names that run `r->filename` as a WSGI script.
const SCRIPT_HANDLERS: [&[u8]; 2] = [b"wsgi-script", b"application/x-httpd-wsgi"];

/// The alias that mapped this request (stored on the request by translate_name).
struct MatchedAlias(Arc<ScriptAlias>);

/// `translate_name`: the first `WSGIScriptAlias(Match)` that matches maps the URL to the
/// script and forces the `wsgi-script` handler (so no `Options ExecCGI` is needed).
pub fn translate_name(r: &mut Request<'_>) -> i32 {
    let uri = r.uri();
    if !uri.starts_with(b"/") {
        return status::DECLINED;
    }
    let aliases = &r.server().config().script_aliases;
    for alias in aliases {
        let filename = match &alias.pattern {
            AliasPattern::Prefix {
                mount,
                require_slash,
            } => match match_mount(mount, *require_slash, uri) {
                Some(rest) => {
                    let mut f = alias.target.clone().into_bytes();
                    f.extend_from_slice(rest);
                    f
                }
                None => continue,
            },
            AliasPattern::Regex(regex) => match regex.substitute(r.pool(), uri, &alias.target) {
                // Whatever follows the match becomes PATH_INFO.
                Some((mut f, end)) => {
                    f.extend_from_slice(uri.get(end..).unwrap_or_default());
                    f
                }
                None => continue,
            },
        };
        r.set_filename(&filename);
        r.set_handler(c"wsgi-script");
        r.set_note(MatchedAlias(alias.clone()));
        return status::OK;
    }
    status::DECLINED
}

/// Which script a request runs, and how, before the process and application group are
/// known.
struct Target {
    script: String,
    handler_script: bool,
    callable: String,
    options: AppOptions,
    mtime_us: Option<i64>,
}

fn target(r: &Request<'_>) -> Result<Option<Target>, i32> {
    let Some(handler) = r.handler() else {
        return Ok(None);
    };
    let dir = r.dir_config();
    if SCRIPT_HANDLERS.contains(&handler) {
        let alias = r.note::<MatchedAlias>();
        let filename = String::from_utf8_lossy(r.filename().unwrap_or(b""));
        if alias.is_none() && !r.exec_cgi_allowed() {
            tracing::error!("RW0107: Options ExecCGI is off in this directory: {filename}");
            return Err(status::FORBIDDEN);
        }
        let mtime_us = match r.file_kind() {
            FileKind::File { mtime_us } => mtime_us,
            FileKind::Missing => {
                tracing::info!(
                    "RW0108: target WSGI script not found or unable to stat: {filename}"
                );
                return Err(status::NOT_FOUND);
            }
            FileKind::Directory | FileKind::Other => {
                tracing::error!(
                    "RW0108: attempt to invoke a directory (or special file) as a WSGI application: {filename}"
                );
                return Err(status::FORBIDDEN);
            }
        };
        if r.rejects_path_info() && !r.path_info().is_empty() {
            return Err(status::NOT_FOUND);
        }
        // Options on the alias win over the directory's directives.
        let options = match alias {
            Some(a) => a.0.options.or(&dir.app),
            None => dir.app.clone(),
        };
        let callable = options
            .callable_object
            .clone()
            .unwrap_or_else(|| "application".to_owned());
        return Ok(Some(Target {
            script: filename.into_owned(),
            handler_script: false,
            callable,
            options,
            mtime_us: Some(mtime_us),
        }));
    }
    let Some(h) = dir
        .handler_scripts
        .iter()
        .find(|h| h.name.as_bytes() == handler)
    else {
        return Ok(None);
    };
    // A handler script's entry point is `handle_request` unless its own option says
    // otherwise: WSGICallableObject names the application callable, not this one.
    let mut options = h.options.or(&dir.app);
    options.callable_object = h.options.callable_object.clone();
    let callable = options
        .callable_object
        .clone()
        .unwrap_or_else(|| "handle_request".to_owned());
    Ok(Some(Target {
        script: h.path.clone(),
        handler_script: true,
        callable,
        options,
        mtime_us: None,
    }))
}

/// The route of a request to `target`: its process and application group (the
/// configuration's, or a `WSGIDispatchScript`'s choice), allowed by
/// `WSGIRestrictProcess`, and the per-location switches that say how it runs. Embedded
/// and daemon mode run the same value. `Err` is the status to answer, already logged.
fn route(r: &mut Request<'_>, target: Target) -> Result<Route, i32> {
    let Target {
        script,
        handler_script,
        mut callable,
        options,
        mtime_us,
    } = target;
    let mut process_group = match routing::process_group(r, &options.process_group) {
        Ok(group) => group,
        Err(routing::UnsetGroupVariable(var)) => {
            tracing::error!(
                "RW0116: the process group is %{{ENV:{var}}} and {var} is not set for this request (SetEnv, SetEnvIf, RewriteRule [E=...] or Apache's environment); cannot run {script}"
            );
            return Err(status::INTERNAL_SERVER_ERROR);
        }
    };
    let mut application_group = routing::application_group(r, &options.application_group);
    let dir = r.dir_config();
    if let Some(dispatch) = &dir.dispatch {
        // WSGIDispatchScript: Python may choose otherwise, per request.
        let Some(choice) = crate::dispatch::ask(r, dispatch) else {
            return Err(status::INTERNAL_SERVER_ERROR);
        };
        if let Some(group) = choice.process_group {
            process_group = match GroupSpec::parse(&group) {
                GroupSpec::Global => String::new(),
                _ => group,
            };
        }
        if let Some(group) = choice.application_group {
            application_group = routing::application_group(r, &Some(GroupSpec::parse(&group)));
        }
        if let Some(chosen) = choice.callable_object {
            callable = chosen;
        }
    }
    if let Some(allowed) = &dir.restrict_process {
        if !allowed.contains(&process_group) {
            tracing::error!(
                "RW0117: process group '{}' is not allowed here by WSGIRestrictProcess; cannot run {script}",
                if process_group.is_empty() {
                    "%{GLOBAL}"
                } else {
                    &process_group
                },
            );
            // The configuration is at fault, not the client: 500, as mod_wsgi answers.
            return Err(status::INTERNAL_SERVER_ERROR);
        }
    }
    Ok(Route {
        script,
        handler_script,
        callable,
        process_group,
        application_group,
        reload: dir.script_reloading.unwrap_or(true),
        ignore_activity: dir.ignore_activity == Some(true),
        script_mtime_us: mtime_us,
    })
}

/// The `handler` hook.
pub fn handler(r: &mut Request<'_>) -> i32 {
    let _log = RequestLogContext::enter(r);
    let target = match target(r) {
        Ok(Some(t)) => t,
        Ok(None) => return status::DECLINED,
        Err(code) => return code,
    };
    let pass_authorization = target.options.pass_authorization == Some(true);
    let route = match route(r, target) {
        Ok(route) => route,
        Err(code) => return code,
    };
    let dir = r.dir_config();
    let map_head = match dir.map_head_to_get.unwrap_or(MapHead::Auto) {
        MapHead::On => true,
        MapHead::Off => false,
        MapHead::Auto => r.has_content_filters(),
    };
    let request = Routed {
        child: ChildOptions {
            map_head,
            pass_authorization,
            error_override: dir.error_override == Some(true),
            stream_coalescing: dir.stream_coalescing == Some(true),
            chunked: dir.chunked_request == Some(true),
            pass_apache_request: dir.pass_apache_request == Some(true),
        },
        route,
    };
    if !request.route.process_group.is_empty() {
        return crate::daemon::dispatch(r, &request);
    }
    crate::embedded::run(r, &request)
}
