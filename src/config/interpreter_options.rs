//! `<WSGIInterpreterOptions [process-group=P] [application-group=A]>`: interpreter settings
//! for some interpreters only, as in mod_wsgi 6.1. Inside it: `WSGIPerInterpreterGIL`,
//! `WSGIFreeThreading`, `WSGISwitchInterval`, `WSGIPythonPath` (added to the top-level
//! path), `WSGIRestrictStdin`, `WSGIRestrictStdout`, `WSGIRestrictSignal`.
//!
//! An interpreter gets the top-level settings, then, setting by setting, the value of the
//! most specific section that applies to it (one selector beats none, two beat one; among
//! equals the last written wins). Path entries add up, least specific first.

use super::args::on_off;
use super::python_directives::{free_threading, per_interpreter_gil, python_path, switch_interval};
use super::{DirConf, DirectiveError, PythonSettings, ServerConf};
use crate::apache::Cmd;
use rwsgi_core::directive_args as parse;

/// One section: whom it applies to and what it sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterpreterOptions {
    /// `""` is `%{GLOBAL}`: Apache's own children.
    pub process_group: Option<String>,
    /// `""` is `%{GLOBAL}`.
    pub application_group: Option<String>,
    pub settings: Scoped,
}

/// The settings a section may set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scoped {
    pub per_interpreter_gil: Option<bool>,
    pub switch_interval: Option<f64>,
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    pub restrict_signal: Option<bool>,
    pub path: Vec<String>,
}

impl InterpreterOptions {
    /// How many selectors match, or `None` when the section is not for this interpreter.
    /// `application_group` `None`: the interpreter's group is not known yet (a main
    /// interpreter before its first request), so only sections without one apply.
    fn specificity(&self, process_group: &str, application_group: Option<&str>) -> Option<u8> {
        let mut n = 0;
        if let Some(p) = &self.process_group {
            if p != process_group {
                return None;
            }
            n += 1;
        }
        if let Some(a) = &self.application_group {
            if Some(a.as_str()) != application_group {
                return None;
            }
            n += 1;
        }
        Some(n)
    }
}

impl PythonSettings {
    /// Whether any sub-interpreter of `process_group` may get its own GIL (top level or a
    /// section that can apply to it).
    pub fn own_gil_in(&self, process_group: &str) -> bool {
        self.per_interpreter_gil == Some(true)
            || self.interpreter_options.iter().any(|o| {
                o.settings.per_interpreter_gil == Some(true)
                    && o.process_group
                        .as_deref()
                        .is_none_or(|p| p == process_group)
            })
    }

    /// The settings of an interpreter of `process_group` (`""`: Apache's children)
    /// running `application_group`.
    pub fn for_interpreter(
        &self,
        process_group: &str,
        application_group: Option<&str>,
    ) -> PythonSettings {
        let mut out = self.clone();
        let mut matching: Vec<(u8, usize, &InterpreterOptions)> = self
            .interpreter_options
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                o.specificity(process_group, application_group)
                    .map(|s| (s, i, o))
            })
            .collect();
        // Least specific first, then in the order written: later ones override.
        matching.sort_by_key(|&(s, i, _)| (s, i));
        for (_, _, o) in matching {
            let s = &o.settings;
            out.per_interpreter_gil = s.per_interpreter_gil.or(out.per_interpreter_gil);
            out.switch_interval = s.switch_interval.or(out.switch_interval);
            out.restrict_stdin = s.restrict_stdin.or(out.restrict_stdin);
            out.restrict_stdout = s.restrict_stdout.or(out.restrict_stdout);
            out.restrict_signal = s.restrict_signal.or(out.restrict_signal);
            if !s.path.is_empty() {
                out.path_layers.push(s.path.clone());
            }
        }
        out
    }
}

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
        // Checked (On needs a free-threaded build); nothing to scope on a build with a GIL.
        "wsgifreethreading" => free_threading(cmd, &mut scratch, &mut dir, args)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn section(p: Option<&str>, a: Option<&str>, settings: Scoped) -> InterpreterOptions {
        InterpreterOptions {
            process_group: p.map(str::to_owned),
            application_group: a.map(str::to_owned),
            settings,
        }
    }

    fn settings() -> PythonSettings {
        PythonSettings {
            path: vec!["/top".into()],
            restrict_stdout: Some(false),
            interpreter_options: vec![
                section(
                    Some("site"),
                    Some("app"),
                    Scoped {
                        restrict_stdout: Some(true),
                        path: vec!["/both".into()],
                        ..Scoped::default()
                    },
                ),
                section(
                    Some("site"),
                    None,
                    Scoped {
                        restrict_stdout: Some(false),
                        switch_interval: Some(0.01),
                        path: vec!["/site".into()],
                        ..Scoped::default()
                    },
                ),
                section(
                    None,
                    Some(""),
                    Scoped {
                        restrict_stdin: Some(true),
                        ..Scoped::default()
                    },
                ),
                section(
                    Some("site"),
                    None,
                    Scoped {
                        switch_interval: Some(0.02),
                        ..Scoped::default()
                    },
                ),
            ],
            ..PythonSettings::default()
        }
    }

    #[test]
    fn the_most_specific_section_wins_and_paths_add_up() {
        let s = settings().for_interpreter("site", Some("app"));
        assert_eq!(s.restrict_stdout, Some(true));
        // Two sections of equal specificity: the later one.
        assert_eq!(s.switch_interval, Some(0.02));
        assert_eq!(s.path, ["/top"]);
        assert_eq!(s.path_layers, [vec!["/site"], vec!["/both"]]);
        assert_eq!(s.restrict_stdin, None);
    }

    #[test]
    fn sections_for_other_interpreters_do_not_apply() {
        let s = settings().for_interpreter("", Some("app"));
        assert_eq!(s.restrict_stdout, Some(false));
        assert_eq!(s.switch_interval, None);
        assert_eq!(s.path, ["/top"]);
        assert!(s.path_layers.is_empty());
        let global = settings().for_interpreter("", Some(""));
        assert_eq!(global.restrict_stdin, Some(true));
        // Group not known yet: only sections without an application group.
        let unknown = settings().for_interpreter("site", None);
        assert_eq!(unknown.restrict_stdin, None);
        assert_eq!(unknown.restrict_stdout, Some(false));
        assert_eq!(unknown.path_layers, [vec!["/site"]]);
    }
}
