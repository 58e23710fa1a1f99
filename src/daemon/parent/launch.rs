//! Which Python a group's daemons run: forked on the module's own, or exec'd into the
//! group's (`python-executable=`, or a `python-home=` venv of another Python; `launch=`
//! decides, docs/daemon.md "Launch styles"). An exec'd group's Python is tried once at
//! configuration time, as the daemons' user: it must run and import rwsgi's daemon
//! runtime of this very release, so `apache2 -t` fails instead of a daemon crash-looping.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::DaemonOptions;
use crate::linked::LINKED_VERSION;
use crate::python::interpreter::PythonHome;
use rwsgi_core::daemon_options::{Account, Launch};
use rwsgi_core::daemon_spec::RWSGI_VERSION;
use rwsgi_runtime::daemon::accounts::{AccountError, resolve_group, resolve_user};
use rwsgi_runtime::os;

/// Why a group's Python cannot be used: `apache2 -t` fails with it.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A venv of another Python with daemons forked on this module's.
    #[error(
        "WSGIDaemonProcess {group}: python-home={home} is a virtual environment for Python {version}, but launch=fork runs the daemons on this mod_rwsgi.so's Python {LINKED_VERSION}; remove launch=fork (its daemons are then exec'd into the venv's Python, which needs `pip install rwsgi=={RWSGI_VERSION}` there), or recreate the venv with python{LINKED_VERSION}"
    )]
    VenvForAnotherPython {
        group: String,
        home: String,
        version: String,
    },
    #[error(
        "WSGIDaemonProcess {group}: python-executable= needs launch=exec or auto (a forked daemon runs this module's Python {LINKED_VERSION})"
    )]
    ForkWithExecutable { group: String },
    #[error(
        "WSGIDaemonProcess {group}: launch=exec needs the Python to exec: add python-executable=/path/to/python (or python-home= of a virtual environment)"
    )]
    ExecWithoutPython { group: String },
    #[error("WSGIDaemonProcess {group}: python-executable={path} must be an absolute path")]
    RelativeExecutable { group: String, path: String },
    #[error("RW0224: WSGIDaemonProcess {group}: {source}")]
    Account { group: String, source: AccountError },
    /// The probe of the group's Python failed; `problem` says how and what to do.
    #[error("RW0224: WSGIDaemonProcess {group}: {problem}")]
    Unusable { group: String, problem: String },
    /// `WSGIFreeThreading On` reaches a group whose Python has a GIL.
    #[error(
        "WSGIFreeThreading On applies to daemon group {group}, but its Python ({python}) is built with a GIL; name a free-threaded Python for it (python-executable=/path/to/python3.13t), or turn it off for the group: <WSGIInterpreterOptions process-group={group}> WSGIFreeThreading Off </WSGIInterpreterOptions>"
    )]
    NotFreeThreaded { group: String, python: String },
}

/// What the probe learnt of a group's Python.
pub struct Probed {
    /// Built without a GIL (`Py_GIL_DISABLED`, the `t` builds).
    pub free_threaded: bool,
}

/// The interpreter the group's daemons are exec'd into, or `None` when they are forked.
pub fn exec_python(o: &DaemonOptions) -> Result<Option<PathBuf>, LaunchError> {
    let group = || o.name.clone();
    if let Some(path) = &o.python_executable {
        if !Path::new(path).is_absolute() {
            return Err(LaunchError::RelativeExecutable {
                group: group(),
                path: path.clone(),
            });
        }
    }
    let home = o.python_home.as_deref().map(|h| (h, PythonHome::detect(h)));
    let venv_version = match &home {
        Some((_, PythonHome::Venv { version, .. })) => version.clone(),
        _ => None,
    };
    let home_python = home.map(|(_, home)| match home {
        PythonHome::Venv { root, .. } => rwsgi_core::venv::venv_python(&root),
        PythonHome::Prefix(prefix) => prefix.join("bin").join("python3"),
    });
    let named = o.python_executable.as_ref().map(PathBuf::from);
    let other_version = venv_version.as_ref().filter(|v| *v != LINKED_VERSION);
    match o.launch {
        Launch::Fork => {
            if named.is_some() {
                return Err(LaunchError::ForkWithExecutable { group: group() });
            }
            if let (Some(version), Some(home)) = (other_version, &o.python_home) {
                return Err(LaunchError::VenvForAnotherPython {
                    group: group(),
                    home: home.clone(),
                    version: version.clone(),
                });
            }
            Ok(None)
        }
        Launch::Auto if named.is_none() && other_version.is_none() => Ok(None),
        Launch::Auto | Launch::Exec => named
            .or(home_python)
            .map(Some)
            .ok_or_else(|| LaunchError::ExecWithoutPython { group: group() }),
    }
}

