//! End-to-end: `rwsgi-express` runs a real Apache (Debian's apache2) with the built module
//! and real applications, over HTTP. Run `cargo build` first (scripts/test.sh does): the
//! module is found next to the rwsgi-express executable.
#![cfg(unix)]
mod support;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::error_log;
use support::*;

#[test]
fn script_is_served_and_sigterm_stops_everything() {
    let app = AppDir::new();
    let mut express = app.start(&["wsgi.py", "--processes", "2", "--threads", "3"]);
    let (status, body) = express.get("/a/b%20c?q=1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(field(&body, "SCRIPT_NAME"), "");
    assert_eq!(field(&body, "PATH_INFO"), "/a/b c");
    assert_eq!(field(&body, "cwd"), app.path().to_str().unwrap());
    if is_root() {
        let www = nix::unistd::User::from_name("www-data").unwrap().unwrap();
        assert_eq!(field(&body, "uid"), www.uid.to_string());
    }
    let summary = std::fs::read_to_string(&express.out).unwrap();
    assert!(summary.contains(&express.url("/")), "{summary}");
    assert!(
        summary.contains("daemon, 2 processes × 3 threads"),
        "{summary}"
    );

    let tree = process_tree(express.apache_pid());
    // The parent, a child, the supervisor and the 2 daemons.
    assert!(tree.len() >= 5, "Apache and 2 daemons expected: {tree:?}");
    let daemon: i32 = field(&body, "pid").parse().unwrap();
    assert!(tree.contains(&daemon), "{daemon} not in {tree:?}");
    let status = express.stop();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        express.output()
    );
    assert_all_gone(&tree);
}

/// Sleeps 2 s inside the request, after leaving a marker that it started.
const SLOW_APP: &str = r#"import os, time

def application(environ, start_response):
    open(os.path.join(os.path.dirname(__file__), 'markers', 'started'), 'w').close()
    time.sleep(2)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'finished']
"#;

/// SIGTERM (docker stop, systemd) stops gracefully: a request in flight finishes and gets
/// its whole answer, in daemon and in embedded mode, and rwsgi-express exits 0.
#[test]
fn sigterm_lets_requests_in_flight_finish() {
    for mode in [&[][..], &["--embedded-mode"][..]] {
        let app = AppDir::new();
        app.write("slow.py", SLOW_APP);
        let markers = app.path().join("markers");
        std::fs::create_dir(&markers).unwrap();
        chmod(&markers, 0o777);
        let mut args = vec!["slow.py"];
        args.extend_from_slice(mode);
        let mut express = app.start(&args);
        let url = express.url("/");
        let request = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into();
            agent
                .get(&url)
                .call()
                .map_err(|e| e.to_string())
                .and_then(|mut r| r.body_mut().read_to_string().map_err(|e| e.to_string()))
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while !markers.join("started").exists() {
            assert!(Instant::now() < deadline, "{}", express.output());
            std::thread::sleep(Duration::from_millis(20));
        }
        let tree = process_tree(express.apache_pid());
        let status = express.stop();
        assert_eq!(
            request.join().unwrap().as_deref(),
            Ok("finished"),
            "{mode:?}: {}",
            express.output()
        );
        assert!(
            status.success(),
            "{mode:?}: exit status {status}:\n{}",
            express.output()
        );
        assert_all_gone(&tree);
    }
}

#[test]
fn sigint_stops_like_ctrl_c() {
    let app = AppDir::new();
    let mut express = app.start(&["wsgi.py"]);
    assert_eq!(express.get("/").0, 200);
    let tree = process_tree(express.apache_pid());
    let status = express.stop_with(Signal::SIGINT);
    assert!(status.success(), "exit status {status}");
    assert_all_gone(&tree);
}

#[test]
fn request_body_limit_gives_413() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py", "--limit-request-body", "1000"]);
    let post = |size: usize| {
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
            &"x".repeat(size),
            &express.url("/upload"),
        ])
    };
    assert_eq!(post(1000), "200");
    assert_eq!(post(1001), "413");
}

#[test]
fn as_root_binds_port_80() {
    if !is_root() || TcpListener::bind("127.0.0.1:80").is_err() {
        eprintln!("skipped: needs root and a free port 80");
        return;
    }
    let app = AppDir::new();
    let port = "80";
    let out = app.path().join("express.out");
    let err = app.path().join("express.err");
    let child = app
        .command(
            "start-server",
            &["wsgi.py", "--host", "127.0.0.1", "--port", port],
        )
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut express = Express {
        child: Some(child),
        port: 80,
        out,
        err,
        root: app.server_root(),
    };
    express.wait_ready(80);
    let (status, body) = express.get("/");
    assert_eq!(status, 200);
    let www = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    assert_eq!(field(&body, "uid"), www.uid.to_string());
    assert!(express.stop().success());
}

