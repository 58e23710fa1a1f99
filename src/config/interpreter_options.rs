//! `<WSGIInterpreterOptions [process-group=P] [application-group=A]>`: interpreter settings
//! for some interpreters only, as in mod_wsgi 6.1. Inside it: `WSGIPerInterpreterGIL`,
//! `WSGIFreeThreading`, `WSGISwitchInterval`, `WSGIPythonPath` (added to the top-level
//! path), `WSGIRestrictStdin`, `WSGIRestrictStdout`, `WSGIRestrictSignal`.
//!
//! An interpreter gets the top-level settings, then, setting by setting, the value of the
//! most specific section that applies to it (one selector beats none, two beat one; among
//! equals the last written wins). Path entries add up, least specific first. This file
//! reads the sections; which applies to which interpreter is
//! `rwsgi_core::python_settings`.

use super::args::on_off;
use super::python_directives::{
    needs_free_threaded_module, per_interpreter_gil, python_path, switch_interval,
};
use super::{DirConf, DirectiveError, InterpreterOptions, Scoped, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args as parse;

/// The section's handler: reads the selectors and the lines inside.
pub(super) fn interpreter_options(
    cmd: &mut Cmd<'_>,
    server: &mut ServerConf,
    _: &mut DirConf,
    args: &str,
) -> Result<(), DirectiveError> {
    const NAME: &str = "<WSGIInterpreterOptions>";
    let selectors = args
        .trim_end()
        .strip_suffix('>')
        .ok_or(DirectiveError::UnclosedSection { section: NAME })?;
    let mut options = InterpreterOptions::default();
    let words = parse::words(selectors).map_err(|reason| DirectiveError::Words {
        directive: NAME.to_owned(),
        reason,
    })?;
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| DirectiveError::Invalid {
            directive: NAME.to_owned(),
            reason: format!(
                "argument '{word}' is not of the form key=value (process-group=NAME or application-group=NAME)"
            ),
        })?;
        let value = if value == "%{GLOBAL}" { "" } else { value };
        let slot = match key.to_ascii_lowercase().as_str() {
            "process-group" => &mut options.process_group,
            "application-group" => &mut options.application_group,
            _ => {
                return Err(DirectiveError::Invalid {
                    directive: NAME.to_owned(),
                    reason: format!(
                        "unknown selector '{key}', expected process-group or application-group"
                    ),
                });
            }
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(DirectiveError::Invalid {
                directive: NAME.to_owned(),
                reason: format!("{key} given more than once"),
            });
        }
    }
    for line in cmd.section_lines() {
        let name = line.name.clone();
        let applied = cmd.as_inner(&name, |cmd| {
            apply(cmd, &mut options.settings, &line.name, &line.args)
        });
        applied.map_err(|error| DirectiveError::InSection {
            error: Box::new(error),
            section: NAME,
            location: line.location,
        })?;
    }
    // With a shared GIL the interval is the whole process's, as mod_wsgi also holds.
    if options.application_group.is_some()
        && options.settings.switch_interval.is_some()
        && options.settings.per_interpreter_gil != Some(true)
    {
        return Err(DirectiveError::SwitchIntervalNeedsOwnGil { section: NAME });
    }
    // A process runs with a GIL or without one, whatever its application groups.
    if let Some(on) = options.settings.free_threading {
        if options.application_group.is_some() {
            return Err(DirectiveError::FreeThreadingPerProcess { section: NAME });
        }
        // Without process-group= it reaches Apache's children, which run this module's
        // Python; a named group's Python is checked with the group (it may be exec'd).
        if on && options.process_group.is_none() {
            needs_free_threaded_module("WSGIFreeThreading")?;
        }
    }
    server.python.interpreter_options.push(options);
    Ok(())
}

/// One line inside the section, checked by the directive's own setter.
fn apply(
    cmd: &mut Cmd<'_>,
    scoped: &mut Scoped,
    name: &str,
    args: &str,
) -> Result<(), DirectiveError> {
    let mut scratch = ServerConf::default();
    let mut dir = DirConf::default();
    match name.to_ascii_lowercase().as_str() {
        "wsgiperinterpretergil" => {
            per_interpreter_gil(cmd, &mut scratch, &mut dir, args)?;
            scoped.per_interpreter_gil = scratch.python.per_interpreter_gil;
        }
        "wsgifreethreading" => scoped.free_threading = Some(on_off(cmd, args)?),
        "wsgiswitchinterval" => {
            switch_interval(cmd, &mut scratch, &mut dir, args)?;
            scoped.switch_interval = scratch.python.switch_interval;
        }
        "wsgipythonpath" => {
            python_path(cmd, &mut scratch, &mut dir, args)?;
            scoped.path.extend(scratch.python.path);
        }
        "wsgirestrictstdin" => scoped.restrict_stdin = Some(on_off(cmd, args)?),
        "wsgirestrictstdout" => scoped.restrict_stdout = Some(on_off(cmd, args)?),
        "wsgirestrictsignal" => scoped.restrict_signal = Some(on_off(cmd, args)?),
        _ => {
            return Err(DirectiveError::NotAllowedInSection {
                directive: name.to_owned(),
            });
        }
    }
    Ok(())
}
