//! rwsgi-express on Windows: Apache for Windows (Apache Lounge or any MSVC-built 2.4 x64)
//! and python.org's Python, found where their installers put them; Apache in the
//! foreground until Ctrl-C.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};

use super::{Accounts, Exit, Foreground, Python};

/// The module's file name where it is installed.
pub const MODULE_FILE: &str = "mod_rwsgi.dll";

/// A virtual environment's Python.
pub const PYTHON_EXE: &str = "python.exe";

/// None: an Apache for Windows keeps its modules in its own tree (`C:\Apache24\modules`).
/// (A Unix path here would name a directory on the current drive.)
pub const SYSTEM_MODULE_DIRS: &[&str] = &[];

/// A virtual environment's site-packages (one per venv on Windows).
pub fn site_packages(venv: &Path, _version: &str) -> PathBuf {
    venv.join("Lib").join("site-packages")
}

/// Who runs rwsgi-express: no uid on Windows, the user name tags the server root.
pub fn user() -> (u32, String) {
    let name = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
    (0, name)
}

/// The Python executable of a Python home (python.org's layout, the embeddable
/// distribution) or virtual environment.
pub fn python_executable(home: &Path) -> Option<PathBuf> {
    [home.join("python.exe"), home.join("Scripts\\python.exe")]
        .into_iter()
        .find(|p| p.is_file())
}

/// One account runs everything on Windows: `program` as it is.
pub fn command_as(
    program: &Path,
    _account: Option<(&str, u32, u32)>,
) -> Result<std::process::Command> {
    Ok(std::process::Command::new(program))
}

/// `__run-as` has nothing to do on Windows (rwsgi-express never re-executes itself there).
pub fn exec_as(_user: &str, _uid: u32, _gid: u32, _command: &[std::ffi::OsString]) -> Result<()> {
    bail!("__run-as is for Unix")
}

/// `python3XX.dll` of the Python version the module was built for.
pub fn python_dll_name() -> String {
    format!(
        "python{}.dll",
        crate::built::PYTHON_VERSION.replace('.', "")
    )
}

/// The directory holding `python3XX.dll`: a python.org install (or the embeddable
/// distribution) on PATH, else where python.org's installer puts it.
pub fn default_python() -> Result<Python> {
    let dll = python_dll_name();
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let short = crate::built::PYTHON_VERSION.replace('.', "");
    if let Some(local) = std::env::var_os("LOCALAPPDATA") {
        candidates.push(PathBuf::from(local).join(format!("Programs\\Python\\Python{short}")));
    }
    for root in ["C:\\Program Files", "C:\\"] {
        candidates.push(Path::new(root).join(format!("Python{short}")));
    }
    match candidates.into_iter().find(|d| d.join(&dll).is_file()) {
        Some(home) => Ok(Python {
            dll: Some(home.join(&dll)),
            home,
        }),
        None => bail!(
            "cannot find Python {} ({dll}): install python.org's Python {} for Windows (64-bit), put its directory on PATH, or name it with --python-home",
            crate::built::PYTHON_VERSION,
            crate::built::PYTHON_VERSION
        ),
    }
}

/// `python3XX.dll` for a Python home: in it (an install), or in the Python a virtual
/// environment was made from (`home =` in its `pyvenv.cfg`).
pub fn python_dll_for(home: &Path) -> Option<PathBuf> {
    let dll = python_dll_name();
    if home.join(&dll).is_file() {
        return Some(home.join(dll));
    }
    let cfg = std::fs::read_to_string(home.join("pyvenv.cfg")).ok()?;
    let base = rwsgi_core::venv::venv_base(&cfg)?;
    Some(base.join(dll)).filter(|p| p.is_file())
}

/// Where Apache's executable usually is: Apache Lounge's default, then PATH.
pub fn httpd_candidates() -> Vec<PathBuf> {
    let mut out = vec![
        PathBuf::from("C:\\Apache24\\bin\\httpd.exe"),
        PathBuf::from("C:\\Program Files\\Apache24\\bin\\httpd.exe"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        out.extend(std::env::split_paths(&path).map(|d| d.join("httpd.exe")));
    }
    out
}

/// Where the module may be, relative to rwsgi-express's own directory (the zip unpacked).
pub fn module_candidates(exe_dir: &Path) -> Vec<PathBuf> {
    vec![exe_dir.join(MODULE_FILE)]
}

/// No user switching on Windows: Apache runs as the account that starts it.
pub struct SystemAccounts;

impl Accounts for SystemAccounts {
    fn user(&self, _name: &str) -> Option<(u32, u32, String)> {
        None
    }
    fn group(&self, _name: &str) -> Option<(u32, String)> {
        None
    }
    fn group_name(&self, _gid: u32) -> Option<String> {
        None
    }
}

/// Creates the server root (or re-uses it). It lives in the user's own temporary
/// directory, which other users cannot write.
pub fn prepare_server_root(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("cannot create the server root {}", root.display()))?;
    if !root.is_dir() {
        bail!(
            "the server root {} is not a directory; remove it or choose another with --server-root",
            root.display()
        );
    }
    Ok(())
}

pub fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir(path).with_context(|| format!("cannot create {}", path.display()))
}

pub fn write_file(path: &Path, contents: &str, _executable: bool) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// Whether an Apache still runs from this server root is not checked on Windows.
pub fn running_apache(_pid_file: &Path, _conf: &Path) -> Option<i32> {
    None
}

/// Files are readable by the account that installs them, which Apache runs as.
pub fn make_readable(_path: &Path) -> Result<()> {
    Ok(())
}

/// Runs Apache in the foreground (`-DONE_PROCESS`: the mpm_winnt parent serves itself)
/// until it exits. Ctrl-C reaches Apache through the console, and Apache shuts down; this
/// process only notes it and waits.
pub fn run_apache(apache: Foreground) -> Result<Exit> {
    let mut command = apache.command;
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        ctrlc::set_handler(move || stopping.store(true, Ordering::SeqCst))
            .context("cannot install a Ctrl-C handler")?;
    }
    let program = PathBuf::from(command.get_program());
    let mut child = command
        .arg("-DONE_PROCESS")
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let status = child.wait().context("waiting for Apache")?;
    let code = status.code().unwrap_or(1);
    let stopped = stopping.load(Ordering::SeqCst);
    Ok(Exit {
        code: if stopped { 0 } else { code },
        stopped,
        how: format!("exit status {code}"),
    })
}
