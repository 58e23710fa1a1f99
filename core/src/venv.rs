//! Virtual environments named by `WSGIPythonHome`.

/// The `X.Y` Python version a `pyvenv.cfg` declares.
pub fn venv_version(cfg: &str) -> Option<String> {
    cfg.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        let key = key.trim();
        if key != "version" && key != "version_info" {
            return None;
        }
        let mut parts = value.trim().split('.');
        Some(format!("{}.{}", parts.next()?, parts.next()?))
    })
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
    }
}
