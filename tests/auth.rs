//! The Python auth hooks through a real Apache: Basic and Digest authentication against a
//! Python user store (WSGIAuthUserScript, the `wsgi` authn provider), group checks
//! (WSGIAuthGroupScript, `Require wsgi-group`), access by client address
//! (WSGIAccessScript), with real requests (ureq, and curl for Digest).

mod harness;

use harness::*;

const MODULES: &str = "LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule auth_digest_module /usr/lib/apache2/modules/mod_auth_digest.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
";

/// One protected location per case; `app` is where the application runs (an alias option).
fn config(app: &str) -> String {
    let basic = |path: &str, require: &str, group: bool| {
        format!(
            "WSGIScriptAlias {path} {{root}}/apps/auth/app.py{app}\n\
             <Location {path}>\n  AuthType Basic\n  AuthName \"rwsgi test\"\n\
             \x20 AuthBasicProvider wsgi\n  WSGIAuthUserScript {{root}}/apps/auth/users.py\n{}\
             \x20 Require {require}\n</Location>\n",
            if group {
                "  WSGIAuthGroupScript {root}/apps/auth/users.py\n  WSGIGroupAuthoritative On\n"
            } else {
                ""
            }
        )
    };
    format!(
        "{MODULES}{}{}{}\
         WSGIScriptAlias /digest {{root}}/apps/auth/app.py{app}\n\
         <Location /digest>\n  AuthType Digest\n  AuthName \"rwsgi digest\"\n\
         \x20 AuthDigestProvider wsgi\n  AuthDigestDomain /digest\n\
         \x20 WSGIAuthUserScript {{root}}/apps/auth/users.py\n  Require valid-user\n</Location>\n\
         WSGIScriptAlias /access {{root}}/apps/auth/app.py{app}\n\
         <Location /access>\n  WSGIAccessScript {{root}}/apps/auth/access.py\n</Location>\n",
        basic("/basic", "valid-user", false),
        basic("/admins", "wsgi-group admins", true),
        basic("/staff", "wsgi-group \"staff\" admins", true),
    )
}

fn base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn as_user(apache: &Apache, path: &str, user: &str, password: &str) -> Reply {
    let credentials = format!("Basic {}", base64(&format!("{user}:{password}")));
    get_with(&apache.url(path), &[("Authorization", &credentials)])
}

/// Digest with curl: its status and body.
fn digest(apache: &Apache, user: &str, password: &str) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "--digest", "-u", &format!("{user}:{password}")])
        .args(["-w", "\n%{http_code}", &apache.url("/digest")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.to_owned(), body.to_owned())
}

fn assert_basic(apache: &Apache) {
    assert_eq!(get(&apache.url("/basic")).status, 401);
    let ok = as_user(apache, "/basic", "alice", "wonderland");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), "user=alice auth=Basic\n");
    // Wrong password (False) and unknown user (None) both get 401.
    assert_eq!(as_user(apache, "/basic", "alice", "wrong").status, 401);
    assert_eq!(as_user(apache, "/basic", "nobody", "x").status, 401);
    // A user name returned instead of True is the user the request runs as.
    let alias = as_user(apache, "/basic", "alias", "wonderland");
    assert_eq!(alias.text(), "user=alice auth=Basic\n");
    // wsgi.errors of the hook's environ reaches the log.
    apache.wait_for_log("check_password for alice on /basic");
}

#[test]
fn basic_authentication_against_a_python_user_store() {
    let apache = Apache::start(Mpm::Event, &config(""));
    assert_basic(&apache);
    // An exception in the hook: 500, and its traceback in the log.
    assert_eq!(as_user(&apache, "/basic", "mallory", "x").status, 500);
    let log = apache.wait_for_log("mallory is not welcome");
    assert!(log.contains("RW0123: auth script"), "{log}");
    assert!(log.contains("in check_password"), "{log}");
    // The server keeps serving.
    assert_eq!(as_user(&apache, "/basic", "bob", "builder").status, 200);
}

#[test]
fn digest_authentication_uses_get_realm_hash() {
    let apache = Apache::start(Mpm::Event, &config(""));
    let (code, body) = digest(&apache, "alice", "wonderland");
    assert_eq!(code, "200", "{body}");
    assert_eq!(body, "user=alice auth=Digest\n");
    assert_eq!(digest(&apache, "alice", "wrong").0, "401");
    assert_eq!(digest(&apache, "nobody", "x").0, "401");
    apache.assert_log_clean(&[]);
}

#[test]
fn group_checks_use_groups_for_user() {
    let apache = Apache::start(Mpm::Prefork, &config(""));
    assert_eq!(
        as_user(&apache, "/admins", "alice", "wonderland").status,
        200
    );
    // Authenticated, but not in the group: Apache asks for other credentials (401).
    assert_eq!(as_user(&apache, "/admins", "bob", "builder").status, 401);
    assert_eq!(as_user(&apache, "/staff", "bob", "builder").status, 200);
    assert_eq!(
        as_user(&apache, "/staff", "alice", "wonderland").status,
        200
    );
    assert_eq!(as_user(&apache, "/staff", "carol", "s3cret").status, 401);
    assert_eq!(get(&apache.url("/staff")).status, 401);
}