/// Runs the group's Python once as the daemons' user and group (`apache_user` without
/// `user=`, when Apache starts as root) and checks it imports this release's daemon
/// runtime, with the supplementary groups the daemons get (`initgroups`, or
/// `supplementary-groups=`).
pub fn probe(
    o: &DaemonOptions,
    python: &Path,
    apache_user: &(u32, u32, String),
    as_root: bool,
) -> Result<Probed, LaunchError> {
    let unusable = |problem: String| LaunchError::Unusable {
        group: o.name.clone(),
        problem,
    };
    let mut command = Command::new(python);
    command
        .args(["-P", "-c", PROBE])
        .stdin(std::process::Stdio::null());
    let mut who = "this user".to_owned();
    if as_root {
        let account = |source| LaunchError::Account {
            group: o.name.clone(),
            source,
        };
        // The daemon's own account, as it takes it (runtime/src/daemon/setup.rs `prepare`).
        let (uid, user_gid, name) = match &o.user {
            Some(a) => resolve_user(a).map_err(account)?,
            None => apache_user.clone(),
        };
        let gid = match &o.group {
            Some(g) => resolve_group(g).map_err(account)?,
            None => user_gid,
        };
        let groups = if o.supplementary_groups.is_empty() {
            os::groups_of(&name, gid)
        } else {
            let names = o.supplementary_groups.iter().cloned().map(Account::Name);
            names
                .map(|g| resolve_group(&g))
                .collect::<Result<_, _>>()
                .map_err(account)?
        };
        who = name;
        os::run_as(&mut command, uid, gid, groups);
    }
    let output = command.output().map_err(|e| {
        unusable(format!(
            "cannot execute python {} as {who}: {e}; name an interpreter the daemons' user can run with python-executable=",
            python.display()
        ))
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pip = format!("{} -m pip install rwsgi=={RWSGI_VERSION}", python.display());
    let line = stdout.lines().last().unwrap_or("");
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        ["rwsgi-ok", version, found, free_threaded] if *found == RWSGI_VERSION => {
            tracing::debug!(
                "RW0224: group '{}' runs Python {version} ({})",
                o.name,
                python.display()
            );
            Ok(Probed {
                free_threaded: *free_threaded == "1",
            })
        }
        ["rwsgi-ok", version, found, ..] => Err(unusable(format!(
            "{} (Python {version}) has rwsgi {found}'s daemon runtime, but this mod_rwsgi.so is rwsgi {RWSGI_VERSION}; install the same release there: {pip}",
            python.display()
        ))),
        ["rwsgi-missing", version, ..] => Err(unusable(format!(
            "{} (Python {version}) cannot import rwsgi's daemon runtime ({}); install it into that Python: {pip}",
            python.display(),
            words[2..].join(" ")
        ))),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr.lines().next().unwrap_or("no output");
            Err(unusable(format!(
                "{} did not run as {who} ({}: {why}); name an interpreter the daemons' user can run with python-executable=",
                python.display(),
                output.status
            )))
        }
    }
}

/// What the probe runs: the import the daemon's command line makes
/// (`rwsgi_runtime::daemon::exec::ENTRY`), reported on one line.
const PROBE: &str = "import sys, sysconfig
v = sys.version.split()[0]
try:
    import rwsgi._daemon as d
except Exception as e:
    print('rwsgi-missing', v, type(e).__name__ + ':', e)
else:
    print('rwsgi-ok', v, d.__version__, int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))";
