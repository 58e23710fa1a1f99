//! The Python part of a [`Plan`](super::Plan): where the application's interpreter works,
//! its `sys.path`, its name (the application group), its home and, on Windows, its DLL.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::model::*;
use crate::cli::ServerArgs;
use crate::host::Host;
use crate::platform::{self, Os};

/// The interpreter the application runs in.
pub(super) struct Python {
    pub working_directory: PathBuf,
    /// `sys.path` additions, in order, each once.
    pub path: Vec<PathBuf>,
    /// `WSGIPythonHome`: the module's own Python's home or venv.
    pub home: Option<PathBuf>,
    pub dll: Option<PathBuf>,
    /// The interpreter the application is imported with before start.
    pub executable: Option<PathBuf>,
    /// The daemons run another Python than the module's: they are exec'd into it.
    pub own: Option<OwnPython>,
}

/// A Python of the daemon group's own (docs/daemon.md "Launch styles").
pub(super) enum OwnPython {
    /// `--python-home`, a venv of another X.Y: `python-home=` of the group.
    Venv { root: PathBuf, version: String },
    /// `--python-executable`: `python-executable=` of the group.
    Executable(PathBuf),
}

pub(super) fn resolve_python(args: &ServerArgs, host: &Host, app: &App) -> Result<Python> {
    let working_directory = working_directory(args, host, app)?;
    let path = python_path(args, host, app, &working_directory)?;
    check_application_group(&args.application_group)?;
    let mut home = python_home(args, host)?;
    let mut own = None;
    // A venv of another X.Y is the daemons' Python, not the module's.
    if let Some(root) = &home {
        let cfg = std::fs::read_to_string(root.join("pyvenv.cfg")).unwrap_or_default();
        if let Some(version) =
            rwsgi_core::venv::venv_version(&cfg).filter(|v| v != crate::built::PYTHON_VERSION)
        {
            own = Some(OwnPython::Venv {
                root: root.clone(),
                version,
            });
            home = None;
        }
    }
    if let Some(python) = &args.python_executable {
        // Not canonicalised: a venv's `bin/python3` is a symlink to its base Python, and
        // only the venv's path makes Python find the venv.
        let python = host.cwd.join(python);
        if !python.is_file() {
            bail!(
                "--python-executable {}: no such file; name the interpreter the daemon processes run (it needs rwsgi's daemon runtime: <python> -m pip install rwsgi)",
                python.display()
            );
        }
        own = Some(OwnPython::Executable(python));
    }
    let dll = python_dll(host, home.as_deref())?;
    let executable = match &own {
        Some(OwnPython::Executable(python)) => Some(python.clone()),
        Some(OwnPython::Venv { root, .. }) => platform::python_executable(root),
        None => platform::python_executable(home.as_deref().unwrap_or(&host.python.home)),
    };
    Ok(Python {
        working_directory,
        path,
        home,
        dll,
        executable,
        own,
    })
}

/// Another Python than the module's runs only in daemon processes.
pub(super) fn check_own_python(python: &Python, daemon_mode: bool) -> Result<()> {
    match &python.own {
        Some(OwnPython::Venv { root, version }) if !daemon_mode => bail!(
            "--python-home {} is a virtual environment of Python {version}, but the application would run in Apache's processes, on rwsgi's Python {}: leave out --embedded-mode (its daemon processes then run the venv's Python), or use a venv of Python {}",
            root.display(),
            crate::built::PYTHON_VERSION,
            crate::built::PYTHON_VERSION
        ),
        Some(OwnPython::Executable(python)) if !daemon_mode => bail!(
            "--python-executable {}: only daemon processes run another Python than rwsgi's own {}; leave out --embedded-mode (daemon mode needs a Unix system)",
            python.display(),
            crate::built::PYTHON_VERSION
        ),
        _ => Ok(()),
    }
}

fn working_directory(args: &ServerArgs, host: &Host, app: &App) -> Result<PathBuf> {
    // A script's own directory by default: the invoking user's current directory (say,
    // root's home) may be out of reach for Apache's user. A module is imported from here.
    let working_directory = match (&args.working_directory, app) {
        (Some(d), _) => absolute(&host.cwd, d),
        (None, App::Script(script)) => script
            .parent()
            .map_or_else(|| host.cwd.clone(), Path::to_owned),
        (None, _) => host.cwd.clone(),
    };
    if !working_directory.is_dir() {
        bail!(
            "--working-directory {} is not a directory",
            working_directory.display()
        );
    }
    Ok(working_directory)
}

/// The working directory, the script's directory and `--python-path`, each once.
fn python_path(
    args: &ServerArgs,
    host: &Host,
    app: &App,
    working_directory: &Path,
) -> Result<Vec<PathBuf>> {
    let mut python_path = vec![working_directory.to_owned()];
    if let App::Script(script) = app {
        python_path.extend(script.parent().map(Path::to_owned));
    }
    for p in &args.python_path {
        python_path.push(existing_dir("--python-path", &host.cwd, p)?);
    }
    let mut seen = std::collections::HashSet::new();
    python_path.retain(|p| seen.insert(p.clone()));
    let separator = path_list_separator(host.os);
    if let Some(p) = python_path
        .iter()
        .find(|p| p.to_string_lossy().contains(separator))
    {
        bail!(
            "{} contains '{separator}', which separates sys.path entries in WSGIPythonPath; rename it",
            p.display()
        );
    }
    Ok(python_path)
}

/// The group names the interpreter, and is one word of httpd.conf.
fn check_application_group(application_group: &str) -> Result<()> {
    if application_group.is_empty()
        || application_group
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        bail!(
            "--application-group {application_group:?}: name a group without spaces, quotes \
             or backslashes, or use %{{GLOBAL}} (the default)"
        );
    }
    Ok(())
}

fn python_home(args: &ServerArgs, host: &Host) -> Result<Option<PathBuf>> {
    Ok(match &args.python_home {
        Some(h) => Some(existing_dir("--python-home", &host.cwd, h)?),
        // Windows: always, as mod_wsgi-express does; Python would otherwise look for its
        // home next to httpd.exe.
        None => host
            .virtual_env
            .clone()
            .or_else(|| (host.os == Os::Windows).then(|| host.python.home.clone())),
    })
}

/// Windows: `python3XX.dll` of the Python home, which Apache loads before the module.
fn python_dll(host: &Host, python_home: Option<&Path>) -> Result<Option<PathBuf>> {
    match host.os {
        Os::Unix => Ok(None),
        Os::Windows => {
            let home = python_home.unwrap_or(&host.python.home);
            let dll = platform::python_dll_for(home).or_else(|| host.python.dll.clone());
            let dll = dll.ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot find python{}.dll for the Python home {}: name a python.org Python {} (or a venv made from one) with --python-home",
                    crate::built::PYTHON_VERSION.replace('.', ""),
                    home.display(),
                    crate::built::PYTHON_VERSION
                )
            })?;
            Ok(Some(dll))
        }
    }
}