#[test]
fn module_entry_point_at_a_mount_point() {
    let app = AppDir::new();
    app.write("pkg/__init__.py", "");
    app.write(
        "pkg/web.py",
        &format!("{APP}\nserver = application\ndel application\n"),
    );
    let express = app.start(&["pkg.web:server", "--mount-point", "/api/"]);
    let (status, body) = express.get("/api/items/1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(field(&body, "SCRIPT_NAME"), "/api");
    assert_eq!(field(&body, "PATH_INFO"), "/items/1");
    let (_, body) = express.get("/api");
    assert_eq!(field(&body, "PATH_INFO"), "");
    // Outside the mount point the (empty) document root answers.
    assert_eq!(express.get("/other").0, 404);
}

#[test]
fn flask_application() {
    let app = AppDir::new();
    app.write(
        "shop.py",
        "from flask import Flask, url_for\napp = Flask(__name__)\n\n\
         @app.route('/hello/<name>')\ndef hello(name):\n    \
         return 'hello %s at %s' % (name, url_for('hello', name=name))\n",
    );
    let express = app.start(&["shop:app", "--mount-point", "/shop", "--threads", "2"]);
    let (status, body) = express.get("/shop/hello/ann");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "hello ann at /shop/hello/ann");
    assert_eq!(express.get("/shop/nothing").0, 404);
}

#[test]
fn static_files_win_and_url_aliases_serve_files() {
    let app = AppDir::new();
    app.write("public/robots.txt", "static robots\n");
    app.write("assets/site.css", "body{}\n");
    app.write("favicon.ico", "icon\n");
    let express = app.start(&[
        "wsgi.py",
        "--document-root",
        "public",
        "--url-alias",
        "/assets",
        "assets",
        "--url-alias",
        "/favicon.ico",
        "favicon.ico",
        "--setenv",
        "MODE",
        "static test",
    ]);
    assert_eq!(
        express.get("/robots.txt"),
        (200, "static robots\n".to_owned())
    );
    assert_eq!(
        express.get("/assets/site.css"),
        (200, "body{}\n".to_owned())
    );
    assert_eq!(express.get("/favicon.ico"), (200, "icon\n".to_owned()));
    let (status, body) = express.get("/robots.txt/not-a-file");
    assert_eq!(status, 200, "{body}");
    assert_eq!(field(&body, "PATH_INFO"), "/robots.txt/not-a-file");
    assert_eq!(field(&body, "MODE"), "static test");
    assert_eq!(express.get("/assets/missing.css").0, 404);
}

#[test]
fn access_log_records_requests() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py", "--access-log"]);
    assert_eq!(express.get("/logged?x=1").0, 200);
    let log = app.server_root().join("access_log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("\"GET /logged?x=1 HTTP/1.1\" 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "access_log lacks the request:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The express user's uid, which mod_wsgi-express puts into the daemon's name.
fn my_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[test]
fn default_mode_serves_from_daemon_processes() {
    let app = AppDir::new();
    let mut express = app.start(&["wsgi.py", "--processes", "2", "--threads", "3"]);
    let group = format!("127.0.0.1:{}", express.port);
    let title = format!("(rwsgi:{group}:{})", my_uid());
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let (status, body) = express.get("/");
        assert_eq!(status, 200, "{body}");
        assert_eq!(field(&body, "process_group"), group);
        assert_eq!(field(&body, "application_group"), "");
        assert_eq!(field(&body, "main_interpreter"), "True");
        assert_eq!(field(&body, "cwd"), app.path().to_str().unwrap());
        pids.insert(field(&body, "pid").parse::<i32>().unwrap());
    }
    // Apache has written its pid file by the time it answers.
    let apache = express.apache_pid();
    let children_of_apache = children(apache);
    for pid in &pids {
        // Not Apache, not one of its children: a daemon, forked by the supervisor.
        assert_ne!(*pid, apache);
        assert!(
            !children_of_apache.contains(pid),
            "{pid} is an Apache child"
        );
        assert!(
            cmdline(*pid).starts_with(&title),
            "pid {pid}: {:?}",
            cmdline(*pid)
        );
        let supervisor = parent_of(*pid).unwrap();
        assert!(
            cmdline(supervisor).starts_with("(rwsgi:supervisor:"),
            "{:?}",
            cmdline(supervisor)
        );
        assert_eq!(parent_of(supervisor), Some(apache));
    }
    let daemons: Vec<i32> = process_tree(apache)
        .into_iter()
        .filter(|p| cmdline(*p).starts_with(&title))
        .collect();
    assert_eq!(daemons.len(), 2, "--processes 2: {daemons:?}");
    let ps = Command::new("ps")
        .args(["-o", "args=", "-p", &daemons[0].to_string()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ps.stdout).starts_with(&title),
        "{ps:?}"
    );
    let summary = std::fs::read_to_string(&express.out).unwrap();
    assert!(
        summary.contains(&format!(
            "daemon, 2 processes × 3 threads in {title} (group {group})"
        )),
        "{summary}"
    );
    let tree = process_tree(apache);
    assert!(express.stop().success());
    assert_all_gone(&tree);
}