#[test]
fn access_script_decides_by_client_address() {
    let apache = Apache::start(Mpm::Event, &config(""));
    let verdict = |v: &str| get_with(&apache.url("/access"), &[("X-Verdict", v)]).status;
    // True for 127.0.0.1.
    assert_eq!(get(&apache.url("/access")).status, 200);
    assert_eq!(verdict("deny"), 403);
    // None declines to the other access modules: nothing else forbids it.
    assert_eq!(verdict("none"), 200);
    assert_eq!(verdict("raise"), 500);
    apache.wait_for_log("access script failed on purpose");
    assert_eq!(verdict("weird"), 500);
    let log = apache.wait_for_log("RW0124");
    assert!(
        log.contains("allow_access() of auth script") && log.contains("returned a int"),
        "{log}"
    );
}

/// The hooks run in the Apache children even when the application runs in a daemon and
/// embedded mode is off (WSGIRestrictEmbedded On), as in mod_wsgi.
#[test]
fn hooks_run_in_apache_children_when_the_app_runs_in_a_daemon() {
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "WSGIRestrictEmbedded On\nWSGIDaemonProcess app processes=1 threads=2\n{}",
            config(" process-group=app")
        ),
    );
    assert_basic(&apache);
    assert_eq!(digest(&apache, "bob", "builder").0, "200");
}

#[test]
fn auth_directives_are_checked() {
    let text = config_error("<Location /x>\n  WSGIAuthUserScript\n</Location>\n");
    assert_mentions(&text, &["WSGIAuthUserScript", "script path"]);
    let text = config_error(
        "<Location /x>\n  WSGIAccessScript {root}/apps/auth/access.py process-group=x\n</Location>\n",
    );
    assert_mentions(&text, &["WSGIAccessScript", "process-group"]);
    let text = config_error("<Location /x>\n  WSGIGroupAuthoritative Maybe\n</Location>\n");
    assert_mentions(&text, &["WSGIGroupAuthoritative"]);
}

/// A changed auth script is loaded again (WSGIScriptReloading, On by default).
#[test]
fn a_changed_auth_script_is_loaded_again() {
    let stage = Stage::new(Mpm::Event);
    let apache = stage.start(&config(""));
    assert_eq!(
        as_user(&apache, "/basic", "alice", "wonderland").status,
        200
    );
    let path = apache.stage.write(
        "apps/auth/users.py",
        "def check_password(environ, user, password):\n    return password == 'changed'\n",
    );
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(30))
        .unwrap();
    assert_eq!(
        as_user(&apache, "/basic", "alice", "wonderland").status,
        401
    );
    assert_eq!(as_user(&apache, "/basic", "alice", "changed").status, 200);
}

/// The directives work in .htaccess files (AllowOverride AuthConfig), read while other
/// requests are served.
#[test]
fn auth_directives_in_htaccess() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "site/app.py",
        &std::fs::read_to_string(apps_source().join("auth/app.py")).unwrap(),
    );
    stage.write(
        "site/.htaccess",
        "AuthType Basic\nAuthName \"rwsgi htaccess\"\nAuthBasicProvider wsgi\n\
         WSGIAuthUserScript {root}/apps/auth/users.py\nRequire valid-user\n"
            .replace("{root}", &stage.root().display().to_string())
            .as_str(),
    );
    let apache = stage.start(&format!(
        "{MODULES}WSGIScriptAlias /site {{root}}/site/app.py\n\
         <Directory {{root}}/site>\n  AllowOverride AuthConfig\n</Directory>\n"
    ));
    assert_eq!(get(&apache.url("/site")).status, 401);
    let ok = as_user(&apache, "/site", "carol", "s3cret");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), "user=carol auth=Basic\n");
}

/// An auth hook runs in `%{GLOBAL}`, which keeps the Apache children's main interpreter:
/// an embedded application in another group runs in a sub-interpreter whichever request
/// comes first.
#[test]
fn a_global_auth_hook_keeps_the_main_interpreter() {
    let apache = Apache::start(
        Mpm::Event,
        &format!(
            "{MODULES}WSGIScriptAlias /open {{root}}/apps/group_info.py\n\
             WSGIScriptAlias /basic {{root}}/apps/auth/app.py\n\
             <Location /basic>\n  AuthType Basic\n  AuthName x\n  AuthBasicProvider wsgi\n\
             \x20 WSGIAuthUserScript {{root}}/apps/auth/users.py\n  Require valid-user\n</Location>\n"
        ),
    );
    let open = kv(&get(&apache.url("/open")).text());
    assert_eq!(open["main"], "False", "{open:?}");
    assert_eq!(
        as_user(&apache, "/basic", "alice", "wonderland").status,
        200
    );
}
