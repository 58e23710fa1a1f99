//! A daemon process before it serves: limits, privileges and environment, then what it
//! must read, checked as its own user, then Python and the group's preloaded scripts.

use std::path::{Path, PathBuf};

use nix::unistd::{AccessFlags, Gid, Pid, Uid, User, access};

use super::accounts::{AccountError, resolve_group, resolve_user};
use crate::os;
use crate::python::interpreter::{self, InterpreterError};
use crate::python::metrics::ScoreboardSource;
use crate::python::with_gil;
use crate::wsgi::runner;
use crate::wsgi::{ServerFacts, Setup};
use rwsgi_core::daemon_options::Account;
use rwsgi_core::daemon_spec::DaemonSpec;

/// Why a daemon process cannot start (RW0203); the supervisor backs off.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("setrlimit {resource}: {source}")]
    Limit {
        resource: String,
        source: nix::Error,
    },
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("{call}: {source}")]
    Credentials { call: String, source: nix::Error },
    #[error("its supervisor died while it started")]
    SupervisorGone,
    #[error("user={user} needs Apache to be started as root; remove user= or start Apache as root")]
    NeedsRoot { user: String },
    #[error("cannot enter home={path}: {source}")]
    Home {
        path: String,
        source: std::io::Error,
    },
    /// A path Python or the application needs, and the first part of it the daemon's user
    /// cannot enter or read (mod_wsgi's crash loop on an unreadable virtualenv).
    #[error("cannot {what} {} ({why}); needed for {}, as {who}", probe.display(), needed_for.display())]
    Unreachable {
        what: &'static str,
        probe: PathBuf,
        why: &'static str,
        needed_for: PathBuf,
        who: String,
    },
    #[error("Python could not start: {0}")]
    Python(InterpreterError),
    /// Setting the process up once Python runs (the traceback is logged already).
    #[error("{0}")]
    SetUp(String),
}

/// Limits, privileges, working directory and environment, then readability checks: in
/// the daemon itself when forked, in the forked child before the exec when exec'd.
pub fn prepare(spec: &DaemonSpec, supervisor: Pid) -> Result<(), StartError> {
    use nix::sys::resource::{Resource, setrlimit};
    let o = &spec.options;
    if o.cpu_priority != 0 {
        os::set_priority(o.cpu_priority);
    }
    for (resource, limit) in [
        (Resource::RLIMIT_DATA, o.memory_limit),
        (Resource::RLIMIT_AS, o.virtual_memory_limit),
        (Resource::RLIMIT_CPU, o.cpu_time_limit),
    ] {
        if let Some(l) = limit {
            setrlimit(resource, l, l).map_err(|source| StartError::Limit {
                resource: format!("{resource:?}"),
                source,
            })?;
        }
    }
    let (apache_uid, apache_gid, apache_user) = spec.apache_account.clone();
    let (uid, user_gid, user) = match &o.user {
        Some(a) => resolve_user(a)?,
        None => (apache_uid, apache_gid, apache_user),
    };
    let gid = match &o.group {
        Some(g) => resolve_group(g)?,
        None if o.user.is_some() => user_gid,
        None => apache_gid,
    };
    if os::is_root() {
        let credentials = |call: String| move |source| StartError::Credentials { call, source };
        nix::unistd::setgid(Gid::from_raw(gid)).map_err(credentials(format!("setgid({gid})")))?;
        if o.supplementary_groups.is_empty() {
            // A user name from the password database has no NUL byte.
            let c = std::ffi::CString::new(user.as_str()).unwrap_or_default();
            nix::unistd::initgroups(&c, Gid::from_raw(gid))
                .map_err(credentials(format!("initgroups({user})")))?;
        } else {
            let gids = o
                .supplementary_groups
                .iter()
                .map(|g| resolve_group(&Account::Name(g.clone())).map(Gid::from_raw))
                .collect::<Result<Vec<_>, _>>()?;
            nix::unistd::setgroups(&gids).map_err(credentials("setgroups".to_owned()))?;
        }
        nix::unistd::setuid(Uid::from_raw(uid)).map_err(credentials(format!("setuid({uid})")))?;
        // Changing credentials cleared the parent-death signal: set it again, so the daemon
        // stops with its supervisor, and go now if the supervisor is already gone.
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
        if nix::unistd::getppid() != supervisor {
            return Err(StartError::SupervisorGone);
        }
    } else if o.user.is_some() && uid != nix::unistd::getuid().as_raw() {
        return Err(StartError::NeedsRoot { user });
    }
    if let Some(mask) = o.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    let mut env = Vec::new();
    if let Some(lang) = &o.lang {
        env.push(("LANG", lang.clone()));
    }
    if let Some(locale) = &o.locale {
        env.push(("LC_ALL", locale.clone()));
    }
    if let Some(eggs) = &o.python_eggs {
        env.push(("PYTHON_EGG_CACHE", eggs.clone()));
    }
    let home = o.home.clone().or_else(|| {
        // mod_wsgi: a daemon running as another user than Apache's works in its home.
        (o.user.is_some())
            .then(|| User::from_uid(Uid::from_raw(uid)).ok().flatten())
            .flatten()
            .map(|u| u.dir.to_string_lossy().into_owned())
    });
    if let Some(h) = &home {
        std::env::set_current_dir(h).map_err(|source| StartError::Home {
            path: h.clone(),
            source,
        })?;
    }
    // HOME is the daemon's user's, not that of whoever started Apache (mod_wsgi's rule;
    // the working directory above is another matter).
    if let Ok(Some(account)) = User::from_uid(nix::unistd::getuid()) {
        env.push(("HOME", account.dir.to_string_lossy().into_owned()));
    }
    os::set_env(&env);
    check_readable(spec)
}

