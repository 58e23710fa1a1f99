//! The accounts `WSGIDaemonProcess` names (`user=`, `group=`, `socket-user=`,
//! `script-user=`, …), looked up in the system's databases: by the Apache parent when it
//! sets up a generation, and by a daemon process as it drops privileges.

use nix::unistd::{Uid, User};
use rwsgi_core::daemon_options::Account;

/// Why an account cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no such user {0:?}")]
    NoUser(Account),
    #[error("no such group '{0}'")]
    NoGroup(String),
    /// The lookup itself failed (NSS, an unreadable database).
    #[error("{0}")]
    Lookup(#[from] nix::Error),
}

/// Resolves `user=` / `socket-user=` to (uid, primary gid, name).
pub fn resolve_user(a: &Account) -> Result<(u32, u32, String), AccountError> {
    let user = match a {
        Account::Name(n) => User::from_name(n),
        Account::Id(id) => User::from_uid(Uid::from_raw(*id)),
    }?
    .ok_or_else(|| AccountError::NoUser(a.clone()))?;
    Ok((user.uid.as_raw(), user.gid.as_raw(), user.name))
}

/// Resolves `group=` (or one of `supplementary-groups=`) to a gid.
pub fn resolve_group(a: &Account) -> Result<u32, AccountError> {
    match a {
        Account::Id(id) => Ok(*id),
        Account::Name(n) => nix::unistd::Group::from_name(n)?
            .map(|g| g.gid.as_raw())
            .ok_or_else(|| AccountError::NoGroup(n.clone())),
    }
}
