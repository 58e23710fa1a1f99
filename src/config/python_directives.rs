//! Setters of the directives that configure the Python interpreter (`WSGIPythonHome`,
//! `WSGIPythonPath`, `WSGIPerInterpreterGIL`, …): read by each process when it starts
//! Python.

use super::args::{absolute_path, on_off, one_word};
use super::{DirConf, DirectiveError, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args as parse;

pub(super) fn python_home(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(
        cmd,
        args,
        "the Python installation prefix or a virtual environment",
    )?;
    if !std::path::Path::new(&v).is_absolute() {
        return Err(DirectiveError::NotAbsolute {
            directive: cmd.name(),
            path: v,
        });
    }
    server.python.home = Some(v);
    Ok(())
}

pub(super) fn python_path(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "directories separated by ':' (';' on Windows)")?;
    server.python.path.extend(
        v.split(parse::PATH_LIST_SEPARATOR)
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    );
    Ok(())
}

pub(super) fn dont_write_bytecode(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    server.python.dont_write_bytecode = on_off(cmd, args)?;
    Ok(())
}

pub(super) fn python_optimize(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "0, 1 or 2")?;
    server.python.optimize = parse::optimize(&cmd.name(), &v).map_err(DirectiveError::Args)?;
    Ok(())
}

pub(super) fn python_hash_seed(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "'random' or an integer")?;
    server.python.hash_seed = parse::hash_seed(&cmd.name(), &v).map_err(DirectiveError::Args)?;
    Ok(())
}

pub(super) fn python_warnings(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(
        cmd,
        args,
        "a warning filter such as ignore::DeprecationWarning",
    )?;
    server.python.warnings.push(v);
    Ok(())
}

pub(super) fn per_interpreter_gil(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let on = on_off(cmd, args)?;
    if on && !crate::linked::OWN_GIL_AVAILABLE {
        return Err(DirectiveError::NeedsOwnGil {
            directive: cmd.name(),
            linked: crate::linked::LINKED_VERSION,
        });
    }
    server.python.per_interpreter_gil = Some(on);
    Ok(())
}

/// `WSGIFreeThreading On` asks for Python without a GIL: only a free-threaded Python build
/// (3.13t and later) has that. At top level it applies to every process, the Apache
/// children's Python included, so a module built with a GIL refuses it here; a section
/// naming a daemon group is checked with the group's Python (`daemon::parent::launch`).
pub(super) fn free_threading(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let on = on_off(cmd, args)?;
    if on {
        needs_free_threaded_module(&cmd.name())?;
    }
    server.python.free_threading = Some(on);
    Ok(())
}

/// `WSGIFreeThreading On` for Apache's children or for processes forked from them: they
/// run this module's Python, which must be free-threaded.
pub(super) fn needs_free_threaded_module(directive: &str) -> Result<(), DirectiveError> {
    if cfg!(Py_GIL_DISABLED) {
        return Ok(());
    }
    Err(DirectiveError::NeedsFreeThreading {
        directive: directive.to_owned(),
        linked: crate::linked::LINKED_VERSION,
    })
}

flag_setter!(
    destroy_interpreter,
    server,
    _dir,
    server.python.destroy_interpreter
);

flag_setter!(restrict_signal, server, _dir, server.python.restrict_signal);

pub(super) fn switch_interval(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "seconds")?;
    let secs: f64 = v
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .ok_or_else(|| DirectiveError::BadValue {
            directive: cmd.name(),
            expected: "a positive number of seconds (e.g. 0.005)",
            value: v.clone(),
        })?;
    server.python.switch_interval = Some(secs);
    Ok(())
}

pub(super) fn python_eggs(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    let v = one_word(cmd, args, "a directory")?;
    server.python.eggs = Some(absolute_path(cmd, &v)?);
    Ok(())
}

flag_setter!(restrict_stdin, server, _dir, server.python.restrict_stdin);

flag_setter!(restrict_stdout, server, _dir, server.python.restrict_stdout);

flag_setter!(case_sensitivity, server, _dir, server.python.case_sensitive);
