//! Can Apache's unprivileged user read what Python needs? Checked up front, so an
//! unreadable Python home is one clear line at `apache2 -t` or start-up instead of a
//! child that fails obscurely. On Unix that is a question of uids and permission bits.
//! On Windows, Apache's child runs as the account that started the service and there are
//! no such bits to read: the checks pass, and Python's own error says what it could not
//! open.

#[cfg(windows)]
use std::path::Path;
use std::path::PathBuf;

/// Why a Python home cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Apache's `User`, which the children start Python as, cannot reach `dir`.
    #[cfg(unix)]
    #[error(
        "{} is not readable by the Apache user {user} (uid {uid}): {blocked}; make it readable (e.g. chmod o+rx on that directory) or use a Python installed outside private directories such as /root",
        dir.display()
    )]
    NotReadableByApacheUser {
        dir: PathBuf,
        user: String,
        uid: u32,
        /// The first component in the way, and why.
        blocked: String,
    },
    /// This process (a child, after dropping privileges) cannot reach `path`.
    #[cfg(unix)]
    #[error("{} is not accessible ({source}) to uid {uid}", path.display())]
    Inaccessible {
        path: PathBuf,
        uid: u32,
        source: std::io::Error,
    },
    /// Windows: this process cannot list `path`.
    #[cfg(windows)]
    #[error("{} cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    use super::AccessError;
    use crate::apache::Server;
    use rwsgi_runtime::os;

    /// In the parent, which runs as root: is `home` (and, for a virtual environment, the
    /// Python it was made from) readable by Apache's `User`, which the children start
    /// Python as?
    pub fn home_readable_by_apache_user(home: &Path) -> Result<(), AccessError> {
        let (uid, gid, user) = Server::unixd_user();
        if !os::is_root() || uid == 0 {
            return Ok(());
        }
        let groups = os::groups_of(&user, gid);
        // A virtual environment holds no standard library: the Python it was made from does.
        let base = std::fs::read_to_string(home.join("pyvenv.cfg"))
            .ok()
            .and_then(|cfg| rwsgi_core::venv::venv_base(&cfg))
            .and_then(|bin| bin.parent().map(Path::to_owned));
        for dir in std::iter::once(home.to_owned()).chain(base) {
            traversable_by(&dir, uid, &groups).map_err(|blocked| {
                AccessError::NotReadableByApacheUser {
                    dir: dir.clone(),
                    user: user.clone(),
                    uid,
                    blocked,
                }
            })?;
        }
        Ok(())
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
    pub fn home_readable(home: &Path) -> Result<(), AccessError> {
        use nix::unistd::{AccessFlags, access, getuid};
        let mut probe = PathBuf::new();
        for part in home.components() {
            probe.push(part);
            if let Err(e) = access(&probe, AccessFlags::X_OK) {
                return Err(AccessError::Inaccessible {
                    path: probe,
                    uid: getuid().as_raw(),
                    source: e.into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
pub use unix::{home_readable, home_readable_by_apache_user};

/// On Windows: nothing to check up front (see the module documentation).
#[cfg(windows)]
pub fn home_readable_by_apache_user(_home: &Path) -> Result<(), AccessError> {
    Ok(())
}

/// On Windows: the home must at least be a directory this process can list.
#[cfg(windows)]
pub fn home_readable(home: &Path) -> Result<(), AccessError> {
    std::fs::read_dir(home)
        .map(drop)
        .map_err(|source| AccessError::Unreadable {
            path: home.to_owned(),
            source,
        })
}
