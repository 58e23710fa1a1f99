//! What the process and its threads have used: CPU time and memory, for the `mod_wsgi`
//! metrics and events and the daemon's memory limit. Platforms that do not report a
//! figure give `None` (one `cfg` boundary, here).

/// CPU time (user, system) in seconds.
pub type CpuTimes = (f64, f64);

#[cfg(unix)]
fn rusage(who: nix::sys::resource::UsageWho) -> Option<nix::sys::resource::Usage> {
    nix::sys::resource::getrusage(who).ok()
}

#[cfg(unix)]
fn seconds(t: nix::sys::time::TimeVal) -> f64 {
    t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6
}

/// The calling thread's CPU time.
#[cfg(target_os = "linux")]
pub fn thread_cpu() -> Option<CpuTimes> {
    let u = rusage(nix::sys::resource::UsageWho::RUSAGE_THREAD)?;
    Some((seconds(u.user_time()), seconds(u.system_time())))
}

#[cfg(not(target_os = "linux"))]
pub fn thread_cpu() -> Option<CpuTimes> {
    None
}

/// The process's CPU time.
#[cfg(unix)]
pub fn process_cpu() -> Option<CpuTimes> {
    let u = rusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    Some((seconds(u.user_time()), seconds(u.system_time())))
}

#[cfg(not(unix))]
pub fn process_cpu() -> Option<CpuTimes> {
    None
}

/// The process's peak resident memory in bytes.
#[cfg(unix)]
pub fn peak_resident_bytes() -> Option<u64> {
    // Linux reports kilobytes.
    let kb = rusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?.max_rss();
    u64::try_from(kb).ok().map(|kb| kb * 1024)
}

#[cfg(not(unix))]
pub fn peak_resident_bytes() -> Option<u64> {
    None
}

/// The process's resident memory in bytes now.
#[cfg(target_os = "linux")]
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(not(target_os = "linux"))]
pub fn resident_bytes() -> Option<u64> {
    None
}
