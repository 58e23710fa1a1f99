//! Can Apache's unprivileged user read what Python needs? Checked up front, so an
//! unreadable Python home is one clear line at `apache2 -t` or start-up instead of a
//! child that fails obscurely. On Unix that is a question of uids and permission bits.
//! On Windows, Apache's child runs as the account that started the service and there are
//! no such bits to read: the checks pass, and Python's own error says what it could not
//! open.

#[cfg(windows)]
use std::path::Path;

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    use crate::apache::{Server, os};

    /// In the parent, which runs as root: is `home` readable by Apache's `User`, which
    /// the children start Python as?
    pub fn home_readable_by_apache_user(home: &Path) -> Result<(), String> {
        let (uid, gid, user) = Server::unixd_user();
        if !os::is_root() || uid == 0 {
            return Ok(());
        }
        traversable_by(home, uid, &os::groups_of(&user, gid)).map_err(|blocked| {
            format!(
                "{} is not readable by the Apache user {user} (uid {uid}): {blocked}; make it readable (e.g. chmod o+rx on that directory) or use a Python installed outside private directories such as /root",
                home.display()
            )
        })
    }

    /// Can `uid` (with `gids`) reach and read `path`? Returns the first component that stops it.
    fn traversable_by(path: &Path, uid: u32, gids: &[u32]) -> Result<(), String> {
        let mut probe = PathBuf::new();
        let components: Vec<_> = path.components().collect();
        for (i, part) in components.iter().enumerate() {
            probe.push(part);
            let meta =
                std::fs::metadata(&probe).map_err(|e| format!("{}: {e}", probe.display()))?;
            let need = if i + 1 == components.len() { 0o5 } else { 0o1 };
            let mode = meta.mode();
            let bits = if meta.uid() == uid {
                (mode >> 6) & 0o7
            } else if gids.contains(&meta.gid()) {
                (mode >> 3) & 0o7
            } else {
                mode & 0o7
            };
            if bits & need != need {
                return Err(format!(
                    "{} has mode {:o} (owner uid {})",
                    probe.display(),
                    mode & 0o7777,
                    meta.uid()
                ));
            }
        }
        Ok(())
    }

    /// Checks, as the current user, that a Python home can be used; names the first path that
    /// cannot be read. Run before starting Python so an unreadable home is a clear log line,
    /// never a crash loop.
    pub fn home_readable(home: &Path) -> Result<(), String> {
        use nix::unistd::{AccessFlags, access, getuid};
        let mut probe = PathBuf::new();
        for part in home.components() {
            probe.push(part);
            if let Err(e) = access(&probe, AccessFlags::X_OK) {
                return Err(format!(
                    "{} is not accessible ({}) to uid {}",
                    probe.display(),
                    std::io::Error::from(e),
                    getuid()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
pub use unix::{home_readable, home_readable_by_apache_user};

/// On Windows: nothing to check up front (see the module documentation).
#[cfg(windows)]
pub fn home_readable_by_apache_user(_home: &Path) -> Result<(), String> {
    Ok(())
}

/// On Windows: the home must at least be a directory this process can list.
#[cfg(windows)]
pub fn home_readable(home: &Path) -> Result<(), String> {
    std::fs::read_dir(home)
        .map(drop)
        .map_err(|e| format!("{} cannot be read: {e}", home.display()))
}
