//! Starts a real Apache (Debian's `apache2`) with the built `mod_rwsgi.so` for a test: own
//! world-readable ServerRoot, free port, `User`/`Group` when run as root. Stopped by pid.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod daemon_runtime;
pub mod error_log;
pub mod load;
mod ports;
pub use ports::free_port;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Worker,
    Prefork,
}

impl Mpm {
    pub const ALL: [Mpm; 3] = [Mpm::Event, Mpm::Worker, Mpm::Prefork];

    fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
            Mpm::Prefork => "prefork",
        }
    }

    /// Enough workers for the tests' concurrency: event closes keep-alive connections when
    /// it runs short of threads, prefork needs a process per connection.
    fn sizing(self) -> &'static str {
        match self {
            Mpm::Event | Mpm::Worker => {
                "StartServers 1\nServerLimit 2\nThreadsPerChild 25\nThreadLimit 25\nMaxRequestWorkers 50\nMinSpareThreads 1\nMaxSpareThreads 50\n"
            }
            Mpm::Prefork => {
                "StartServers 4\nMinSpareServers 4\nMaxSpareServers 12\nServerLimit 12\nMaxRequestWorkers 12\n"
            }
        }
    }
}

/// The directory holding the test apps in the checkout.
pub fn apps_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps")
}

/// The newest modification time of the module's sources.
fn newest_source() -> std::time::SystemTime {
    fn walk(dir: &Path, newest: &mut std::time::SystemTime) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if let Ok(m) = entry.metadata().and_then(|m| m.modified()) {
                *newest = (*newest).max(m);
            }
        }
    }
    let mut newest = std::time::UNIX_EPOCH;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    walk(&manifest.join("src"), &mut newest);
    walk(&manifest.join("core/src"), &mut newest);
    walk(&manifest.join("runtime/src"), &mut newest);
    newest
}

/// The module under test: `RWSGI_MODULE`, else the cdylib cargo built for this profile.
/// `cargo test` does not rebuild the cdylib, so a module older than its sources is refused.
pub fn module_path() -> PathBuf {
    if let Ok(p) = std::env::var("RWSGI_MODULE") {
        return PathBuf::from(p);
    }
    let path = built_module();
    let built = std::fs::metadata(&path).and_then(|m| m.modified());
    match built {
        Ok(t) if t >= newest_source() => path,
        Ok(_) => panic!(
            "{} is older than its sources: run `cargo build` before `cargo test` (scripts/test.sh does)",
            path.display()
        ),
        Err(e) => panic!(
            "{}: {e}: run `cargo build` before `cargo test` (scripts/test.sh does)",
            path.display()
        ),
    }
}

fn built_module() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join("libmod_rwsgi.so")
}

pub fn apache_bin() -> String {
    std::env::var("APACHE_BIN").unwrap_or_else(|_| "apache2".to_owned())
}

pub fn is_root() -> bool {
    // SAFETY-free: reading our own uid through /proc avoids a libc dependency in tests.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    chmod(to, 0o755);
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
            chmod(&dest, 0o644);
        }
    }
}

/// A staged ServerRoot, before Apache starts.
pub struct Stage {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub mpm: Mpm,
    /// Start Apache with only the environment Debian's apache2ctl gives it (PATH and
    /// LANG=C), not the test runner's.
    pub clean_environment: bool,
}

impl Stage {
    pub fn new(mpm: Mpm) -> Stage {
        Stage::with_module(mpm, &module_path())
    }