/// `--application-group NAME` names the group the application sees; its one application
/// still runs in each process's main interpreter.
#[test]
fn application_group_names_the_group_in_the_main_interpreter() {
    let app = AppDir::new();
    for mode in [&[][..], &["--embedded-mode"][..]] {
        let mut args = vec!["wsgi.py", "--application-group", "shop"];
        args.extend_from_slice(mode);
        let mut express = app.start(&args);
        let (status, body) = express.get("/");
        assert_eq!(status, 200, "{body}");
        assert_eq!(field(&body, "application_group"), "shop", "{mode:?}");
        assert_eq!(field(&body, "main_interpreter"), "True", "{mode:?}");
        assert!(express.stop().success());
    }
}

#[test]
fn embedded_mode_serves_from_apache_children() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py", "--embedded-mode", "--threads", "2"]);
    let (status, body) = express.get("/");
    assert_eq!(status, 200, "{body}");
    assert_eq!(field(&body, "process_group"), "");
    assert_eq!(field(&body, "application_group"), "");
    assert_eq!(field(&body, "main_interpreter"), "True");
    let pid: i32 = field(&body, "pid").parse().unwrap();
    let apache = express.apache_pid();
    assert_eq!(parent_of(pid), Some(apache), "not an Apache child");
    let tree = process_tree(apache);
    assert!(
        !tree.iter().any(|p| cmdline(*p).starts_with("(rwsgi:")),
        "daemon processes in embedded mode: {:?}",
        tree.iter().map(|p| cmdline(*p)).collect::<Vec<_>>()
    );
    let summary = std::fs::read_to_string(&express.out).unwrap();
    assert!(
        summary.contains("embedded, 1 process × 2 threads (worker MPM)"),
        "{summary}"
    );
    let conf = std::fs::read_to_string(app.server_root().join("httpd.conf")).unwrap();
    assert!(conf.contains("WSGIRestrictEmbedded Off"), "{conf}");
}

/// `--maximum-requests 3`: each daemon serves at most 3 requests, then a new one takes
/// over; no request fails on the way.
#[test]
fn maximum_requests_recycles_daemons_without_failed_requests() {
    let app = AppDir::new();
    // One thread per daemon, so each daemon's requests run one after another.
    let express = app.start(&[
        "wsgi.py",
        "--maximum-requests",
        "3",
        "--processes",
        "2",
        "--threads",
        "1",
        "--log-level",
        "info",
    ]);
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let clients: Vec<_> = (0..2)
            .map(|_| s.spawn(|| (0..8).map(|_| express.get("/")).collect::<Vec<_>>()))
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    let mut served = std::collections::BTreeMap::<String, u32>::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}\n{}", express.output());
        *served.entry(field(body, "pid").to_owned()).or_default() += 1;
    }
    assert_eq!(results.len(), 16);
    assert!(
        served.values().all(|n| *n <= 3),
        "a daemon served more than 3: {served:?}"
    );
    assert!(served.len() >= 6, "16 requests, 3 per daemon: {served:?}");
    let log = express.error_log();
    assert!(
        log.contains("recycles (maximum-requests) after 3 requests"),
        "{log}"
    );
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "30"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn https_with_a_self_signed_certificate() {
    let app = AppDir::new();
    let (crt, key) = certificate(&app);
    let https_port = free_port();
    let express = app.start(&[
        "wsgi.py",
        "--https-port",
        &https_port.to_string(),
        "--ssl-certificate-file",
        crt.to_str().unwrap(),
        "--ssl-certificate-key-file",
        key.to_str().unwrap(),
        "--https-only",
        "--server-name",
        "localhost",
    ]);
    let body = curl(&[&format!("https://127.0.0.1:{https_port}/secure/x?y=1")]);
    assert_eq!(field(&body, "url_scheme"), "https", "{body}");
    assert_eq!(field(&body, "PATH_INFO"), "/secure/x");
    // Plain HTTP is redirected to the HTTPS port.
    let head = curl(&["-D", "-", "-o", "/dev/null", &express.url("/page?q=2")]);
    assert!(head.starts_with("HTTP/1.1 301"), "{head}");
    assert!(
        head.contains(&format!(
            "Location: https://127.0.0.1:{https_port}/page?q=2"
        )),
        "{head}"
    );
}

#[test]
fn trusted_proxy_headers() {
    let app = AppDir::new();
    let express = app.start(&[
        "wsgi.py",
        "--trust-proxy-header",
        "X-Forwarded-For",
        "--trust-proxy-header",
        "X-Forwarded-Proto",
        "--trust-proxy",
        "127.0.0.1",
    ]);
    let body = curl(&[
        "-H",
        "X-Forwarded-For: 203.0.113.9, 127.0.0.1",
        "-H",
        "X-Forwarded-Proto: https",
        &express.url("/"),
    ]);
    assert_eq!(field(&body, "REMOTE_ADDR"), "203.0.113.9", "{body}");
    assert_eq!(field(&body, "url_scheme"), "https", "{body}");
}

