//! What happens when: configuration checks (also under `apache2 -t`), start-up in the
//! parent, and Python start-up in each child.

use std::path::Path;

use crate::apache::{Level, Mpm, Pool, Server, log_server, scoreboard, server_state};
use crate::linked::LINKED_VERSION;
use crate::python::interpreter::{self, PythonHome};
use crate::python::metrics::ScoreboardSource;
use crate::python::with_gil;
use crate::wsgi::runner;
use crate::wsgi::{ServerFacts, Setup};

/// Why the configuration test or the start fails (the fence logs it and fails them).
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Daemon(#[from] crate::daemon::GenerationError),
    #[error(
        "WSGIPythonHome: {0} does not exist or is not a directory; point it at a Python installation prefix or a virtual environment"
    )]
    NoPythonHome(String),
    #[error(
        "WSGIPythonHome: the virtual environment {home} is for Python {version}, but this mod_rwsgi.so is built for Python {LINKED_VERSION}; recreate the venv with python{LINKED_VERSION} or rebuild rwsgi with PYO3_PYTHON pointing at Python {version}"
    )]
    VenvForAnotherPython { home: String, version: String },
    /// The Apache user cannot read the Python home (the reason names the path).
    #[error("WSGIPythonHome: {0}")]
    PythonHomeUnreadable(#[from] crate::access::AccessError),
}

/// Checks that need the whole configuration: a bad Python home fails `apache2 -t` with the
/// fix, instead of failing in every child later.
pub fn check_config(_pconf: Pool, server: Server<'_>) -> Result<(), LifecycleError> {
    crate::daemon::check_config(server)?;
    let conf = server.config();
    for directive in &conf.telemetry {
        log_server(
            Some(server),
            Level::Warning,
            &format!(
                "RW0126: {directive} is accepted but rwsgi sends no telemetry: mod_wsgi's \
                 telemetry reporter is not implemented (docs/directives.md); remove the \
                 directive to silence this warning"
            ),
        );
    }
    // `prefix:exec_prefix` is allowed, as for PYTHONHOME; the prefix is what gets checked.
    let Some(home) = conf.python.home.as_deref().and_then(|h| {
        h.split(rwsgi_core::directive_args::PATH_LIST_SEPARATOR)
            .next()
    }) else {
        return Ok(());
    };
    if !Path::new(home).is_dir() {
        return Err(LifecycleError::NoPythonHome(home.to_owned()));
    }
    if let PythonHome::Venv {
        version: Some(version),
        ..
    } = PythonHome::detect(home)
    {
        if version != LINKED_VERSION {
            return Err(LifecycleError::VenvForAnotherPython {
                home: home.to_owned(),
                version: version.to_string(),
            });
        }
    }
    // Children start Python after dropping privileges: check what the Apache user can read.
    crate::access::home_readable_by_apache_user(Path::new(home))
        .map_err(LifecycleError::PythonHomeUnreadable)
}

/// In the parent after each configuration read.
pub fn post_config(pconf: Pool, server: Server<'_>) -> Result<(), LifecycleError> {
    if server_state::is_pre_config_pass() {
        return Ok(());
    }
    crate::log::install();
    Mpm::add_version_component(
        pconf,
        &format!(
            "rwsgi/{} Python/{LINKED_VERSION}",
            env!("CARGO_PKG_VERSION")
        ),
    );
    Ok(crate::daemon::start(pconf, server)?)
}

/// In each child: start Python (unless embedded mode is off and nothing needs it), set the
/// interpreter up and import the `WSGIImportScript` scripts before the first request.
pub fn child_init(pchild: Pool, server: Server<'_>) {
    crate::daemon::child_started();
    crate::log::install();
    let conf = server.config();
    let embedded_imports = conf
        .import_scripts
        .iter()
        .any(|i| i.process_group.is_none());
    // Auth scripts always run here, in the Apache children (as in mod_wsgi).
    let hook_scripts =
        std::iter::successors(Some(server), Server::next).any(|s| s.config().hook_scripts);
    if conf.restrict_embedded == Some(true) && !embedded_imports && !hook_scripts {
        return;
    }
    if let Some(home) = conf.python.home.as_deref() {
        if let Err(why) = crate::access::home_readable(Path::new(home)) {
            log_server(
                Some(server),
                Level::Crit,
                &format!("RW0100: Python not started in this Apache child: WSGIPythonHome {why}"),
            );
            return;
        }
    }
    if let Err(err) = interpreter::start(&conf.python, "") {
        log_server(
            Some(server),
            Level::Crit,
            &format!("RW0100: Python could not start in this Apache child: {err}"),
        );
        return;
    }
    let mpm = Mpm::query();
    let setup = Setup {
        settings: conf.python.clone(),
        server: ServerFacts {
            max_daemons: mpm.max_daemons,
            max_threads: mpm.max_threads,
            apache_version: Mpm::apache_version(),
            banner: Mpm::server_banner(),
        },
        process_group: String::new(),
        server_metrics: (conf.server_metrics == Some(true))
            .then_some(scoreboard::snapshot as ScoreboardSource),
        multithread: mpm.threaded && mpm.max_threads > 1,
        multiprocess: mpm.max_daemons > 1,
        own_gil: conf.python.own_gil_in(""),
    };
    let preload = conf
        .import_scripts
        .iter()
        .filter(|i| i.process_group.is_none())
        .map(|i| runner::Preload {
            script: &i.path,
            group: &i.application_group,
        });
    let global_used = crate::routing::global_group_reaches(server, "");
    let ready = with_gil(|py| runner::set_up(py, "RW0100", setup, global_used, preload).is_ok());
    if ready {
        let finalize = conf.python.destroy_interpreter != Some(false);
        pchild.on_cleanup(move || {
            interpreter::finish(finalize, |py| {
                runner::publish_stopping(py, "shutdown");
                if finalize {
                    runner::end_sub_interpreters(py)
                } else {
                    Ok(())
                }
            })
        });
    }
}
