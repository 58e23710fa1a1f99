//! Virtual environments named by `WSGIPythonHome`.

use std::path::{Path, PathBuf};

/// The venv's interpreter, through which Python finds the venv (`pyvenv.cfg` next to it or
/// one level up): `bin/python3` (else `bin/python`) on Unix, `Scripts\python.exe` on
/// Windows.
pub fn venv_python(root: &Path) -> PathBuf {
    if cfg!(windows) {
        return root.join("Scripts").join("python.exe");
    }
    let python = root.join("bin").join("python3");
    if python.exists() {
        python
    } else {
        root.join("bin").join("python")
    }
}

/// The directory of the Python a venv was made from (`home = …` in `pyvenv.cfg`).
pub fn venv_base(cfg: &str) -> Option<PathBuf> {
    cfg.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "home").then(|| PathBuf::from(value.trim()))
    })
}

/// The `X.Y` Python version a `pyvenv.cfg` declares, `X.Yt` when the venv was made by a
/// free-threaded Python (its `executable` is `pythonX.Yt`; Python 3.11 and later write it).
pub fn venv_version(cfg: &str) -> Option<String> {
    let value = |wanted: &[&str]| {
        cfg.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            wanted
                .contains(&key.trim())
                .then(|| value.trim().to_owned())
        })
    };
    let version = value(&["version", "version_info"])?;
    let mut parts = version.split('.');
    let x_y = format!("{}.{}", parts.next()?, parts.next()?);
    let executable = value(&["executable"]).unwrap_or_default();
    let name = executable.rsplit(['/', '\\']).next().unwrap_or("");
    let name = name.strip_suffix(".exe").unwrap_or(name);
    if name == format!("python{x_y}t") {
        return Some(x_y + "t");
    }
    Some(x_y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_venv_versions() {
        assert_eq!(
            venv_version("home = /usr/bin\nversion = 3.11.2\n").as_deref(),
            Some("3.11")
        );
        assert_eq!(
            venv_version("version_info = 3.12.1.final.0").as_deref(),
            Some("3.12")
        );
        assert_eq!(venv_version("home = /usr/bin"), None);
        assert_eq!(
            venv_version("version = 3.13.15\nexecutable = /opt/py/bin/python3.13t\n").as_deref(),
            Some("3.13t")
        );
        assert_eq!(
            venv_version("version = 3.13.15\nexecutable = /usr/bin/python3.13\n").as_deref(),
            Some("3.13")
        );
    }

    #[test]
    fn reads_venv_bases() {
        assert_eq!(
            venv_base("home = C:\\Python311\nversion = 3.11.9\n"),
            Some(PathBuf::from("C:\\Python311"))
        );
        assert_eq!(venv_base("version = 3.11.2"), None);
    }
}
