//! The directive table: every directive mod_wsgi 6.1 registers, spelled exactly as mod_wsgi
//! spells it, with its context and setter, and rwsgi's own (`WSGIStreamCoalescing`).
//! Directives mod_wsgi removed are recognised and fail the configuration test saying so.
//! A directive is one row here and one setter (here or in a `*_directives.rs` file); the
//! setters read their arguments with `args.rs` and refuse a line with a `DirectiveError`.

use std::sync::Arc;

use super::accepted_directives::{
    enable_sendfile, error_override, ignore_activity, pass_apache_request, slow_requests,
    stream_coalescing, telemetry_options, telemetry_service,
};
use super::args::{absolute_path, app_options, daemon_only, on_off, one_word, words};
use super::auth_directives::{
    access_script, auth_group_script, auth_user_script, dispatch_script, group_authoritative,
};
use super::group_directives::{application_group, import_script, process_group};
use super::python_directives::{
    case_sensitivity, destroy_interpreter, dont_write_bytecode, free_threading,
    per_interpreter_gil, python_eggs, python_hash_seed, python_home, python_optimize, python_path,
    python_warnings, restrict_signal, restrict_stdin, restrict_stdout, switch_interval,
};
use super::{AliasPattern, DirConf, DirectiveError, HandlerScript, ScriptAlias, ServerConf};
use crate::apache::{Cmd, Directive, Regex, Scope};
use rwsgi_core::directive_args::{self as parse, MapHead};
use rwsgi_core::proxy;