    /// A ServerRoot whose `wsgi_module` is the module file `module` (another build of
    /// rwsgi, or mod_wsgi itself for the conformance tests).
    pub fn with_module(mpm: Mpm, module: &Path) -> Stage {
        let dir = tempfile::Builder::new()
            .prefix("rwsgi-test-")
            .tempdir_in("/tmp")
            .unwrap();
        chmod(dir.path(), 0o755);
        copy_dir(&apps_source(), &dir.path().join("apps"));
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        chmod(&dir.path().join("htdocs"), 0o755);
        let copy = dir.path().join("mod_rwsgi.so");
        std::fs::copy(module, &copy).unwrap_or_else(|e| {
            panic!(
                "cannot copy {}: {e} (run `cargo build` first)",
                module.display()
            )
        });
        Stage {
            dir,
            port: free_port(),
            mpm,
            clean_environment: false,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the ServerRoot (world-readable).
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.root().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        chmod(&path, 0o644);
        path
    }

    /// The full httpd.conf around `snippet` (`{root}` is replaced by the ServerRoot).
    pub fn config(&self, snippet: &str) -> String {
        let root = self.root().display().to_string();
        let user = if is_root() {
            "User www-data\nGroup www-data\n"
        } else {
            ""
        };
        let modules = "/usr/lib/apache2/modules";
        // The Python the module under test was built for, when it is not Debian's (the
        // per-version runs of scripts/python/test.sh).
        let python_home = match std::env::var("RWSGI_TEST_PYTHON_HOME") {
            Ok(home) if !snippet.contains("WSGIPythonHome") => {
                format!("WSGIPythonHome \"{home}\"\n")
            }
            _ => String::new(),
        };
        // Every embedded application in a sub-interpreter: another group takes the main one;
        // with its own GIL too (Python 3.12+).
        let mut python_home = python_home;
        if std::env::var_os("RWSGI_TEST_SUBINTERPRETERS").is_some() {
            python_home += &format!(
                "WSGIImportScript {root}/apps/main_taken.py process-group=%{{GLOBAL}} application-group=rwsgi-test-main\n"
            );
        }
        if std::env::var_os("RWSGI_TEST_OWN_GIL").is_some() {
            python_home += "WSGIPerInterpreterGIL On\n";
        }
        let snippet = exec_style(snippet);
        format!(
            "ServerRoot {root}\nDefaultRuntimeDir {root}\nListen 127.0.0.1:{port}\nPidFile {root}/httpd.pid\n\
             ErrorLog {root}/error_log\nLogLevel info\n{user}ServerName localhost\nServerAdmin admin@example.test\n\
             LoadModule mpm_{mpm}_module {modules}/mod_mpm_{mpm}.so\n\
             LoadModule authz_core_module {modules}/mod_authz_core.so\n\
             LoadModule mime_module {modules}/mod_mime.so\n\
             LoadModule env_module {modules}/mod_env.so\n\
             LoadModule alias_module {modules}/mod_alias.so\n\
             LoadModule headers_module {modules}/mod_headers.so\n\
             LoadModule wsgi_module {root}/mod_rwsgi.so\n\
             TypesConfig /etc/mime.types\nDocumentRoot {root}/htdocs\nKeepAlive On\n\
             <Directory {root}>\n  Require all granted\n</Directory>\n{sizing}\n{python_home}{snippet}\n",
            port = self.port,
            mpm = self.mpm.name(),
            sizing = self.mpm.sizing(),
            snippet = snippet.replace("{root}", &root),
        )
    }

    fn write_config(&self, snippet: &str) -> PathBuf {
        let conf = self.root().join("httpd.conf");
        std::fs::write(&conf, self.config(snippet)).unwrap();
        conf
    }

    /// Runs `apache2 -t` on the configuration.
    pub fn config_test(&self, snippet: &str) -> Output {
        let conf = self.write_config(snippet);
        Command::new(apache_bin())
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .unwrap()
    }

    /// Starts Apache in the foreground (as a child of the test) and waits for the port.
    pub fn start(self, snippet: &str) -> Apache {
        let test = self.config_test(snippet);
        assert!(
            test.status.success(),
            "apache2 -t failed:\n{}{}",
            String::from_utf8_lossy(&test.stdout),
            String::from_utf8_lossy(&test.stderr)
        );
        let mut apache = Apache {
            stage: self,
            child: None,
        };
        for attempt in 1.. {
            apache.child = Some(spawn_apache(
                &apache.root().join("httpd.conf"),
                apache.stage.clean_environment,
            ));
            let Err(stderr) = apache.wait_ready() else {
                return apache;
            };
            if !stderr.contains("Address already in use") || attempt == 3 {
                panic!("apache2 exited at start:\n{stderr}\n{}", apache.error_log());
            }
            // Another process on this machine (a second test run) bound the free port
            // between free_port() and Apache's bind: take another.
            apache.stage.port = free_port();
            apache.stage.write_config(snippet);
        }
        unreachable!()
    }
}

/// `RWSGI_TEST_LAUNCH=exec`: every daemon group that names no Python of its own is exec'd
/// into the test Python (with the daemon runtime in a venv), so the daemon suites run in
/// both launch styles.
fn exec_style(snippet: &str) -> String {
    if std::env::var("RWSGI_TEST_LAUNCH").as_deref() != Ok("exec") {
        return snippet.to_owned();
    }
    let venv = daemon_runtime::runtime_venv(&test_python());
    snippet
        .lines()
        .map(|line| {
            let own = ["python-executable=", "python-home=", "launch="];
            if line.trim_start().starts_with("WSGIDaemonProcess ")
                && !own.iter().any(|o| line.contains(o))
            {
                // A continued line (`\` at its end) takes the option before the `\`.
                let (head, tail) = match line.strip_suffix('\\') {
                    Some(head) => (head, " \\"),
                    None => (line, ""),
                };
                format!(
                    "{head} python-executable={}/bin/python3{tail}\n",
                    venv.display()
                )
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// Starts Apache in the foreground with `conf`, its stderr kept for a failed start.
fn spawn_apache(conf: &Path, clean_environment: bool) -> Child {
    let mut command = Command::new(apache_bin());
    if clean_environment {
        command
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C");
    }
    // Apache signals its whole process group when it stops (killpg): it must not be ours.
    command
        .process_group(0)
        .arg("-f")
        .arg(conf)
        .arg("-DFOREGROUND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A running Apache; stopped (by pid) when dropped.
pub struct Apache {
    pub stage: Stage,
    child: Option<Child>,
}

impl Apache {
    /// Starts a server with `snippet` under `mpm`.
    pub fn start(mpm: Mpm, snippet: &str) -> Apache {
        Stage::new(mpm).start(snippet)
    }

    /// Waits until Apache listens; its stderr if it exited instead.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // Apache writes its pid file after binding: a connection alone could reach
            // another server that took the port first.
            if self.stage.root().join("httpd.pid").exists()
                && TcpStream::connect(("127.0.0.1", self.stage.port)).is_ok()
            {
                return Ok(());
            }
            let child = self.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(format!("exit {status}: {stderr}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "apache2 did not listen on port {}:\n{}",
            self.stage.port,
            self.error_log()
        );
    }

    pub fn port(&self) -> u16 {
        self.stage.port
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.stage.port)
    }

    pub fn root(&self) -> &Path {
        self.stage.root()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.root().join("error_log")).unwrap_or_default()
    }

    /// Waits until the error log contains `needle` (log lines are written asynchronously to
    /// the response).
    pub fn wait_for_log(&self, needle: &str) -> String {
        error_log::wait_for(&self.root().join("error_log"), needle)
    }

    /// Asserts the error log has `needle`, printing the log otherwise.
    pub fn assert_log(&self, needle: &str) {
        let log = self.wait_for_log(needle);
        assert!(log.contains(needle), "error_log lacks {needle:?}:\n{log}");
    }

    /// Asserts no `[wsgi:…]` line at warning level or above, except those naming one of
    /// `allowed` (log codes such as "RW0104", or text the test expects).
    pub fn assert_log_clean(&self, allowed: &[&str]) {
        let log = self.error_log();
        let bad: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("[wsgi:error]") || l.contains("[wsgi:warn]") || l.contains("[wsgi:crit]")
            })
            .filter(|l| !allowed.iter().any(|a| l.contains(a)))
            .collect();
        assert!(
            bad.is_empty(),
            "unexpected wsgi log lines:\n{}",
            bad.join("\n")
        );
    }

    /// Pids of Apache's children (to check they survive or exit).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn stop(&mut self) -> Duration {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Duration::ZERO;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        started.elapsed()
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "---- error_log of the failed test ----\n{}",
                self.error_log()
            );
        }
    }
}