#[test]
fn as_root_children_run_as_the_given_user() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let app = AppDir::new();
    let express = app.start(&["wsgi.py", "--user", "nobody", "--group", "nogroup"]);
    let (_, body) = express.get("/");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    // The daemon inherits Apache's User/Group: no user= on its line.
    assert_eq!(field(&body, "uid"), nobody.uid.to_string());
    let pid: i32 = field(&body, "pid").parse().unwrap();
    assert!(
        cmdline(pid).starts_with("(rwsgi:127.0.0.1:"),
        "{}",
        cmdline(pid)
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ids = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let uid = nobody.uid.to_string();
    let gid = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .unwrap()
        .gid
        .to_string();
    assert_eq!(
        ids("Uid:"),
        vec![uid.clone(), uid.clone(), uid.clone(), uid]
    );
    assert_eq!(
        ids("Gid:"),
        vec![gid.clone(), gid.clone(), gid.clone(), gid]
    );
    let conf = std::fs::read_to_string(app.server_root().join("httpd.conf")).unwrap();
    assert!(!conf.contains("user="), "{conf}");
}

#[test]
fn refuses_an_application_the_user_cannot_read() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let app = AppDir::new();
    let private = app.path().join("private");
    app.write("private/wsgi.py", APP);
    chmod(&private, 0o700);
    let out = app.run(
        "start-server",
        &["private/wsgi.py", "--port", &free_port().to_string()],
    );
    let detail = format!(
        "the WSGI script {}/wsgi.py: {} is not searchable (x) (mode 0700, owner root)",
        private.display(),
        private.display()
    );
    assert_refused(
        &out,
        &[
            "www-data (the user Apache's children run as) cannot reach",
            &detail,
            "Fix:",
            "chmod o+x",
        ],
    );
    // The directory belongs to root: running the children as its owner is no fix.
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("run as the files' owner"), "{text}");
    assert!(
        !app.server_root().join("httpd.pid").exists(),
        "Apache was started"
    );
}

#[test]
fn apache_refusing_the_configuration_is_reported() {
    let app = AppDir::new();
    app.write("bad.conf", "NoSuchDirective on\n");
    let out = app.run(
        "start-server",
        &[
            "wsgi.py",
            "--include-file",
            "bad.conf",
            "--port",
            &free_port().to_string(),
        ],
    );
    assert_refused(
        &out,
        &[
            "Apache refused the configuration",
            "Invalid command 'NoSuchDirective'",
        ],
    );
}

#[test]
fn a_port_in_use_is_reported() {
    let app = AppDir::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = app.run(
        "start-server",
        &["wsgi.py", "--host", "127.0.0.1", "--port", &port],
    );
    assert_refused(
        &out,
        &[
            "Address already in use",
            "Apache exited unexpectedly (exit status 1)",
        ],
    );
}

#[test]
fn sighup_restarts_gracefully() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py"]);
    let (_, before) = express.get("/");
    let parent = express.apache_pid();
    express.signal(Signal::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if express.error_log().contains("Doing graceful restart") {
            let (status, after) = express.get("/");
            if status == 200 && field(&after, "pid") != field(&before, "pid") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no graceful restart:\n{}",
            express.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        express.apache_pid(),
        parent,
        "the parent must survive a graceful restart"
    );
}

#[test]
fn script_changes_are_picked_up() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py"]);
    assert_eq!(field(&express.get("/").1, "version"), "one");
    std::thread::sleep(Duration::from_millis(20));
    app.write("wsgi.py", &APP.replace("'one'", "'two'"));
    assert_eq!(field(&express.get("/").1, "version"), "two");
}

