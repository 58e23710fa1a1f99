//! Process identity queries (libc), for checking what Apache's unprivileged user can read.

use std::ffi::CString;

/// Is this process running as root (the Apache parent usually is)?
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The groups `user` belongs to (primary `gid` first), as `initgroups` would set them.
pub fn groups_of(user: &str, gid: u32) -> Vec<u32> {
    let Ok(name) = CString::new(user) else {
        return vec![gid];
    };
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: the buffer holds `n` gids; getgrouplist writes at most that many.
    let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return vec![gid];
    }
    groups.truncate(n.max(0) as usize);
    groups
}
