//! The files rwsgi-express writes: httpd.conf, handler.wsgi and apachectl. Pure functions of
//! the `Plan`, snapshot-tested per option group.
use std::fmt::Write as _;
use std::path::Path;

use crate::plan::{App, Plan};
use crate::platform::Os;

mod httpd_conf;

pub use httpd_conf::httpd_conf;

/// A Python string literal (the file is UTF-8).
fn py(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// handler.wsgi: loads the application and serves it at the mount point. The module calls
/// `handle_request` for every URL the rewrite rule hands to `wsgi-handler`.
pub fn handler_wsgi(plan: &Plan) -> String {
    let (kind, entry) = match &plan.app {
        App::Script(p) => ("script", p.to_string_lossy().into_owned()),
        App::Module(m) => ("module", m.clone()),
        App::Static => ("static", String::new()),
    };
    let loads = match &plan.app {
        App::Module(m) => format!("module {m}"),
        _ => entry.clone(),
    };
    format!(
        r#"# Written by rwsgi-express on every start: change the command-line options, not this file.
# Loads the application and mounts it at MOUNT_POINT.
import os
import sys
import threading
import types

# Tracebacks start at the application's code: rwsgi leaves this file's frames out, and
# names the application, not this file, when it fails to load.
__tracebackhide__ = True
__rwsgi_loads__ = {loads}

ENTRY_POINT = {entry}
APPLICATION_TYPE = {kind}
CALLABLE_OBJECT = {callable}
MOUNT_POINT = {mount}
# A script entry point is loaded again when its file changes.
RELOAD = {reload}

_lock = threading.Lock()
_loaded = None  # (mtime, application)


def _load():
    if APPLICATION_TYPE == 'script':
        module = types.ModuleType('__wsgi__')
        module.__file__ = ENTRY_POINT
        with open(ENTRY_POINT, 'rb') as f:
            code = compile(f.read(), ENTRY_POINT, 'exec')
        exec(code, module.__dict__)
        where = ENTRY_POINT
    else:
        # __import__ rather than importlib.import_module: Python then leaves its import
        # machinery's frames out of the traceback.
        __import__(ENTRY_POINT)
        module = sys.modules[ENTRY_POINT]
        where = 'module %s (%s)' % (ENTRY_POINT, getattr(module, '__file__', 'built in'))
    try:
        return getattr(module, CALLABLE_OBJECT)
    except AttributeError:
        raise RuntimeError(
            '%s has no %r: name the WSGI callable with --callable-object'
            % (where, CALLABLE_OBJECT)) from None


def _mtime():
    if not RELOAD:
        return None
    try:
        return os.stat(ENTRY_POINT).st_mtime_ns
    except OSError:
        return None


def _application():
    global _loaded
    loaded = _loaded
    if loaded is not None and (not RELOAD or loaded[0] == _mtime()):
        return loaded[1]
    with _lock:
        mtime = _mtime()
        if _loaded is None or _loaded[0] != mtime:
            _loaded = (mtime, _load())
        return _loaded[1]


def handle_request(environ, start_response):
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    environ['SCRIPT_NAME'] = MOUNT_POINT
    environ['PATH_INFO'] = path[len(MOUNT_POINT):]
    return _application()(environ, start_response)


_application()
"#,
        entry = py(&entry),
        loads = py(&loads),
        kind = py(kind),
        callable = py(&plan.callable),
        mount = py(&plan.mount_point),
        reload = if plan.reload_script { "True" } else { "False" },
    )
}

/// apachectl (apachectl.bat on Windows): controls the configured Apache without
/// rwsgi-express. Returns the file name and its contents.
pub fn apachectl(plan: &Plan) -> (&'static str, String) {
    match plan.os {
        Os::Unix => ("apachectl", apachectl_sh(plan)),
        Os::Windows => ("apachectl.bat", apachectl_bat(plan)),
    }
}

fn apachectl_sh(plan: &Plan) -> String {
    let sh = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
    format!(
        r#"#!/bin/sh
# Written by rwsgi-express: controls the Apache configured in this directory.
#   start | stop | restart | graceful | graceful-stop | configtest
HTTPD={httpd}
CONF={conf}
cd {workdir} || exit 1
case "${{LANG:-C}}" in C|POSIX) LANG=C.UTF-8; export LANG ;; esac
case "$1" in
    start|stop|restart|graceful|graceful-stop)
        exec "$HTTPD" -f "$CONF" -k "$1" ;;
    configtest)
        exec "$HTTPD" -f "$CONF" -t ;;
    *)
        echo "usage: $0 start|stop|restart|graceful|graceful-stop|configtest" >&2
        exit 2 ;;
esac
"#,
        httpd = sh(&plan.httpd),
        conf = sh(&plan.conf_path()),
        workdir = sh(&plan.working_directory),
    )
}

/// Windows: `start` runs Apache in this console until Ctrl-C (as a service, Apache is
/// installed with `httpd.exe -k install -f …` instead).
fn apachectl_bat(plan: &Plan) -> String {
    let p = |p: &Path| format!("\"{}\"", p.display());
    format!(
        "@echo off\r\n\
         rem Written by rwsgi-express: runs the Apache configured in this directory.\r\n\
         rem   start (in this console, until Ctrl-C) | configtest\r\n\
         cd /d {workdir} || exit /b 1\r\n\
         if \"%~1\"==\"start\" ( {httpd} -f {conf} -DONE_PROCESS & exit /b %ERRORLEVEL% )\r\n\
         if \"%~1\"==\"configtest\" ( {httpd} -f {conf} -t & exit /b %ERRORLEVEL% )\r\n\
         echo usage: %~nx0 start^|configtest 1>&2\r\n\
         exit /b 2\r\n",
        httpd = p(&plan.httpd),
        conf = p(&plan.conf_path()),
        workdir = p(&plan.working_directory),
    )
}