/// An HTTP client that reports every status instead of failing on 4xx/5xx.
pub fn client() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build();
    ureq::Agent::new_with_config(config)
}

/// GET `url` through `agent` (so on its kept-alive connection) and read the body as text.
pub fn text_via(agent: &ureq::Agent, url: &str) -> String {
    agent
        .get(url)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap()
}

/// A response read completely: status, headers (lower-case names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn collect(resp: ureq::http::Response<ureq::Body>) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    resp.into_body()
        .into_reader()
        .read_to_end(&mut body)
        .unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

/// A WSGI script answering `body`, for tests that change a script under a running server.
pub fn script_with_body(body: &str) -> String {
    format!(
        "def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [b'{body}']\n"
    )
}

/// Rewrites the script and moves its mtime well away from the first version's.
pub fn rewrite(stage: &Stage, rel: &str, body: &str) {
    let path = stage.write(rel, &script_with_body(body));
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(30))
        .unwrap();
}

pub fn get(url: &str) -> Reply {
    collect(client().get(url).call().unwrap())
}

pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = client().get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    collect(req.call().unwrap())
}

pub fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    collect(
        client()
            .post(url)
            .header("Content-Type", content_type)
            .send(body)
            .unwrap(),
    )
}

/// Sends raw bytes and reads until the server closes (or `timeout`): for checking what
/// exactly goes over the wire (chunk terminators, aborted responses).
pub fn raw(port: u16, request: &[u8], timeout: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// GETs `path` (answered by `dir_env.py`) with extra request headers, and returns its
/// environ.
pub fn env_with(
    apache: &Apache,
    path: &str,
    headers: &[(&str, &str)],
) -> std::collections::BTreeMap<String, String> {
    let reply = get_with(&apache.url(path), headers);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    let env = kv(&reply.text());
    assert_eq!(
        env.get("app").map(String::as_str),
        Some("dir_env"),
        "GET {path} did not run dir_env.py:\n{}",
        reply.text()
    );
    env
}

/// stdout + stderr of `apache2 -t`.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `apache2 -t` on `snippet` and returns its output, asserting that it failed.
pub fn config_error(snippet: &str) -> String {
    let stage = Stage::new(Mpm::Event);
    let out = stage.config_test(snippet);
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "apache2 -t accepted:\n{snippet}\n---- output ----\n{text}"
    );
    text
}

