//! An open file as the operating system names it, for a response that sends one: a
//! descriptor on Unix; a handle (as an integer, so it can cross threads) on Windows.

#[cfg(unix)]
pub type OsFile = std::os::fd::RawFd;
#[cfg(windows)]
pub type OsFile = isize;