/// A directive's setter: the server's and the current section's configuration, and the
/// rest of the line as Apache read it.
type Setter = fn(&mut Cmd<'_>, &mut ServerConf, &mut DirConf, &str) -> Result<(), DirectiveError>;

const fn d(
    name: &'static std::ffi::CStr,
    scope: Scope,
    usage: &'static std::ffi::CStr,
    apply: Setter,
) -> Directive<ServerConf, DirConf, DirectiveError> {
    Directive {
        name,
        scope,
        usage,
        apply,
    }
}

/// The table the fence turns into Apache's `command_rec` array.
pub const DIRECTIVES: &[Directive<ServerConf, DirConf, DirectiveError>] = &[
    // Implemented.
    d(
        c"WSGIScriptAlias",
        Scope::Server,
        c"URL-path file-path|directory-path [options]",
        script_alias,
    ),
    d(
        c"WSGIScriptAliasMatch",
        Scope::Server,
        c"regex file-path|directory-path [options]",
        script_alias_match,
    ),
    d(
        c"WSGIHandlerScript",
        Scope::Directory,
        c"handler-name file-path [options]",
        handler_script,
    ),
    d(
        c"WSGIProcessGroup",
        Scope::Directory,
        c"%{GLOBAL} | %{ENV:variable} | name",
        process_group,
    ),
    d(
        c"WSGIApplicationGroup",
        Scope::Directory,
        c"%{GLOBAL} | %{ENV:variable}",
        application_group,
    ),
    d(
        c"WSGICallableObject",
        Scope::FileInfo,
        c"name of the WSGI callable (default: application)",
        callable_object,
    ),
    d(
        c"WSGIPassAuthorization",
        Scope::FileInfo,
        c"On|Off",
        pass_authorization,
    ),
    d(
        c"WSGIScriptReloading",
        Scope::FileInfo,
        c"On|Off",
        script_reloading,
    ),
    d(
        c"WSGIChunkedRequest",
        Scope::FileInfo,
        c"On|Off",
        chunked_request,
    ),
    d(
        c"WSGIMapHEADToGET",
        Scope::FileInfo,
        c"On|Off|Auto",
        map_head_to_get,
    ),
    d(
        c"WSGIImportScript",
        Scope::Server,
        c"file-path process-group=%{GLOBAL} application-group=%{GLOBAL}",
        import_script,
    ),
    d(
        c"WSGIRestrictEmbedded",
        Scope::Global,
        c"On|Off",
        restrict_embedded,
    ),
    d(
        c"WSGIPythonHome",
        Scope::Global,
        c"prefix[:exec_prefix] or a virtual environment",
        python_home,
    ),
    d(
        c"WSGIPythonPath",
        Scope::Global,
        c"directory[:directory...]",
        python_path,
    ),
    d(
        c"WSGIDontWriteBytecode",
        Scope::Global,
        c"On|Off",
        dont_write_bytecode,
    ),
    d(
        c"WSGIPythonOptimize",
        Scope::Global,
        c"0|1|2",
        python_optimize,
    ),
    d(
        c"WSGIPythonHashSeed",
        Scope::Global,
        c"random|0..4294967295",
        python_hash_seed,
    ),
    d(
        c"WSGIPythonWarnings",
        Scope::Global,
        c"warning filter (as python -W)",
        python_warnings,
    ),
    d(
        c"WSGIDestroyInterpreter",
        Scope::Global,
        c"On|Off",
        destroy_interpreter,
    ),
    d(
        c"WSGIRestrictSignal",
        Scope::Global,
        c"On|Off",
        restrict_signal,
    ),
    d(
        c"WSGISwitchInterval",
        Scope::Global,
        c"seconds (float)",
        switch_interval,
    ),
    d(c"WSGIPythonEggs", Scope::Global, c"directory", python_eggs),
    d(
        c"WSGITrustedProxyHeaders",
        Scope::FileInfo,
        c"header ... (X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, ...)",
        trusted_proxy_headers,
    ),
    d(
        c"WSGITrustedProxies",
        Scope::FileInfo,
        c"address|network ... (e.g. 10.0.0.5 192.168.0.0/16 ::1)",
        trusted_proxies,
    ),
    d(
        c"WSGIVerboseDebugging",
        Scope::Global,
        c"On|Off (deprecated, no effect)",
        verbose_debugging,
    ),
    d(
        c"WSGIDaemonProcess",
        Scope::Server,
        c"name [option=value ...] (see docs/directives.md)",
        daemon_process,
    ),
    d(c"WSGISocketPrefix", Scope::Global, c"path", socket_prefix),
    d(
        c"WSGIRestrictProcess",
        Scope::Directory,
        c"group ...",
        restrict_process,
    ),
    // Recognised, not implemented yet.
    d(
        c"WSGISocketRotation",
        Scope::Global,
        c"On|Off (accepted; rwsgi drains the old generation's sockets either way)",
        socket_rotation,
    ),
    d(
        c"WSGIAcceptMutex",
        Scope::Global,
        c"mutex type (accepted; rwsgi needs no accept mutex)",
        accept_mutex,
    ),
    d(
        c"WSGIErrorOverride",
        Scope::FileInfo,
        c"On|Off",
        error_override,
    ),
    d(
        c"WSGIIgnoreActivity",
        Scope::FileInfo,
        c"On|Off",
        ignore_activity,
    ),
    d(
        c"WSGIPerInterpreterGIL",
        Scope::Global,
        c"On|Off",
        per_interpreter_gil,
    ),
    d(
        c"WSGIFreeThreading",
        Scope::Global,
        c"On|Off",
        free_threading,
    ),
    d(
        c"<WSGIInterpreterOptions",
        Scope::Global,
        c"[process-group=] [application-group=]",
        super::interpreter_options::interpreter_options,
    ),
    d(
        c"WSGIRestrictStdin",
        Scope::Global,
        c"On|Off",
        restrict_stdin,
    ),
    d(
        c"WSGIRestrictStdout",
        Scope::Global,
        c"On|Off",
        restrict_stdout,
    ),
    d(
        c"WSGICaseSensitivity",
        Scope::Global,
        c"On|Off",
        case_sensitivity,
    ),
    d(
        c"WSGIDispatchScript",
        Scope::Directory,
        c"file-path [application-group=]",
        dispatch_script,
    ),
    d(
        c"WSGIPassApacheRequest",
        Scope::Directory,
        c"On|Off",
        pass_apache_request,
    ),
    d(
        c"WSGIEnableSendfile",
        Scope::FileInfo,
        c"On|Off",
        enable_sendfile,
    ),
    d(
        c"WSGIStreamCoalescing",
        Scope::FileInfo,
        c"On|Off",
        stream_coalescing,
    ),
    d(
        c"WSGIAccessScript",
        Scope::AuthConfig,
        c"file-path [application-group=]",
        access_script,
    ),
    d(
        c"WSGIAuthUserScript",
        Scope::AuthConfig,
        c"file-path [application-group=]",
        auth_user_script,
    ),
    d(
        c"WSGIAuthGroupScript",
        Scope::AuthConfig,
        c"file-path [application-group=]",
        auth_group_script,
    ),
    d(
        c"WSGIGroupAuthoritative",
        Scope::AuthConfig,
        c"On|Off",
        group_authoritative,
    ),
    d(
        c"WSGIServerMetrics",
        Scope::Global,
        c"On|Off",
        server_metrics,
    ),
    d(
        c"WSGITelemetryService",
        Scope::Global,
        c"unix:/path [interval=N]",
        telemetry_service,
    ),
    d(
        c"WSGISlowRequests",
        Scope::Global,
        c"seconds",
        slow_requests,
    ),
    d(
        c"WSGITelemetryOptions",
        Scope::Global,
        c"[+|-]option ...",
        telemetry_options,
    ),
    // Removed from mod_wsgi itself.
    d(
        c"WSGILazyInitialization",
        Scope::Global,
        c"removed in mod_wsgi 6",
        removed,
    ),
    d(
        c"WSGINewRelicConfigFile",
        Scope::Global,
        c"removed in mod_wsgi 6",
        removed,
    ),
    d(
        c"WSGINewRelicEnvironment",
        Scope::Global,
        c"removed in mod_wsgi 6",
        removed,
    ),
    d(
        c"WSGIUserAuthoritative",
        Scope::AuthConfig,
        c"removed (Apache 2.2 only)",
        removed,
    ),
];

fn script_alias(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let name = cmd.name();
    let [url, target, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            expected: format!(
                "a URL path and a script file or directory, e.g. {name} / /srv/app/wsgi.py"
            ),
            directive: name,
        });
    };
    let (mount, require_slash) = parse::mount_point(&name, url).map_err(DirectiveError::Args)?;
    let options = app_options(cmd, server, opts)?;
    server.script_aliases.push(Arc::new(ScriptAlias {
        pattern: AliasPattern::Prefix {
            mount,
            require_slash,
        },
        target: absolute_path(cmd, target.trim_end_matches('/'))?,
        options,
    }));
    Ok(())
}

