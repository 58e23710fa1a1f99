//! Facts about this machine that the configuration depends on: where Apache and its modules
//! are, where mod_rwsgi.so is, who we are, which Python the module links.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::platform::{self, Os, Python};

use crate::built::PYTHON_VERSION;

#[derive(Clone, Debug)]
pub struct Host {
    pub os: Os,
    pub cwd: PathBuf,
    pub uid: u32,
    /// Who we are in names (the server root's, the daemons'): the uid on Unix, the user
    /// name on Windows.
    pub user: String,
    /// The Python the module runs, unless a venv or `--python-home` says otherwise.
    pub python: Python,
    pub httpd: PathBuf,
    pub modules_dir: PathBuf,
    pub module: PathBuf,
    /// An activated virtual environment (`VIRTUAL_ENV`), used as WSGIPythonHome.
    pub virtual_env: Option<PathBuf>,
    /// Logs default to the terminal: stdout is one, or we are PID 1 (a container).
    pub terminal: bool,
    pub mime_types: Option<PathBuf>,
    pub temp_dir: PathBuf,
}

impl Host {
    pub fn is_root(&self) -> bool {
        self.os == Os::Unix && self.uid == 0
    }

    pub fn detect(
        httpd_executable: Option<&Path>,
        modules_directory: Option<&Path>,
    ) -> Result<Host> {
        let httpd = match httpd_executable {
            Some(p) => p.to_owned(),
            None => find_httpd()?,
        };
        if !httpd.is_file() {
            bail!(
                "Apache's executable {} does not exist; install Apache (Debian: apt-get install apache2) or name it with --httpd-executable",
                httpd.display()
            );
        }
        let modules_dir = match modules_directory {
            Some(p) => p.to_owned(),
            None => find_modules_dir(&httpd)?,
        };
        let (uid, user) = platform::user();
        Ok(Host {
            os: platform::OS,
            cwd: std::env::current_dir().context("cannot read the current directory")?,
            uid,
            user,
            python: platform::default_python()?,
            modules_dir,
            module: module_location()?,
            virtual_env: active_virtual_env(),
            terminal: std::io::stdout().is_terminal() || std::process::id() == 1,
            mime_types: find_mime_types(&httpd),
            httpd,
            temp_dir: std::env::temp_dir(),
        })
    }
}

/// The directory this executable is in.
fn exe_dir() -> Option<PathBuf> {
    let exe = dunce::canonicalize(std::env::current_exe().ok()?).ok()?;
    exe.parent().map(Path::to_owned)
}

/// The virtual environment rwsgi-express is installed in (`pip install rwsgi`), if it is.
pub fn installed_venv() -> Option<PathBuf> {
    let venv = exe_dir()?.parent()?.to_owned();
    venv.join("pyvenv.cfg").is_file().then_some(venv)
}

/// The virtual environment the application runs in: the one rwsgi-express is installed in
/// (its module is built for that environment's Python, as mod_wsgi-express uses the
/// Python that runs it), else `$VIRTUAL_ENV`, else the virtual environment whose Python
/// comes first on PATH (a container that puts /venv/bin on PATH without activating it).
pub fn active_virtual_env() -> Option<PathBuf> {
    if let Some(v) = installed_venv() {
        return Some(v);
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from) {
        return Some(v).filter(|p| p.is_dir());
    }
    let path = std::env::var_os("PATH")?;
    let bin = std::env::split_paths(&path).find(|d| d.join(platform::PYTHON_EXE).is_file())?;
    let venv = bin.parent()?;
    venv.join("pyvenv.cfg").is_file().then(|| venv.to_owned())
}

/// The module a wheel installed into `venv`'s `rwsgi` package
/// (`mod_rwsgi.cpython-3XX-….so`).
fn wheel_module(venv: &Path) -> Option<PathBuf> {
    let package = platform::site_packages(venv, PYTHON_VERSION).join("rwsgi");
    let mut found: Vec<PathBuf> = std::fs::read_dir(package)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("mod_rwsgi"))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// /etc/mime.types, else the one of a source-built Apache (`<prefix>/conf/mime.types`).
fn find_mime_types(httpd: &Path) -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/etc/mime.types")];
    if let Some(prefix) = httpd.parent().and_then(Path::parent) {
        candidates.push(prefix.join("conf/mime.types"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn apxs(query: &str) -> Option<PathBuf> {
    let apxs = std::env::var_os("APXS").unwrap_or_else(|| "apxs".into());
    let out = Command::new(apxs).args(["-q", query]).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| PathBuf::from(text))
}

/// `$HTTPD`, then apxs, then the usual Debian/RHEL/source-build locations.
pub fn find_httpd() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("HTTPD") {
        return Ok(PathBuf::from(p));
    }
    if let (Some(sbin), Some(target)) = (apxs("SBINDIR"), apxs("TARGET")) {
        let p = sbin.join(target);
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(p) = platform::httpd_candidates()
        .into_iter()
        .find(|p| p.is_file())
    {
        return Ok(p);
    }
    bail!(
        "cannot find Apache httpd: install it (Debian/Ubuntu: apt-get install apache2; RHEL: dnf install httpd; Windows: Apache Lounge's httpd-2.4 in C:\\Apache24) or name it with --httpd-executable"
    )
}

/// apxs's LIBEXECDIR, else the modules directory that goes with Apache's executable.
pub fn find_modules_dir(httpd: &Path) -> Result<PathBuf> {
    if let Some(p) = apxs("LIBEXECDIR").filter(|p| p.join("mod_authz_core.so").is_file()) {
        return Ok(p);
    }
    httpd
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("modules"))
        .into_iter()
        .chain(platform::SYSTEM_MODULE_DIRS.iter().map(PathBuf::from))
        .find(|p| p.join("mod_authz_core.so").is_file())
        .with_context(|| {
            format!(
                "cannot find the modules directory of {}: name it with --modules-directory",
                httpd.display()
            )
        })
}

/// `RWSGI_MODULE`, else the module of the wheel rwsgi-express came with (`pip install`),
/// else mod_rwsgi.so next to this executable (an install, or cargo's target directory where
/// it is `libmod_rwsgi.so`), else in Apache's modules directory.
pub fn module_location() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("RWSGI_MODULE") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("RWSGI_MODULE names {}, which does not exist", p.display());
        }
        return Ok(p);
    }
    let mut candidates: Vec<PathBuf> = installed_venv()
        .and_then(|v| wheel_module(&v))
        .into_iter()
        .collect();
    if let Some(dir) = exe_dir() {
        candidates.extend(platform::module_candidates(&dir));
    }
    if let Ok(dir) = find_httpd().and_then(|h| find_modules_dir(&h)) {
        candidates.push(dir.join(platform::MODULE_FILE));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .and_then(|p| dunce::canonicalize(p).ok())
        .with_context(|| {
            format!(
                "cannot find {}: build it (./scripts/build.sh), install it (rwsgi-express install-module), or name it with RWSGI_MODULE",
                platform::MODULE_FILE
            )
        })
}
