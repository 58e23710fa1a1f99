//! What the end-to-end tests of rwsgi-express share: a world-readable application
//! directory, rwsgi-express started on a free port and stopped by signal, and /proc
//! helpers.
#![allow(dead_code)]
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[path = "../../../tests/harness/error_log.rs"]
pub mod error_log;
#[path = "../../../tests/harness/ports.rs"]
mod ports;
pub use ports::free_port;

pub const EXE: &str = env!("CARGO_BIN_EXE_rwsgi-express");

/// Reports what the tests look at, as `key=value` lines.
pub const APP: &str = r#"import os
import mod_wsgi
VERSION = 'one'

def in_main_interpreter():
    import _xxsubinterpreters as interpreters
    return interpreters.get_current() == interpreters.get_main()

def application(environ, start_response):
    body = ''.join('%s=%s\n' % kv for kv in [
        ('version', VERSION),
        ('SCRIPT_NAME', environ['SCRIPT_NAME']),
        ('PATH_INFO', environ['PATH_INFO']),
        ('url_scheme', environ['wsgi.url_scheme']),
        ('uid', os.getuid()),
        ('pid', os.getpid()),
        ('process_group', mod_wsgi.process_group),
        ('application_group', environ['mod_wsgi.application_group']),
        ('main_interpreter', in_main_interpreter()),
        ('cwd', os.getcwd()),
        ('MODE', environ.get('MODE', '')),
        ('REMOTE_ADDR', environ['REMOTE_ADDR']),
    ]).encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
"#;

pub fn is_root() -> bool {
    nix::unistd::getuid().is_root()
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A world-readable application directory (Apache's children run as another user when the
/// tests run as root).
pub struct AppDir {
    pub dir: tempfile::TempDir,
}

impl AppDir {
    pub fn new() -> AppDir {
        let dir = tempfile::Builder::new()
            .prefix("rwsgi-express-test-")
            .tempdir_in("/tmp")
            .unwrap();
        chmod(dir.path(), 0o755);
        let app = AppDir { dir };
        app.write("wsgi.py", APP);
        app
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.path().join(rel);
        let parent = path.parent().unwrap();
        std::fs::create_dir_all(parent).unwrap();
        chmod(parent, 0o755);
        std::fs::write(&path, contents).unwrap();
        chmod(&path, 0o644);
        path
    }

    pub fn server_root(&self) -> PathBuf {
        self.path().join("server-root")
    }

    /// rwsgi-express with the app directory as working directory and server root inside it.
    pub fn command(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(EXE);
        cmd.arg(subcommand)
            .args(args)
            .arg("--working-directory")
            .arg(self.path())
            .arg("--server-root")
            .arg(self.server_root())
            .current_dir(self.path())
            .stdin(Stdio::null());
        cmd
    }

    pub fn start(&self, args: &[&str]) -> Express {
        let port = free_port();
        let mut all = args.to_vec();
        let port_arg = port.to_string();
        all.extend_from_slice(&["--host", "127.0.0.1", "--port", &port_arg]);
        let out = self.path().join("express.out");
        let err = self.path().join("express.err");
        let child = self
            .command("start-server", &all)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let mut express = Express {
            child: Some(child),
            port,
            out,
            err,
            root: self.server_root(),
        };
        express.wait_ready(port);
        express
    }

    pub fn run(&self, subcommand: &str, args: &[&str]) -> Output {
        self.command(subcommand, args).output().unwrap()
    }
}

pub struct Express {
    pub child: Option<Child>,
    pub port: u16,
    pub out: PathBuf,
    pub err: PathBuf,
    pub root: PathBuf,
}

impl Express {
    pub fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            // Apache writes its pid file after binding: a connection alone could reach
            // another server that took the port first.
            if self.root.join("httpd.pid").exists()
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("rwsgi-express exited with {status}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rwsgi-express did not listen on {port}:\n{}", self.output());
    }

    pub fn output(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}--- error_log\n{}",
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
            self.error_log()
        )
    }

    /// Waits until the error log has `needle` (Apache writes it after the response).
    pub fn wait_for_log(&self, needle: &str) -> String {
        error_log::wait_for(&self.root.join("error_log"), needle)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.root.join("error_log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut resp = agent.get(&self.url(path)).call().unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap())
    }

    /// rwsgi-express's own pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn apache_pid(&self) -> i32 {
        std::fs::read_to_string(self.root.join("httpd.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    pub fn signal(&self, signal: Signal) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        kill(Pid::from_raw(pid), signal).unwrap();
    }

    /// SIGTERM, then the exit status (after at most 20 s).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.stop_with(Signal::SIGTERM)
    }

    /// Sends `signal`, then the exit status (after at most 20 s).
    pub fn stop_with(&mut self, signal: Signal) -> std::process::ExitStatus {
        self.signal(signal);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("rwsgi-express did not stop on {signal}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Express {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.output());
        }
    }
}

pub fn field<'a>(body: &'a str, key: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {body:?}"))
}

/// The parent process id of `pid` (from /proc).
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|p| p.parse::<i32>().ok())
}

/// The command line `ps` shows for `pid`, arguments joined by spaces.
pub fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every process's pid (from /proc).
pub fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .collect()
}

/// The processes `parent` forked (from /proc).
pub fn children(parent: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

/// Apache's parent and every process below it: its children, the daemon supervisor and
/// the daemon processes.
pub fn process_tree(parent: i32) -> Vec<i32> {
    let mut pids = vec![parent];
    let mut i = 0;
    while i < pids.len() {
        pids.extend(children(pids[i]));
        i += 1;
    }
    pids
}

/// Waits (up to 10 s) for every process of `tree` to exit.
pub fn assert_all_gone(tree: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tree.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<_> = tree.iter().filter(|p| alive(**p)).collect();
    assert!(left.is_empty(), "Apache processes left: {left:?}");
}

/// rwsgi-express exited with status 1 and its stderr says each of `needles`.
pub fn assert_refused(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
    }
}

pub fn alive(pid: i32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}