/// As the daemon's own user: everything Python and the app need is readable. Names the
/// exact path that is not, instead of Python failing obscurely (mod_wsgi pain point 4).
fn check_readable(spec: &DaemonSpec) -> Result<(), StartError> {
    let o = &spec.options;
    let dirs = o
        .python_home
        .iter()
        .chain(o.home.iter())
        .chain(o.python_path.iter());
    let uid = nix::unistd::getuid();
    let who = User::from_uid(uid).ok().flatten().map_or_else(
        || format!("uid {uid}"),
        |u| format!("{} (uid {uid})", u.name),
    );
    for dir in dirs {
        check_path(Path::new(dir), true, &who)?;
    }
    let preloaded = spec.preload.iter().map(|(script, _)| script);
    for script in spec.scripts.iter().chain(preloaded) {
        let p = Path::new(script);
        // Directory aliases map to scripts inside; the directory itself must be readable.
        check_path(p, p.is_dir(), &who)?;
    }
    Ok(())
}

fn check_path(path: &Path, is_dir: bool, who: &str) -> Result<(), StartError> {
    let mut probe = std::path::PathBuf::new();
    let parts: Vec<_> = path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        probe.push(part);
        let last = i + 1 == parts.len();
        let need = match (last, is_dir) {
            (false, _) => AccessFlags::X_OK,
            (true, true) => AccessFlags::R_OK | AccessFlags::X_OK,
            (true, false) => AccessFlags::R_OK,
        };
        if let Err(e) = access(&probe, need) {
            return Err(StartError::Unreachable {
                what: if last { "read" } else { "enter" },
                probe,
                why: e.desc(),
                needed_for: path.to_path_buf(),
                who: who.to_owned(),
            });
        }
    }
    Ok(())
}

/// Python (unless the interpreter that imported the runtime runs already), then the
/// process's set-up and the group's preloaded scripts.
pub(super) fn start_python(
    spec: &DaemonSpec,
    scoreboard: Option<ScoreboardSource>,
) -> Result<(), StartError> {
    let o = &spec.options;
    let settings = spec.python.clone();
    interpreter::start(&settings, &o.name).map_err(StartError::Python)?;
    // The banner is Apache's as the supervisor forked this process, after every
    // module's post_config.
    let server = ServerFacts {
        max_daemons: o.processes as i32,
        max_threads: o.threads as i32,
        apache_version: spec.apache_version,
        banner: spec.banner.clone(),
    };
    let setup = Setup {
        own_gil: settings.own_gil_in(&o.name),
        settings,
        server,
        process_group: o.name.clone(),
        server_metrics: scoreboard.filter(|_| o.server_metrics),
        multithread: o.threads > 1,
        multiprocess: o.multiprocess,
    };
    with_gil(|py| {
        runner::set_up(
            py,
            "RW0203",
            setup,
            spec.global_used,
            spec.preload
                .iter()
                .map(|(script, group)| runner::Preload { script, group }),
        )
    })
    .map_err(StartError::SetUp)
}
