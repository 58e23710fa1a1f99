//! Configurations that public projects document for mod_wsgi, and where rwsgi once broke
//! them (issue "Real deployments, unchanged"): static files beside a root mount, deploys by
//! touching the script, quoted option values, `sys.path` order, rewrite front controllers,
//! `%{ENV:…}` process groups, and the order of rwsgi's hooks among Apache's own modules.
//! Each test runs the configuration through a real Apache.

mod harness;

use std::collections::HashSet;
use std::time::Duration;

use harness::*;

const MODULES: &str = "/usr/lib/apache2/modules";

fn load(module: &str, file: &str) -> String {
    format!("LoadModule {module} {MODULES}/{file}\n")
}

/// `sys.path` as `apps/sys_path.py` reports it.
fn sys_path(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("path="))
        .map(str::to_owned)
        .collect()
}

/// Django's documented deployment: `Alias /static/` beside `WSGIScriptAlias /` serves the
/// files, because rwsgi maps URLs after mod_alias, as mod_wsgi does.
#[test]
fn an_alias_beside_a_root_mount_serves_static_files() {
    let stage = Stage::new(Mpm::Event);
    stage.write("static/admin/css/base.css", "body { color: teal }\n");
    stage.write("media/upload.txt", "uploaded\n");
    let apache = stage.start(
        "Alias /robots.txt {root}/static/robots.txt\n\
         Alias /media/ {root}/media/\n\
         Alias /static/ {root}/static/\n\
         WSGIScriptAlias / {root}/apps/environ.py\n",
    );
    let css = get(&apache.url("/static/admin/css/base.css"));
    assert_eq!(css.status, 200);
    assert_eq!(css.text(), "body { color: teal }\n");
    assert_eq!(get(&apache.url("/media/upload.txt")).text(), "uploaded\n");
    // A missing static file is Apache's 404, not the application's page.
    let missing = get(&apache.url("/static/nothing.css"));
    assert_eq!(missing.status, 404);
    assert!(!missing.text().contains("SCRIPT_NAME="));
    let env = kv(&get(&apache.url("/admin/login/")).text());
    assert_eq!(env["SCRIPT_NAME"], "");
    assert_eq!(env["PATH_INFO"], "/admin/login/");
    apache.assert_log_clean(&[]);
}

/// rwsgi's `translate_name` runs after mod_rewrite's and mod_alias's and before
/// mod_userdir's and mod_vhost_alias's (mod_wsgi's order), all four loaded: a mount wins
/// over a `~user` directory and a virtual document root, which still serve every other
/// URL; an Alias inside a mount and a rewrite into one work.
#[test]
fn translate_name_runs_in_mod_wsgis_order_among_apaches_modules() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "vhosts/127.0.0.1/hello.txt",
        "from the virtual document root\n",
    );
    stage.write("static/hello.txt", "from an Alias\n");
    let apache = stage.start(&format!(
        "{}{}{}UserDir public_html\n\
         VirtualDocumentRoot {{root}}/vhosts/%0\n\
         Alias /app/static {{root}}/static\n\
         RewriteEngine On\n\
         RewriteRule ^/legacy/(.*)$ /app/$1 [PT]\n\
         WSGIScriptAlias /~nobody {{root}}/apps/environ.py\n\
         WSGIScriptAlias /app {{root}}/apps/environ.py\n",
        load("userdir_module", "mod_userdir.so"),
        load("vhost_alias_module", "mod_vhost_alias.so"),
        load("rewrite_module", "mod_rewrite.so"),
    ));
    let env = kv(&get(&apache.url("/~nobody/x")).text());
    assert_eq!(env["SCRIPT_NAME"], "/~nobody");
    assert_eq!(env["PATH_INFO"], "/x");
    let env = kv(&get(&apache.url("/app/y")).text());
    assert_eq!(env["SCRIPT_NAME"], "/app");
    let file = get(&apache.url("/hello.txt"));
    assert_eq!(file.text(), "from the virtual document root\n");
    // mod_rewrite's server rules come first of all; mod_alias before rwsgi.
    let env = kv(&get(&apache.url("/legacy/z")).text());
    assert_eq!(env["SCRIPT_NAME"], "/app");
    assert_eq!(env["PATH_INFO"], "/z");
    assert_eq!(env["REQUEST_URI"], "/legacy/z");
    assert_eq!(
        get(&apache.url("/app/static/hello.txt")).text(),
        "from an Alias\n"
    );
    apache.assert_log_clean(&[]);
}

