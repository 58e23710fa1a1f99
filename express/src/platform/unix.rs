//! rwsgi-express on Unix: accounts, a private server root, and Apache in the foreground with
//! signals forwarded.
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use super::{Accounts, Exit, Foreground, Python};

/// The module's file name where it is installed.
pub const MODULE_FILE: &str = "mod_rwsgi.so";

/// A virtual environment's Python.
pub const PYTHON_EXE: &str = "python3";

/// Where distributions keep Apache's modules, when the executable's own tree has none.
pub const SYSTEM_MODULE_DIRS: &[&str] = &[
    "/usr/lib/apache2/modules",
    "/usr/lib64/httpd/modules",
    "/usr/lib/httpd/modules",
];

/// A virtual environment's site-packages for Python `version` (X.Y).
pub fn site_packages(venv: &Path, version: &str) -> PathBuf {
    venv.join("lib")
        .join(format!("python{version}"))
        .join("site-packages")
}

/// Who runs rwsgi-express: (uid, the tag server roots and daemon names carry).
pub fn user() -> (u32, String) {
    let uid = nix::unistd::getuid().as_raw();
    (uid, uid.to_string())
}

/// The Python the module was built against (it links its libpython).
pub fn default_python() -> Result<Python> {
    Ok(Python {
        home: PathBuf::from(crate::built::PYTHON_PREFIX),
        dll: None,
    })
}

/// Apache loads libpython with the module itself (it is linked): no `LoadFile`.
pub fn python_dll_for(_home: &Path) -> Option<PathBuf> {
    None
}

/// Where Apache's executable usually is, after `$HTTPD` and apxs.
pub fn httpd_candidates() -> Vec<PathBuf> {
    [
        "/usr/sbin/apache2",
        "/usr/sbin/httpd",
        "/usr/local/apache2/bin/httpd",
        "/usr/local/sbin/httpd",
    ]
    .map(PathBuf::from)
    .to_vec()
}

/// Where the module may be, relative to rwsgi-express's own directory (an install, or
/// cargo's target directory where it is `libmod_rwsgi.so`).
pub fn module_candidates(exe_dir: &Path) -> Vec<PathBuf> {
    vec![
        exe_dir.join("mod_rwsgi.so"),
        exe_dir.join("libmod_rwsgi.so"),
        exe_dir.join("../lib/rwsgi/mod_rwsgi.so"),
    ]
}

/// The real account database.
pub struct SystemAccounts;

impl Accounts for SystemAccounts {
    fn user(&self, name: &str) -> Option<(u32, u32, String)> {
        use nix::unistd::{Uid, User};
        let user = match name.strip_prefix('#') {
            Some(n) => User::from_uid(Uid::from_raw(n.parse().ok()?)).ok()??,
            None => User::from_name(name).ok()??,
        };
        Some((user.uid.as_raw(), user.gid.as_raw(), user.name))
    }

    fn group(&self, name: &str) -> Option<(u32, String)> {
        use nix::unistd::{Gid, Group};
        let group = match name.strip_prefix('#') {
            Some(n) => Group::from_gid(Gid::from_raw(n.parse().ok()?)).ok()??,
            None => Group::from_name(name).ok()??,
        };
        Some((group.gid.as_raw(), group.name))
    }

    fn group_name(&self, gid: u32) -> Option<String> {
        nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
            .ok()
            .flatten()
            .map(|g| g.name)
    }
}