/// Asserts the text contains every needle.
pub fn assert_mentions(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "output lacks {n:?}:\n{text}");
    }
}

/// Parses the `key=value` lines test apps answer with.
pub fn kv(body: &str) -> std::collections::BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Makes `path` (recursively) readable by Apache's user.
pub fn chmod_world_readable(path: &Path) {
    let status = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The Python the module under test runs: `RWSGI_TEST_PYTHON` in the per-version runs of
/// scripts/python/test.sh, else `PYO3_PYTHON`, else Debian's.
pub fn test_python() -> String {
    std::env::var("RWSGI_TEST_PYTHON")
        .or_else(|_| std::env::var("PYO3_PYTHON"))
        .unwrap_or_else(|_| "/usr/bin/python3".to_owned())
}

/// tests/apps/gil_state.py's answer at `path` for its second request (the first one's
/// request_finished event is in it): `python=… event=… metrics=…`.
pub fn gil_state(apache: &Apache, path: &str) -> String {
    let first = get(&apache.url(path));
    assert_eq!(first.status, 200, "{path}: {}", first.text());
    let second = get(&apache.url(path));
    assert_eq!(second.status, 200, "{path}: {}", second.text());
    second.text()
}

/// Whether the Python at `python` is a free-threaded build (3.13t, …).
pub fn is_free_threaded(python: &str) -> bool {
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}
