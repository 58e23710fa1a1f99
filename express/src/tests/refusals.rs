//! Command lines rwsgi-express refuses, and how it tells entry points apart.

use super::*;

#[test]
fn refusals_name_the_problem() {
    let f = Fixture::new();
    let cases: &[(u32, &[&str], &str)] = &[
        (1000, &[], "no application given"),
        (
            1000,
            &["wsgi.py", "--auth-user-script", "nothere.py"],
            "--auth-user-script",
        ),
        (
            1000,
            &[
                "wsgi.py",
                "--auth-user-script",
                "auth.py",
                "--auth-type",
                "NTLM",
            ],
            "Basic or Digest",
        ),
        (
            1000,
            &["wsgi.py", "--auth-group-script", "auth.py"],
            "needs --auth-user-script",
        ),
        (
            1000,
            &["wsgi.py", "--auth-group", "x"],
            "needs --auth-group-script",
        ),
        (1000, &["missing.py"], "missing.py does not exist"),
        (1000, &["app.wsgi"], "app.wsgi does not exist"),
        (1000, &["site/app"], "site/app does not exist"),
        (1000, &["wsgi.py", "--entry-point", "x"], "not both"),
        (1000, &["pkg.app:"], "for a module entry point write"),
        (
            1000,
            &["--entry-point", "a-b", "--application-type", "module"],
            "is not a module entry point",
        ),
        (
            1000,
            &["wsgi.py", "--mount-point", "app"],
            "must start with /",
        ),
        (
            1000,
            &["wsgi.py", "--server-mpm", "prefork", "--embedded-mode"],
            "--threads 1",
        ),
        (
            1000,
            &["wsgi.py", "--process-group", "my group"],
            "cannot name a daemon process group",
        ),
        (
            1000,
            &["wsgi.py", "--process-group", "a/b"],
            "is not a valid group name",
        ),
        (
            1000,
            &["wsgi.py", "--header-buffer-size", "100"],
            "--header-buffer-size 100: WSGIDaemonProcess localhost:8000: header-buffer-size=100: expected 8192",
        ),
        (
            1000,
            &["wsgi.py", "--daemon-backlog", "0"],
            "--daemon-backlog 0: WSGIDaemonProcess localhost:8000: listen-backlog=0",
        ),
        (
            1000,
            &["wsgi.py", "--user", "nobody"],
            "need rwsgi-express to be started as root",
        ),
        (
            1000,
            &["wsgi.py", "--setenv", "A B", "x"],
            "is not an environment variable name",
        ),
        (
            1000,
            &["wsgi.py", "--mount-point", "/a\nInclude /etc/x"],
            "contains a control character",
        ),
        (
            1000,
            &["wsgi.py", "--application-group", "a b"],
            "without spaces",
        ),
        (
            1000,
            &["wsgi.py", "--python-home", "nothere"],
            "is not a directory",
        ),
        (0, &["wsgi.py", "--user", "root"], "must not run as root"),
        (
            0,
            &["wsgi.py", "--user", "nosuch"],
            "--user nosuch: no such user",
        ),
        (
            0,
            &["wsgi.py", "--group", "nosuch"],
            "--group nosuch: no such group",
        ),
        (
            1000,
            &["wsgi.py", "--https-port", "8443"],
            "needs a certificate",
        ),
        (1000, &["wsgi.py", "--https-only"], "need --https-port"),
        (
            1000,
            &["wsgi.py", "--url-alias", "static", "static"],
            "must start with /",
        ),
        (
            1000,
            &["wsgi.py", "--url-alias", "/s", "nothere"],
            "no such file or directory",
        ),
        (
            1000,
            &["wsgi.py", "--document-root", "nothere"],
            "is not a directory",
        ),
        (
            1000,
            &["wsgi.py", "--include-file", "nothere"],
            "no such file",
        ),
        (
            1000,
            &["wsgi.py", "--application-type", "static"],
            "do not give an application",
        ),
    ];
    for (uid, args, expected) in cases {
        let message = f.error(*uid, args);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

#[test]
fn entry_points_are_classified() {
    let f = Fixture::new();
    assert_eq!(
        f.plan(&["wsgi.py"]).app,
        plan::App::Script(f.path().join("wsgi.py"))
    );
    let module = f.plan(&["pkg.app"]);
    assert_eq!(module.app, plan::App::Module("pkg.app".into()));
    assert_eq!(module.callable, "application");
    let named = f.plan(&["pkg.app:server", "--callable-object", "ignored"]);
    assert_eq!(named.callable, "server");
    let forced = f.plan(&["--entry-point", "pkg", "--application-type", "module"]);
    assert_eq!(forced.app, plan::App::Module("pkg".into()));
    // Django's `mysite.wsgi` is a module when mysite/wsgi.py is there (as gunicorn takes
    // it); `app.wsgi` with no such module is a script that is missing (refusals above).
    std::fs::create_dir_all(f.path().join("mysite")).unwrap();
    std::fs::write(f.path().join("mysite/wsgi.py"), "application = None\n").unwrap();
    assert_eq!(
        f.plan(&["mysite.wsgi"]).app,
        plan::App::Module("mysite.wsgi".into())
    );
    // sys.path: the working directory, then the script's directory.
    let sub = f.plan(&["static/../wsgi.py", "--python-path", "lib"]);
    assert_eq!(sub.python_path, vec![f.path(), f.path().join("lib")]);
    assert!(
        Path::new(&f.plan(&["wsgi.py"]).server_root).ends_with("rwsgi-express-localhost:8000:1000")
    );
}