fn script_alias_match(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let name = cmd.name();
    let [pattern, target, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            expected: format!(
                "a regular expression and a script path, e.g. {name} ^/app/([^/]+) /srv/$1.wsgi"
            ),
            directive: name,
        });
    };
    let regex =
        Regex::compile(cmd.pool(), pattern).ok_or_else(|| DirectiveError::InvalidRegex {
            directive: name,
            pattern: pattern.clone(),
        })?;
    let options = app_options(cmd, server, opts)?;
    server.script_aliases.push(Arc::new(ScriptAlias {
        pattern: AliasPattern::Regex(regex),
        target: target.clone(),
        options,
    }));
    Ok(())
}

fn handler_script(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let name = cmd.name();
    let [handler, path, opts @ ..] = w.as_slice() else {
        return Err(DirectiveError::Usage {
            directive: name,
            expected: "a handler name and a script path".to_owned(),
        });
    };
    let script = HandlerScript {
        name: handler.clone(),
        path: absolute_path(cmd, path)?,
        options: app_options(cmd, server, opts)?,
    };
    dir.handler_scripts.retain(|h| h.name != script.name);
    dir.handler_scripts.push(Arc::new(script));
    Ok(())
}

fn callable_object(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.app.callable_object = Some(one_word(cmd, args, "the callable's name")?);
    Ok(())
}

fn pass_authorization(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    dir.app.pass_authorization = Some(on_off(cmd, args)?);
    Ok(())
}