/// A rewrite front controller (`RewriteRule ^(.*)$ /app.wsgi/$1 [QSA,PT,L]` in the
/// directory, with `AddHandler wsgi-script .wsgi`, as PHP-style applications deploy): the
/// rewrite is an internal redirect, and the application still sees the URL the client asked for in
/// `REQUEST_URI`, and its own script in `SCRIPT_NAME`.
#[test]
fn a_rewrite_front_controller_keeps_the_clients_url_in_request_uri() {
    let stage = Stage::new(Mpm::Event);
    let app = std::fs::read_to_string(apps_source().join("environ.py")).unwrap();
    stage.write("htdocs/app.wsgi", &app);
    let apache = stage.start(&format!(
        "{}AddHandler wsgi-script .wsgi\n\
         <Directory {{root}}/htdocs>\n  Options +ExecCGI\n  RewriteEngine On\n  \
         RewriteCond %{{REQUEST_FILENAME}} !-f\n  \
         RewriteRule ^(.*)$ /app.wsgi/$1 [QSA,PT,L]\n</Directory>\n",
        load("rewrite_module", "mod_rewrite.so"),
    ));
    for path in ["/foo/bar?x=1", "/a%20b/?q=%C3%A9"] {
        let env = kv(&get(&apache.url(path)).text());
        assert_eq!(env["REQUEST_URI"], path);
        assert_eq!(env["SCRIPT_NAME"], "/app.wsgi");
    }
    let env = kv(&get(&apache.url("/foo/bar?x=1")).text());
    assert_eq!(env["PATH_INFO"], "/foo/bar");
    assert_eq!(env["QUERY_STRING"], "x=1");
    apache.assert_log_clean(&[]);
}

/// `WSGIProcessGroup %{ENV:…}` with the variable unset for a request: 500 and a log line
/// naming the variable; the request never runs embedded, in the Apache child.
#[test]
fn an_unset_process_group_variable_runs_nothing() {
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "{}WSGIDaemonProcess picked processes=1 threads=2\n\
             SetEnvIf Request_URI ^/picked APP_GROUP=picked\n\
             WSGIProcessGroup %{{ENV:APP_GROUP}}\n\
             WSGIScriptAlias /picked {{root}}/apps/environ.py\n\
             WSGIScriptAlias /unpicked {{root}}/apps/environ.py\n",
            load("setenvif_module", "mod_setenvif.so"),
        ),
    );
    let env = kv(&get(&apache.url("/picked")).text());
    assert_eq!(env["mod_wsgi.process_group"], "picked");
    let reply = get(&apache.url("/unpicked"));
    assert_eq!(reply.status, 500);
    assert!(!reply.text().contains("SCRIPT_NAME="), "{}", reply.text());
    apache.assert_log("RW0116: the process group is %{ENV:APP_GROUP} and APP_GROUP is not set");
    apache.assert_log_clean(&["RW0116"]);
}

