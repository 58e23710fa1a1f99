//! The Python settings of an interpreter (`WSGIPython*`, the interpreter directives, a
//! daemon group's options and `<WSGIInterpreterOptions>` sections), as plain data: the
//! configuration fills them, the processes that start Python read them.

/// Interpreter settings: only meaningful on the main server (the directives are
/// `S only`); read by each child when it starts Python.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PythonSettings {
    pub home: Option<String>,
    /// `WSGIPythonPath` (embedded) or `python-path=` (a daemon group): each directory
    /// through `site.addsitedir()`, then all they added moved to the front of `sys.path`.
    pub path: Vec<String>,
    /// The `WSGIPythonPath` lines of the `<WSGIInterpreterOptions>` sections that apply,
    /// least specific first: each added as `path` is, after it, so the most specific ends
    /// up first.
    pub path_layers: Vec<Vec<String>>,
    /// A daemon group's `home=`: `sys.path[0]`, ahead of everything, as for a script run
    /// from that directory.
    pub first_path: Option<String>,
    pub optimize: u8,
    pub dont_write_bytecode: bool,
    /// `None` = random (Python's default).
    pub hash_seed: Option<u32>,
    pub warnings: Vec<String>,
    /// Finalise Python when a child exits (default On).
    pub destroy_interpreter: Option<bool>,
    /// `WSGIRestrictSignal` (default On): apps cannot replace Apache's signal handlers.
    pub restrict_signal: Option<bool>,
    pub switch_interval: Option<f64>,
    pub eggs: Option<String>,
    /// `WSGIPerInterpreterGIL`: sub-interpreters get their own GIL (Python 3.12+).
    pub per_interpreter_gil: Option<bool>,
    /// `WSGIFreeThreading` (default Off): a free-threaded Python runs without its GIL.
    /// Per process: see [`PythonSettings::free_threading_in`].
    pub free_threading: Option<bool>,
    /// `WSGIRestrictStdin` (default Off): reading `sys.stdin` raises.
    pub restrict_stdin: Option<bool>,
    /// `WSGIRestrictStdout` (default Off): `sys.stdout` raises instead of logging.
    pub restrict_stdout: Option<bool>,
    /// `WSGICaseSensitivity` (default On, Off on Windows): Off lower-cases script paths
    /// before naming their modules, so two spellings of one file load once.
    pub case_sensitive: Option<bool>,
    /// `<WSGIInterpreterOptions>` sections, in the order written.
    pub interpreter_options: Vec<InterpreterOptions>,
}

/// One section: whom it applies to and what it sets.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InterpreterOptions {
    /// `""` is `%{GLOBAL}`: Apache's own children.
    pub process_group: Option<String>,
    /// `""` is `%{GLOBAL}`.
    pub application_group: Option<String>,
    pub settings: Scoped,
}

/// The settings a section may set.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scoped {
    pub per_interpreter_gil: Option<bool>,
    /// Only in sections without `application-group=`: a process has one GIL or none.
    pub free_threading: Option<bool>,
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

    /// Whether the processes of `process_group` (`""`: Apache's children) run a
    /// free-threaded Python without its GIL: the top level, then a section without
    /// selectors, then one naming the group (the last written among equals), as mod_wsgi
    /// resolves it. Sections with `application-group=` cannot set it.
    pub fn free_threading_in(&self, process_group: &str) -> bool {
        let mut best: Option<(u8, bool)> = None;
        for o in &self.interpreter_options {
            let Some(on) = o.settings.free_threading else {
                continue;
            };
            if o.application_group.is_some() {
                continue;
            }
            let Some(specificity) = o.specificity(process_group, None) else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity >= s) {
                best = Some((specificity, on));
            }
        }
        best.map(|(_, on)| on)
            .or(self.free_threading)
            .unwrap_or(false)
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

    #[test]
    fn free_threading_is_resolved_per_process_group() {
        let ft = |p: Option<&str>, on| {
            section(
                p,
                None,
                Scoped {
                    free_threading: Some(on),
                    ..Scoped::default()
                },
            )
        };
        let mut s = PythonSettings {
            free_threading: Some(true),
            ..PythonSettings::default()
        };
        assert!(s.free_threading_in("any"));
        assert!(!PythonSettings::default().free_threading_in(""));
        s.interpreter_options = vec![ft(Some("site"), false), ft(None, true)];
        // The section naming the group beats the one without selectors, in any order.
        assert!(!s.free_threading_in("site"));
        assert!(s.free_threading_in(""));
        s.free_threading = None;
        s.interpreter_options = vec![ft(Some(""), true), ft(Some(""), false)];
        assert!(!s.free_threading_in(""), "the later of two equals");
        assert!(!s.free_threading_in("site"));
    }
}