/// Creates the server root (or re-uses it), private to us: it holds the configuration
/// Apache runs as root with, so nobody else may be able to change it or swap it.
pub fn prepare_server_root(root: &Path) -> Result<()> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "the server root {} {why}; remove it or choose another with --server-root",
            root.display()
        )
    };
    if let Some(parent) = root.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        // Others must not be able to swap the server root under us (/tmp is sticky).
        let m = std::fs::metadata(parent)?;
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            bail!(
                "{} is writable by everyone without the sticky bit: choose a --server-root \
                 elsewhere",
                parent.display()
            );
        }
    }
    // Not recursive: a symlink planted in the meantime makes this fail instead of being
    // followed. Whatever exists is then checked without following links.
    match std::fs::DirBuilder::new().mode(0o755).create(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create the server root {}", root.display()));
        }
    }
    let m = std::fs::symlink_metadata(root)?;
    if !m.is_dir() || m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o022 != 0 {
        return Err(refuse(
            "is not a directory owned by you and writable only by you",
        ));
    }
    // Apache's unprivileged children read the handler from here.
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Creates a directory readable by everyone (Apache's children) inside the server root.
pub fn create_dir(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Writes a file readable by everyone (Apache's children), executable if asked.
pub fn write_file(path: &Path, contents: &str, executable: bool) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// The pid in `pid_file`, when that process is an Apache running the configuration `conf`.
pub fn running_apache(pid_file: &Path, conf: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let conf = conf.as_os_str().as_encoded_bytes();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == conf)
        .then_some(pid)
}

/// Makes an installed file readable by Apache's children.
pub fn make_readable(path: &Path) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// The Python executable of a Python home or virtual environment: what the application
/// check runs (`python3.X` first: a venv's `python3` may be another version's).
pub fn python_executable(home: &Path) -> Option<PathBuf> {
    [
        format!("bin/python{}", crate::built::PYTHON_VERSION),
        "bin/python3".to_owned(),
    ]
    .iter()
    .map(|name| home.join(name))
    .find(|p| p.is_file())
}

/// Becomes `user` (`uid`, `gid`, and the user's supplementary groups, as Apache's children
/// do). Needs root.
pub fn drop_privileges(user: &str, uid: u32, gid: u32) -> Result<()> {
    use nix::unistd::{Gid, Uid};
    let name = std::ffi::CString::new(user)?;
    nix::unistd::initgroups(&name, Gid::from_raw(gid)).context("initgroups")?;
    nix::unistd::setgid(Gid::from_raw(gid)).context("setgid")?;
    nix::unistd::setuid(Uid::from_raw(uid)).context("setuid")?;
    Ok(())
}

/// A command that runs `program` as `account` (name, uid, gid) when given: rwsgi-express
/// re-executes itself as `__run-as`, which drops privileges and then executes the program
/// (arguments added to the command go to the program).
pub fn command_as(program: &Path, account: Option<(&str, u32, u32)>) -> Result<Command> {
    let Some((user, uid, gid)) = account else {
        return Ok(Command::new(program));
    };
    let exe = std::env::current_exe().context("cannot find rwsgi-express itself")?;
    let mut cmd = Command::new(exe);
    cmd.arg("__run-as")
        .args(["--user", user, "--uid", &uid.to_string()])
        .args(["--gid", &gid.to_string(), "--"])
        .arg(program);
    Ok(cmd)
}

/// `__run-as`: becomes the user, then replaces this process with `command`.
pub fn exec_as(user: &str, uid: u32, gid: u32, command: &[std::ffi::OsString]) -> Result<()> {
    let (program, args) = command.split_first().context("no command to run")?;
    drop_privileges(user, uid, gid)?;
    let err = Command::new(program).args(args).exec();
    Err(err).with_context(|| format!("cannot run {}", Path::new(program).display()))
}

/// Runs Apache in the foreground until it stops, forwarding SIGTERM (graceful stop), SIGINT
/// (stop) and SIGHUP (graceful restart), and restarting it gracefully when
/// `--reload-on-changes` sees a Python file change.
pub fn run_apache(apache: Foreground) -> Result<Exit> {
    let Foreground {
        mut command,
        pid_file,
        changed,
    } = apache;
    // Registered before Apache starts, so no signal is lost in between.
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        .context("cannot install signal handlers")?;
    let program = PathBuf::from(command.get_program());
    let child = command
        .arg("-DFOREGROUND")
        // Apache signals its whole process group when it stops: give it its own.
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                let forward = match sig {
                    // SIGTERM (docker stop, systemd, Kubernetes): Apache's graceful stop.
                    // Requests in flight finish, within GracefulShutdownTimeout
                    // (--shutdown-timeout). A second SIGTERM, or Ctrl-C, stops it at once.
                    SIGTERM if !stopping.swap(true, Ordering::SeqCst) => {
                        // Apache ignores SIGWINCH until its handlers are set up.
                        wait_until_started(&pid_file, pid);
                        Signal::SIGWINCH
                    }
                    SIGTERM | SIGINT => {
                        stopping.store(true, Ordering::SeqCst);
                        Signal::SIGTERM
                    }
                    // Apache's graceful restart. SIGUSR1 kills an Apache that has not set up
                    // its handlers yet: wait until it has written its pid file.
                    _ => {
                        wait_until_started(&pid_file, pid);
                        Signal::SIGUSR1
                    }
                };
                let _ = kill(pid, forward);
            }
        });
    }
    if let Some(changed) = changed {
        std::thread::spawn(move || watch(changed, pid));
    }
    let (code, how) = wait_for(pid)?;
    drop(child);
    let stopped = stopping.load(Ordering::SeqCst);
    // A stop requested before Apache installed its handlers ends it by the signal itself.
    let code = if stopped && code == 128 + Signal::SIGTERM as i32 {
        0
    } else {
        code
    };
    Ok(Exit { code, stopped, how })
}

/// Waits (up to 30 s) until Apache has written `pid` into its pid file, which it does
/// after installing its signal handlers.
fn wait_until_started(pid_file: &Path, pid: Pid) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let written = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if written == Some(pid.as_raw()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for Apache, reaping any other child on the way: as PID 1 in a container, orphans
/// (say, Apache's children after Apache itself was killed) are re-parented to us.
fn wait_for(apache: Pid) -> Result<(i32, String)> {
    use nix::sys::wait::{WaitStatus, waitpid};
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == apache => {
                return Ok((code, format!("exit status {code}")));
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == apache => {
                return Ok((128 + signal as i32, format!("killed by {signal}")));
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("waiting for Apache"),
        }
    }
}

/// Polls once a second; a changed, added or removed file restarts Apache gracefully.
fn watch(mut changed: Box<dyn FnMut() -> Option<PathBuf> + Send>, pid: Pid) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if let Some(path) = changed() {
            eprintln!(
                "rwsgi-express: {} changed; restarting Apache gracefully",
                path.display()
            );
            if kill(pid, Signal::SIGUSR1).is_err() {
                return;
            }
        }
    }
}