/// Apache's quoting rules hold for option values, as mod_wsgi reads them: Django's classic
/// `lang='en_US.UTF-8' locale='en_US.UTF-8'` and a quoted `python-home=`.
#[test]
fn quoted_option_values_lose_their_quotes() {
    let stage = Stage::new(Mpm::Event);
    let prefix = python_prefix();
    let apache = stage.start(&format!(
        "WSGIDaemonProcess quoted processes=1 threads=1 python-home=\"{prefix}\" \
         home=\"{{root}}/apps\" python-path='{{root}}/apps/dir_lib' lang='C.UTF-8' \
         locale=\"C.UTF-8\" display-name='(quoted group)'\n\
         WSGIScriptAlias \"/quoted app\" \"{{root}}/apps/sys_path.py\" process-group=\"quoted\"\n"
    ));
    let reply = get(&apache.url("/quoted%20app"));
    assert_eq!(reply.status, 200, "{}", apache.error_log());
    let env = kv(&reply.text());
    assert_eq!(env["LANG"], "C.UTF-8");
    assert_eq!(env["locale"], "C.UTF-8");
    let root = apache.root().display().to_string();
    assert_eq!(env["cwd"], format!("{root}/apps"));
    let path = sys_path(&reply.text());
    assert!(path.contains(&format!("{root}/apps/dir_lib")), "{path:?}");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", env["pid"])).unwrap();
    assert!(
        cmdline.starts_with(b"(quoted group)"),
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    apache.assert_log_clean(&[]);
}

/// The `sys.prefix` of the Python under test.
fn python_prefix() -> String {
    if let Ok(home) = std::env::var("RWSGI_TEST_PYTHON_HOME") {
        return home;
    }
    let out = std::process::Command::new(test_python())
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `home=` first, then `python-path=` (with what their `.pth` files add), ahead of the
/// standard library and site-packages, so a project's own module shadows an installed
/// one of the same name; `WSGIPythonPath` likewise in embedded mode. mod_wsgi's order.
#[test]
fn application_directories_come_first_on_sys_path() {
    let stage = Stage::new(Mpm::Event);
    for dir in ["h", "a", "b", "c", "e1", "e2"] {
        stage.write(&format!("paths/{dir}/.keep"), "");
    }
    stage.write(
        "paths/a/extra.pth",
        &format!("{}/paths/c\n", stage.root().display()),
    );
    let apache = stage.start(
        "WSGIPythonPath {root}/paths/e1:{root}/paths/e2\n\
         WSGIDaemonProcess ordered processes=1 threads=1 home={root}/paths/h \
         python-path={root}/paths/a:{root}/paths/b\n\
         WSGIScriptAlias /daemon {root}/apps/sys_path.py process-group=ordered\n\
         WSGIScriptAlias /embedded {root}/apps/sys_path.py\n",
    );
    let root = apache.root().display().to_string();
    let dir = |d: &str| format!("{root}/paths/{d}");
    let daemon = sys_path(&get(&apache.url("/daemon")).text());
    assert_eq!(
        daemon[..4],
        [dir("h"), dir("a"), dir("c"), dir("b")],
        "{daemon:#?}"
    );
    // WSGIPythonPath is embedded mode's, as in mod_wsgi: a daemon group has python-path=.
    assert!(!daemon.contains(&dir("e1")), "{daemon:#?}");
    let embedded = sys_path(&get(&apache.url("/embedded")).text());
    assert_eq!(embedded[..2], [dir("e1"), dir("e2")], "{embedded:#?}");
    for path in [&daemon, &embedded] {
        let stdlib = path
            .iter()
            .position(|p| p.ends_with("/lib/python3") || p.contains("/lib/python3."))
            .unwrap();
        assert!(stdlib >= 2, "{path:#?}");
    }
    apache.assert_log_clean(&[]);
}

/// Touch-to-deploy in daemon mode: after `wsgi.py` changes, the next request runs the new
/// code everywhere, modules it imports included (a Django project's views), because the
/// daemon process restarts instead of re-running the script beside the old modules. No
/// request fails on the way.
#[test]
fn touching_the_script_deploys_new_code_in_daemon_mode() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "site/wsgi.py",
        "import os\nimport views\n\n\ndef application(environ, start_response):\n    \
         body = ('%s pid=%d' % (views.VERSION, os.getpid())).encode()\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [body]\n",
    );
    stage.write("site/views.py", "VERSION = 'one'\n");
    let apache = stage.start(
        "WSGIDaemonProcess deploy processes=2 threads=2 python-path={root}/site\n\
         WSGIScriptAlias / {root}/site/wsgi.py process-group=deploy\n",
    );
    let url = apache.url("/");
    // The first version, loaded by whichever processes these requests reach (Apache's
    // children keep their daemon connections, so it may be one).
    let mut old_pids = HashSet::new();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| get(&url))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in replies {
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(text.starts_with("one pid="), "{text}");
        old_pids.insert(text.split("pid=").nth(1).unwrap().to_owned());
    }
    stage_write_views(&apache, "two");
    let path = apache.root().join("site/wsgi.py");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(30))
        .unwrap();
    // Every request from now on runs the new code; no process that ran the old one answers.
    for _ in 0..6 {
        let reply = get(&url);
        assert_eq!(reply.status, 200, "{}", apache.error_log());
        let text = reply.text();
        assert!(text.starts_with("two pid="), "{text}");
        let pid = text.split("pid=").nth(1).unwrap();
        assert!(!old_pids.contains(pid), "an old process answered: {text}");
    }
    apache.assert_log("RW0221: WSGI script");
    apache.assert_log("recycles (script-reload)");
    apache.assert_log_clean(&[]);
}

fn stage_write_views(apache: &Apache, version: &str) {
    let path = apache.root().join("site/views.py");
    std::fs::write(&path, format!("VERSION = '{version}'\n")).unwrap();
}

/// rwsgi's access hook runs after mod_ssl's (mod_wsgi's order): a location that requires
/// HTTPS refuses a plain request before the access script runs.
#[test]
fn the_access_script_runs_after_mod_ssl() {
    let stage = Stage::new(Mpm::Event);
    // The auth hooks' environ has no SetEnv variables: the path is in the script.
    stage.write(
        "calls/access.py",
        &format!(
            "def allow_access(environ, host):\n    \
             with open('{}/calls/out/calls.txt', 'a') as f:\n        \
             f.write(environ['REQUEST_URI'] + '\\n')\n    return True\n",
            stage.root().display()
        ),
    );
    std::fs::create_dir_all(stage.root().join("calls/out")).unwrap();
    chmod_world_writable(&stage.root().join("calls/out"));
    let apache = stage.start(&format!(
        "{}{}<Location /secure>\n  SSLRequireSSL\n  WSGIAccessScript {{root}}/calls/access.py\n</Location>\n\
         <Location /open>\n  WSGIAccessScript {{root}}/calls/access.py\n</Location>\n\
         WSGIScriptAlias /secure {{root}}/apps/environ.py\n\
         WSGIScriptAlias /open {{root}}/apps/environ.py\n",
        load("socache_shmcb_module", "mod_socache_shmcb.so"),
        load("ssl_module", "mod_ssl.so"),
    ));
    assert_eq!(get(&apache.url("/secure")).status, 403);
    assert_eq!(get(&apache.url("/open")).status, 200);
    let calls = std::fs::read_to_string(apache.root().join("calls/out/calls.txt")).unwrap();
    assert_eq!(calls, "/open\n");
}

fn chmod_world_writable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
}
