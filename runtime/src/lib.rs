//! rwsgi's runtime: the Python interpreter and sub-interpreters (`python`), PEP 3333 and
//! the `mod_wsgi` API (`wsgi`), and what they log through (`log`). It knows no Apache:
//! what a server is, its settings and its log are given to it, so the same code serves in
//! an Apache child and in a daemon process.
#![deny(unsafe_code)]

#[cfg(unix)]
pub mod daemon;
pub mod linked;
pub mod log;
#[cfg(unix)]
pub mod os;
pub mod python;
pub mod usage;
pub mod wsgi;