#[test]
fn reload_on_changes_restarts_for_module_changes() {
    let app = AppDir::new();
    app.write("helper.py", "NAME = 'first'\n");
    app.write(
        "svc.py",
        &format!("{APP}\nimport helper\nVERSION = helper.NAME\n"),
    );
    let express = app.start(&["svc", "--reload-on-changes"]);
    assert_eq!(field(&express.get("/").1, "version"), "first");
    app.write("helper.py", "NAME = 'second'\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while field(&express.get("/").1, "version") != "second" {
        assert!(
            Instant::now() < deadline,
            "not reloaded:\n{}",
            express.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let err = std::fs::read_to_string(&express.err).unwrap();
    assert!(
        err.contains("helper.py changed; restarting Apache gracefully"),
        "{err}"
    );
}

#[test]
fn setup_server_writes_a_working_apachectl() {
    let app = AppDir::new();
    let port = free_port();
    let out = app.run(
        "setup-server",
        &[
            "wsgi.py",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctl = app.server_root().join("apachectl");
    let run = |cmd: &str| Command::new(&ctl).arg(cmd).output().unwrap();
    let test = run("configtest");
    assert!(
        String::from_utf8_lossy(&test.stderr).contains("Syntax OK"),
        "{test:?}"
    );
    assert!(run("start").status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "apachectl start did not serve");
        std::thread::sleep(Duration::from_millis(50));
    }
    let express = Express {
        child: None,
        port,
        out: PathBuf::new(),
        err: PathBuf::new(),
        root: app.server_root(),
    };
    assert_eq!(express.get("/x").0, 200);
    let parent = express.apache_pid();
    assert!(run("graceful").status.success());
    assert!(run("stop").status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while alive(parent) {
        assert!(
            Instant::now() < deadline,
            "apachectl stop left Apache running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A self-signed certificate for localhost: (certificate, key).
fn certificate(app: &AppDir) -> (PathBuf, PathBuf) {
    let (crt, key) = (app.path().join("site.crt"), app.path().join("site.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (crt, key)
}

/// Every option group's configuration passes Apache's own check (`setup-server` runs
/// `httpd -t`), including values that need quoting or reshaping.
#[test]
fn every_option_group_passes_apache_config_test() {
    let app = AppDir::new();
    let (crt, key) = certificate(&app);
    app.write("rules.conf", "RewriteRule ^old$ new [R=302,L]\n");
    app.write("public/index.html", "index\n");
    let (crt, key) = (
        crt.to_str().unwrap().to_owned(),
        key.to_str().unwrap().to_owned(),
    );
    let groups: Vec<Vec<&str>> = vec![
        vec!["wsgi.py", "--host", "::1"],
        vec![
            "wsgi.py",
            "--header-timeout",
            "30",
            "--body-timeout",
            "20",
            "--body-max-timeout",
            "10",
        ],
        vec![
            "wsgi.py",
            "--https-port",
            "9443",
            "--ssl-certificate-file",
            &crt,
            "--ssl-certificate-key-file",
            &key,
        ],
        vec![
            "wsgi.py",
            "--mount-point",
            "/my app",
            "--setenv",
            "GREETING",
            "a \"quoted\" value",
        ],
        vec![
            "--application-type",
            "static",
            "--document-root",
            "public",
            "--server-status",
        ],
        vec![
            "wsgi.py",
            "--compress-responses",
            "--enable-sendfile",
            "--rewrite-rules",
            "rules.conf",
            "--directory-index",
            "index.html",
        ],
        vec![
            "wsgi.py",
            "--error-log-format",
            "[%t] %M",
            "--access-log",
            "--access-log-format",
            "%h \"%r\" %>s",
            "--locale",
            "C.UTF-8",
        ],
        vec![
            "wsgi.py",
            "--server-mpm",
            "prefork",
            "--threads",
            "1",
            "--processes",
            "3",
        ],
        vec![
            "wsgi.py",
            "--server-mpm",
            "worker",
            "--processes",
            "2",
            "--threads",
            "4",
        ],
        vec![
            "wsgi.py",
            "--process-group",
            "x",
            "--application-group",
            "%{GLOBAL}",
            "--request-timeout",
            "60",
            "--max-clients",
            "20",
        ],
        vec![
            "wsgi.py",
            "--maximum-requests",
            "100",
            "--startup-timeout",
            "15",
            "--shutdown-timeout",
            "3",
            "--graceful-timeout",
            "10",
            "--eviction-timeout",
            "5",
            "--deadlock-timeout",
            "60",
            "--inactivity-timeout",
            "300",
            "--request-timeout",
            "30",
            "--interrupt-timeout",
            "10",
            "--connect-timeout",
            "5",
            "--socket-timeout",
            "30",
            "--queue-timeout",
            "20",
            "--restart-interval",
            "3600",
            "--cpu-time-limit",
            "100",
            "--daemon-backlog",
            "50",
            "--send-buffer-size",
            "65536",
            "--receive-buffer-size",
            "65536",
            "--header-buffer-size",
            "65536",
            "--response-buffer-size",
            "1048576",
            "--response-socket-timeout",
            "30",
            "--max-clients",
            "200",
            "--python-path",
            "public",
        ],
        vec![
            "wsgi.py",
            "--server-mpm",
            "prefork",
            "--processes",
            "2",
            "--threads",
            "4",
        ],
        vec![
            "wsgi.py",
            "--embedded-mode",
            "--server-mpm",
            "prefork",
            "--threads",
            "1",
        ],
    ];
    for (i, group) in groups.iter().enumerate() {
        let root = app.path().join(format!("root-{i}"));
        let port = free_port().to_string();
        let out = Command::new(EXE)
            .arg("setup-server")
            .args(group)
            .args(["--port", &port, "--working-directory"])
            .arg(app.path())
            .arg("--server-root")
            .arg(&root)
            .current_dir(app.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{group:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn static_site_with_index_and_server_status() {
    let app = AppDir::new();
    app.write("public/index.html", "the index\n");
    app.write("public/docs/index.html", "docs index\n");
    let express = app.start(&[
        "--application-type",
        "static",
        "--document-root",
        "public",
        "--server-status",
    ]);
    assert_eq!(express.get("/"), (200, "the index\n".to_owned()));
    assert_eq!(express.get("/docs/"), (200, "docs index\n".to_owned()));
    assert_eq!(express.get("/missing").0, 404);
    let (status, body) = express.get("/server-status?auto");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ServerUptime"), "{body}");
}

#[test]
fn a_running_server_root_is_not_overwritten() {
    let app = AppDir::new();
    let express = app.start(&["wsgi.py"]);
    let before = std::fs::read_to_string(app.server_root().join("httpd.conf")).unwrap();
    app.write("other.py", APP);
    let out = app.run(
        "start-server",
        &["other.py", "--port", &free_port().to_string()],
    );
    assert_refused(&out, &["is in use by a running Apache"]);
    let after = std::fs::read_to_string(app.server_root().join("httpd.conf")).unwrap();
    assert_eq!(
        before, after,
        "the running server's configuration was rewritten"
    );
    assert_eq!(express.get("/").0, 200);
}

#[test]
fn module_commands() {
    let location = Command::new(EXE).arg("module-location").output().unwrap();
    assert!(location.status.success());
    let path = PathBuf::from(String::from_utf8(location.stdout).unwrap().trim());
    assert!(path.is_file(), "{}", path.display());

    let config = Command::new(EXE)
        .arg("module-config")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    let config = String::from_utf8(config.stdout).unwrap();
    assert!(
        config.contains(&format!("LoadModule wsgi_module \"{}\"", path.display())),
        "{config}"
    );
    let home = format!("WSGIPythonHome \"{}\"", env!("RWSGI_PYTHON_PREFIX"));
    assert!(config.contains(&home), "{config}");

    let dir = tempfile::tempdir().unwrap();
    let install = Command::new(EXE)
        .args(["install-module", "--modules-directory"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(install.status.success(), "{install:?}");
    let installed = dir.path().join("mod_rwsgi.so");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&path).unwrap()
    );
    let printed = String::from_utf8(install.stdout).unwrap();
    assert!(
        printed.contains(&format!(
            "LoadModule wsgi_module \"{}\"",
            installed.display()
        )),
        "{printed}"
    );
}

/// How one keep-alive client of a burst fared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kept {
    /// Both requests answered on one connection.
    Both,
    /// The first response said `Connection: close`, so the client knew not to reuse it.
    ToldToClose,
    Failed(String),
}

/// Reads one response off `conn`: its status and whether it said `Connection: close`.
fn read_response(conn: &mut std::io::BufReader<TcpStream>) -> Result<(u16, bool), String> {
    use std::io::{BufRead, Read};
    let mut line = String::new();
    let line_of = |conn: &mut std::io::BufReader<TcpStream>, line: &mut String| {
        line.clear();
        match conn.read_line(line) {
            Ok(0) => Err("the server closed the connection".to_owned()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("reading: {e}")),
        }
    };
    line_of(conn, &mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        line_of(conn, &mut line)?;
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match (name.trim(), value.trim()) {
                ("content-length", v) => length = v.parse().map_err(|_| header.clone())?,
                ("transfer-encoding", v) => chunked = v.contains("chunked"),
                ("connection", v) => close = v.contains("close"),
                _ => {}
            }
        }
    }
    let skip = |conn: &mut std::io::BufReader<TcpStream>, n: usize| {
        let mut body = vec![0; n];
        conn.read_exact(&mut body).map_err(|e| format!("body: {e}"))
    };
    if !chunked {
        skip(conn, length)?;
        return Ok((status, close));
    }
    loop {
        line_of(conn, &mut line)?;
        let size = usize::from_str_radix(line.trim(), 16).map_err(|_| line.clone())?;
        if size == 0 {
            line_of(conn, &mut line)?;
            return Ok((status, close));
        }
        skip(conn, size + 2)?;
    }
}

/// `clients` connections opened at once, each sending a second request on the same
/// connection as soon as its first is answered (unless told to close).
fn keep_alive_burst(port: u16, clients: usize) -> std::collections::BTreeMap<Kept, usize> {
    use std::io::Write;
    let start = std::sync::Barrier::new(clients);
    let outcomes = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                start.wait();
                let outcome = (|| {
                    let conn = TcpStream::connect(("127.0.0.1", port))
                        .map_err(|e| format!("connect: {e}"))?;
                    // Generous: on a loaded machine the queue ahead of a client can be long.
                    conn.set_read_timeout(Some(Duration::from_secs(120)))
                        .unwrap();
                    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
                    (&conn)
                        .write_all(request.as_bytes())
                        .map_err(|e| format!("first request: {e}"))?;
                    let (status, close) =
                        read_response(&mut reader).map_err(|e| format!("first response: {e}"))?;
                    if status != 200 {
                        return Err(format!("first response: status {status}"));
                    }
                    if close {
                        return Ok(Kept::ToldToClose);
                    }
                    (&conn)
                        .write_all(request.as_bytes())
                        .map_err(|e| format!("second request: {e}"))?;
                    match read_response(&mut reader) {
                        Ok((200, _)) => Ok(Kept::Both),
                        Ok((status, _)) => Err(format!("second response: status {status}")),
                        Err(e) => Err(format!("second response: {e}")),
                    }
                })()
                .unwrap_or_else(Kept::Failed);
                *outcomes.lock().unwrap().entry(outcome).or_insert(0) += 1;
            });
        }
    });
    outcomes.into_inner().unwrap()
}

/// 200 keep-alive clients at once against the default daemon mode and embedded mode: each
/// one's second request is answered on its connection, or its first response said
/// `Connection: close`; none finds its connection closed under it (the event MPM closes
/// idle keep-alive connections, unannounced, when it runs out of threads).
#[test]
fn a_keep_alive_burst_loses_no_connection() {
    let app = AppDir::new();
    for mode in [&[][..], &["--embedded-mode"][..]] {
        let mut args = vec!["wsgi.py"];
        args.extend_from_slice(mode);
        let mut express = app.start(&args);
        for round in 0..2 {
            let outcomes = keep_alive_burst(express.port, 200);
            eprintln!("{mode:?} round {round}: {outcomes:?}");
            let failed: Vec<_> = outcomes
                .keys()
                .filter(|k| matches!(k, Kept::Failed(_)))
                .collect();
            assert!(failed.is_empty(), "{mode:?} round {round}: {outcomes:?}");
        }
        assert!(express.stop().success());
    }
}

/// `--auth-user-script`, `--auth-group-script` and `--host-access-script`: Apache asks the
/// scripts, in the Apache children, before the application (in its daemon) runs.
#[test]
fn auth_scripts_protect_the_application() {
    let app = AppDir::new();
    app.write(
        "users.py",
        "def check_password(environ, user, password):\n    return {'ann': 'pw', 'ben': 'pw'}.get(user) == password\n\n\
         def groups_for_user(environ, user):\n    return ['editors'] if user == 'ann' else []\n\n\
         def allow_access(environ, host):\n    return environ.get('HTTP_X_BLOCK') is None\n",
    );
    let express = app.start(&[
        "wsgi.py",
        "--auth-user-script",
        "users.py",
        "--auth-group-script",
        "users.py",
        "--auth-group",
        "editors",
        "--host-access-script",
        "users.py",
    ]);
    let url = express.url("/");
    let status = |args: &[&str]| {
        let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
        all.extend_from_slice(args);
        all.push(&url);
        curl(&all)
    };
    assert_eq!(status(&[]), "401");
    assert_eq!(status(&["-u", "ann:wrong"]), "401");
    // Authenticated but not an editor.
    assert_eq!(status(&["-u", "ben:pw"]), "401");
    assert_eq!(status(&["-u", "ann:pw", "-H", "X-Block: 1"]), "403");
    let body = curl(&["-u", "ann:pw", &url]);
    assert_eq!(
        field(&body, "process_group"),
        format!("127.0.0.1:{}", express.port)
    );
}

/// `--error-override`: Apache's error page replaces the application's 404 body.
#[test]
fn error_override_gives_apaches_error_page() {
    let app = AppDir::new();
    app.write(
        "missing.py",
        "def application(environ, start_response):\n    start_response('404 Not Found', [('Content-Type', 'text/plain')])\n    return [b'app-made 404']\n",
    );
    for (args, app_body) in [
        (&["missing.py"][..], true),
        (&["missing.py", "--error-override"][..], false),
    ] {
        let mut express = app.start(args);
        let (status, body) = express.get("/");
        assert_eq!(status, 404);
        assert_eq!(body.contains("app-made 404"), app_body, "{args:?}: {body}");
        assert!(express.stop().success());
    }
}

/// A helper module whose import fails: the traceback goes through the user's two files.
const BROKEN_HELPER: &str = "VALUE = 1\nraise RuntimeError('the database URL is missing')\n";

#[test]
fn a_broken_application_stops_the_start_with_its_traceback() {
    let app = AppDir::new();
    let wsgi = app.write(
        "wsgi.py",
        "import helper\napplication = helper.application\n",
    );
    let helper = app.write("helper.py", BROKEN_HELPER);
    app.write("pkg/__init__.py", "");
    app.write("pkg/web.py", "import helper\n");
    let port = free_port().to_string();
    let start = |entry: &str| {
        app.run(
            "start-server",
            &[entry, "--host", "127.0.0.1", "--port", &port],
        )
    };

    let out = start("wsgi.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_refused(
        &out,
        &[
            &format!("{} (script) does not load", wsgi.display()),
            "--lazy-app skips this check",
            &format!("  File \"{}\", line 1, in <module>", wsgi.display()),
            &format!("  File \"{}\", line 2, in <module>", helper.display()),
            "RuntimeError: the database URL is missing",
        ],
    );
    // The traceback starts at the user's code: nothing of rwsgi-express's.
    let first_frame = stderr
        .lines()
        .skip_while(|l| !l.contains("Traceback (most recent call last):"))
        .nth(1)
        .unwrap_or_default();
    assert!(first_frame.contains(&*wsgi.to_string_lossy()), "{stderr}");
    for generated in ["handler.wsgi", "<string>", "importlib"] {
        assert!(!stderr.contains(generated), "{generated} in:\n{stderr}");
    }
    // Apache never started.
    assert!(!app.server_root().join("httpd.pid").exists(), "{stderr}");

    // A module entry point: its own file first, Python's import machinery left out.
    let out = start("pkg.web");
    assert_refused(
        &out,
        &[
            "pkg.web (module) does not load",
            &format!(
                "  File \"{}\", line 1, in <module>",
                app.path().join("pkg/web.py").display()
            ),
            "RuntimeError: the database URL is missing",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("importlib") && !stderr.contains("handler.wsgi"),
        "{stderr}"
    );

    // A syntax error: the file, the line and the caret.
    app.write(
        "wsgi.py",
        "import os\n\ndef application(environ, start_response)\n    pass\n",
    );
    let out = start("wsgi.py");
    assert_refused(
        &out,
        &[
            &format!("  File \"{}\", line 3", wsgi.display()),
            "def application(environ, start_response)",
            "SyntaxError: expected ':'",
        ],
    );

    // A module that is not there.
    let out = start("nosuch.web");
    assert_refused(&out, &["ModuleNotFoundError: No module named 'nosuch'"]);
}

#[test]
fn the_check_imports_as_apaches_user_with_the_applications_python() {
    let app = AppDir::new();
    app.write(
        "wsgi.py",
        "import os, sys\nraise RuntimeError('imported by uid %d with Python %d.%d' % \
         ((os.geteuid(),) + sys.version_info[:2]))\n",
    );
    let out = app.run(
        "start-server",
        &["wsgi.py", "--port", &free_port().to_string()],
    );
    // Root starts the children as www-data; anyone else as themselves.
    let uid = if is_root() {
        nix::unistd::User::from_name("www-data")
            .unwrap()
            .unwrap()
            .uid
            .as_raw()
    } else {
        my_uid()
    };
    let who = format!(
        "imported by uid {uid} with Python {}",
        env!("RWSGI_PYTHON_VERSION")
    );
    assert_refused(&out, &[&who]);
    if is_root() {
        assert_refused(&out, &["(imported as www-data with "]);
    }
}

#[test]
fn lazy_app_serves_500_and_the_log_names_the_users_code() {
    let app = AppDir::new();
    let wsgi = app.write(
        "wsgi.py",
        "import helper\napplication = helper.application\n",
    );
    app.write("helper.py", BROKEN_HELPER);
    app.write("pkg/__init__.py", "");
    let web = app.write("pkg/web.py", "import helper\n");
    // Daemon mode with a script, embedded mode with a module.
    let cases = [
        (
            vec!["wsgi.py"],
            format!(
                "RW0102: failed to load the WSGI application {}",
                wsgi.display()
            ),
            wsgi,
        ),
        (
            vec!["pkg.web", "--embedded-mode"],
            "RW0102: failed to load the WSGI application module pkg.web".to_owned(),
            web,
        ),
    ];
    for (args, header, first_file) in cases {
        let mut all = args.clone();
        all.push("--lazy-app");
        let express = app.start(&all);
        let (status, _) = express.get("/");
        assert_eq!(status, 500, "{}", express.output());
        let log = express.wait_for_log("RuntimeError: the database URL is missing");
        let after = error_log::messages_after(&log, &header);
        assert_eq!(
            after.first().map(String::as_str),
            Some("Traceback (most recent call last):"),
            "{log}"
        );
        let frame = format!("  File \"{}\", line 1, in <module>", first_file.display());
        assert_eq!(after.get(1), Some(&frame), "{log}");
        assert!(!log.contains("handler.wsgi"), "{log}");
        drop(express);
    }
}

#[test]
fn an_application_that_imports_mod_wsgi_is_noted_and_served() {
    // APP imports mod_wsgi, which exists only inside Apache: the check cannot import it.
    let app = AppDir::new();
    let express = app.start(&["wsgi.py"]);
    assert_eq!(express.get("/").0, 200);
    let stderr = std::fs::read_to_string(&express.err).unwrap();
    assert!(
        stderr.contains("imports mod_wsgi, which exists only inside Apache: it was not checked"),
        "{stderr}"
    );
}