flag_setter!(script_reloading, _server, dir, dir.script_reloading);

flag_setter!(chunked_request, _server, dir, dir.chunked_request);

fn map_head_to_get(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "On, Off or Auto")?;
    dir.map_head_to_get = Some(MapHead::parse(&cmd.name(), &v).map_err(DirectiveError::Args)?);
    Ok(())
}

fn daemon_process(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    daemon_only("WSGIDaemonProcess")?;
    let w = words(cmd, args)?;
    let mut group = rwsgi_core::daemon_options::parse(&w).map_err(DirectiveError::Args)?;
    if server.daemon_groups.iter().any(|g| g.name == group.name) {
        return Err(DirectiveError::DuplicateDaemonGroup {
            directive: "WSGIDaemonProcess".to_owned(),
            name: group.name.clone(),
        });
    }
    for path in group
        .python_home
        .iter_mut()
        .chain(group.home.iter_mut())
        .chain(group.python_path.iter_mut())
    {
        *path = absolute_path(cmd, path)?;
    }
    server.daemon_groups.insert(0, Arc::new(group));
    Ok(())
}

fn socket_prefix(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    daemon_only("WSGISocketPrefix")?;
    let v = one_word(cmd, args, "a path prefix for daemon sockets")?;
    server.socket_prefix = Some(absolute_path(cmd, &v)?);
    Ok(())
}

fn socket_rotation(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    daemon_only("WSGISocketRotation")?;
    // Each generation has its own sockets and old ones drain, so Off's goal (no 503s for
    // old children after a graceful restart) holds either way.
    on_off(cmd, args).map(drop)
}

fn accept_mutex(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    daemon_only("WSGIAcceptMutex")?;
    // Daemon threads take turns on the socket inside each process; nothing to configure.
    one_word(cmd, args, "a mutex type such as default").map(drop)
}

fn restrict_process(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    daemon_only("WSGIRestrictProcess")?;
    let w = words(cmd, args)?;
    if w.is_empty() {
        return Err(DirectiveError::NothingNamed {
            directive: cmd.name(),
            what: "process group (%{GLOBAL} for embedded mode)",
        });
    }
    let groups: Vec<String> = w
        .into_iter()
        .map(|g| if g == "%{GLOBAL}" { String::new() } else { g })
        .collect();
    dir.restrict_process = Some(groups.into());
    Ok(())
}

fn restrict_embedded(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let on = on_off(cmd, args)?;
    if on {
        // Off is embedded mode, allowed everywhere; On leaves only daemon mode.
        daemon_only("WSGIRestrictEmbedded On")?;
    }
    server.restrict_embedded = Some(on);
    Ok(())
}

fn server_metrics(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    server.server_metrics = Some(on_off(cmd, args)?);
    Ok(())
}

fn trusted_proxy_headers(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let new = proxy::parse_headers(&cmd.name(), &w).map_err(DirectiveError::Args)?;
    // Repeating the directive in one section adds to its list.
    let mut all = dir
        .trusted_proxy_headers
        .as_deref()
        .unwrap_or_default()
        .to_vec();
    for header in new {
        if !all.contains(&header) {
            all.push(header);
        }
    }
    dir.trusted_proxy_headers = Some(all.into());
    Ok(())
}

fn trusted_proxies(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    dir: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let w = words(cmd, args)?;
    let new = proxy::parse_proxies(&cmd.name(), &w).map_err(DirectiveError::Args)?;
    let mut all = dir.trusted_proxies.as_deref().unwrap_or_default().to_vec();
    all.extend(new);
    dir.trusted_proxies = Some(all.into());
    Ok(())
}

fn verbose_debugging(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    // Deprecated no-op in mod_wsgi 6 too; only the value is checked.
    on_off(cmd, args).map(drop)
}

fn removed(
    cmd: &mut Cmd<'_>,
    _: &mut ServerConf,
    _: &mut DirConf,
    _: &str,
) -> Result<(), DirectiveError> {
    Err(DirectiveError::Removed {
        directive: cmd.name(),
    })
}
