//! Configuration directives: what `apache2 -t` accepts and rejects, and what each
//! implemented directive does to requests served by a real Apache.
mod harness;
use harness::*;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// GET `path` from `dir_env.py` (or whatever answers) and parse its `key=value` lines,
/// asserting a 200 from dir_env.
fn env_at(apache: &Apache, path: &str) -> BTreeMap<String, String> {
    env_with(apache, path, &[])
}

/// GETs `path` and checks how it was split into SCRIPT_NAME and PATH_INFO.
fn split_at(
    apache: &Apache,
    path: &str,
    script_name: &str,
    path_info: &str,
) -> BTreeMap<String, String> {
    let env = env_at(apache, path);
    assert_eq!(
        var(&env, "SCRIPT_NAME"),
        Some(script_name),
        "SCRIPT_NAME for {path}"
    );
    assert_eq!(
        var(&env, "PATH_INFO"),
        Some(path_info),
        "PATH_INFO for {path}"
    );
    env
}

fn var<'a>(env: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str)
}

/// Sends a HEAD request and returns the raw response head.
fn head(apache: &Apache, path: &str) -> String {
    let req = format!("HEAD {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let out = raw(apache.port(), req.as_bytes(), Duration::from_secs(10));
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of a header in a raw response head (case-insensitive name).
fn raw_header(response: &str, name: &str) -> Option<String> {
    response.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

// ---------------------------------------------------------------------------------------
// apache2 -t: accepted configurations
// ---------------------------------------------------------------------------------------

#[test]
fn config_test_passes_under_every_mpm() {
    for mpm in Mpm::ALL {
        let stage = Stage::new(mpm);
        let out = stage.config_test("WSGIScriptAlias /app {root}/apps/dir_env.py\n");
        let text = output_text(&out);
        assert!(
            out.status.success(),
            "apache2 -t failed under {mpm:?}:\n{text}"
        );
        assert!(
            text.contains("Syntax OK"),
            "no 'Syntax OK' under {mpm:?}:\n{text}"
        );
    }
}

#[test]
fn config_test_accepts_every_implemented_directive() {
    let stage = Stage::new(Mpm::Event);
    let out = stage.config_test(
        "WSGIScriptAlias /app {root}/apps/dir_env.py process-group=%{GLOBAL} application-group=%{GLOBAL} callable-object=application pass-authorization=Off\n\
         WSGIScriptAliasMatch ^/m/([a-z_]+) {root}/apps/$1.py\n\
         WSGIHandlerScript my-handler {root}/apps/dir_handler.py\n\
         WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
         WSGIProcessGroup %{GLOBAL}\n\
         WSGIApplicationGroup %{GLOBAL}\n\
         WSGICallableObject application\n\
         WSGIPassAuthorization off\n\
         WSGIScriptReloading ON\n\
         WSGIChunkedRequest Off\n\
         WSGIMapHEADToGET Auto\n\
         WSGIRestrictEmbedded Off\n\
         WSGIPythonPath {root}/apps/dir_lib\n\
         WSGIDontWriteBytecode On\n\
         WSGIPythonOptimize 2\n\
         WSGIPythonHashSeed 4294967295\n\
         WSGIPythonWarnings ignore::DeprecationWarning\n\
         WSGIDestroyInterpreter On\n\
         WSGIRestrictSignal On\n\
         WSGISwitchInterval 0.005\n\
         WSGIVerboseDebugging Off\n\
         WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto\n\
         WSGITrustedProxies 10.0.0.0/8 ::1\n\
         <Location /x>\n  WSGIProcessGroup %{ENV:RWSGI_GROUP}\n  WSGIPassAuthorization On\n</Location>\n",
    );
    let text = output_text(&out);
    assert!(out.status.success(), "apache2 -t failed:\n{text}");
    assert!(text.contains("Syntax OK"), "{text}");
}

// ---------------------------------------------------------------------------------------
// apache2 -t: recognised but unsupported, removed, and invalid values
// ---------------------------------------------------------------------------------------

#[test]
fn daemon_directives_pass_the_config_test() {
    let out = Stage::new(Mpm::Event).config_test(
        "WSGISocketPrefix run/wsgi
WSGISocketRotation Off
WSGIAcceptMutex default
         WSGIDaemonProcess site processes=2 threads=15
         WSGIScriptAlias /app {root}/apps/dir_env.py
         <Location /app>
  WSGIProcessGroup site
  WSGIRestrictProcess site %{GLOBAL}
</Location>
",
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
}

#[test]
fn auth_script_outside_a_directory_fails_the_config_test() {
    // Apache's own context check: the hooks belong to <Directory>/<Location>/.htaccess.
    let text = config_error("WSGIAuthUserScript {root}/apps/dir_env.py\n");
    assert_mentions(&text, &["WSGIAuthUserScript", "not allowed here"]);
}

#[test]
fn interpreter_options_sections_are_checked_line_by_line() {
    let out = Stage::new(Mpm::Event).config_test(
        "<WSGIInterpreterOptions application-group=x>\n  WSGIRestrictStdin On\n</WSGIInterpreterOptions>\n",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let text = config_error(
        "<WSGIInterpreterOptions process-group=p>\n  WSGISwitchInterval soon\n</WSGIInterpreterOptions>\n",
    );
    assert_mentions(
        &text,
        &[
            "WSGISwitchInterval",
            "positive number of seconds",
            "inside <WSGIInterpreterOptions> at",
        ],
    );
}

/// `WSGIFreeThreading On` needs a free-threaded Python build; `Off` is what a GIL build
/// does anyway.
#[test]
fn free_threading_needs_a_free_threaded_python() {
    let text = config_error("WSGIFreeThreading On\n");
    assert_mentions(&text, &["WSGIFreeThreading", "free-threaded Python build"]);
    let out = Stage::new(Mpm::Event).config_test("WSGIFreeThreading Off\n");
    assert!(out.status.success(), "{}", output_text(&out));
}

/// `WSGIPerInterpreterGIL On` needs Python 3.12 (PEP 684): accepted there, refused on
/// 3.11 naming what it needs.
#[test]
fn per_interpreter_gil_needs_python_3_12() {
    let out = Command::new(test_python())
        .args(["-c", "import sys; print(sys.version_info >= (3, 12))"])
        .output()
        .unwrap();
    let supported = String::from_utf8_lossy(&out.stdout).trim() == "True";
    let snippet = "WSGIPerInterpreterGIL On\n";
    if supported {
        let out = Stage::new(Mpm::Event).config_test(snippet);
        assert!(out.status.success(), "{}", output_text(&out));
    } else {
        let text = config_error(snippet);
        assert_mentions(&text, &["WSGIPerInterpreterGIL", "Python 3.12", "3.11"]);
    }
    let out = Stage::new(Mpm::Event).config_test("WSGIPerInterpreterGIL Off\n");
    assert!(out.status.success(), "{}", output_text(&out));
}

#[test]
fn undefined_process_group_option_fails_the_config_test() {
    let text = config_error("WSGIScriptAlias /app {root}/apps/dir_env.py process-group=site\n");
    assert_mentions(
        &text,
        &[
            "WSGIScriptAlias",
            "process-group=site",
            "WSGIDaemonProcess site",
        ],
    );
}

#[test]
fn lazy_initialization_was_removed() {
    let text = config_error("WSGILazyInitialization On\n");
    assert_mentions(&text, &["WSGILazyInitialization", "removed"]);
}

#[test]
fn other_removed_directives_say_removed() {
    for (snippet, name) in [
        (
            "WSGINewRelicConfigFile /etc/newrelic.ini\n",
            "WSGINewRelicConfigFile",
        ),
        (
            "<Directory {root}/htdocs>\n  WSGIUserAuthoritative On\n</Directory>\n",
            "WSGIUserAuthoritative",
        ),
    ] {
        let text = config_error(snippet);
        assert_mentions(&text, &[name, "removed"]);
    }
}

#[test]
fn chunked_request_needs_on_or_off() {
    let text = config_error("WSGIChunkedRequest Maybe\n");
    assert_mentions(&text, &["WSGIChunkedRequest", "On or Off", "'Maybe'"]);
}

#[test]
fn flags_reject_other_words() {
    for (snippet, name) in [
        ("WSGIPassAuthorization yes\n", "WSGIPassAuthorization"),
        ("WSGIScriptReloading 1\n", "WSGIScriptReloading"),
        ("WSGIRestrictEmbedded true\n", "WSGIRestrictEmbedded"),
    ] {
        let text = config_error(snippet);
        assert_mentions(&text, &[name, "On or Off"]);
    }
    let text = config_error("WSGIMapHEADToGET Sometimes\n");
    assert_mentions(
        &text,
        &["WSGIMapHEADToGET", "On, Off or Auto", "'Sometimes'"],
    );
    let text =
        config_error("WSGIScriptAlias /app {root}/apps/dir_env.py pass-authorization=maybe\n");
    assert_mentions(&text, &["pass-authorization", "On or Off"]);
}

#[test]
fn python_optimize_accepts_only_0_1_2() {
    let text = config_error("WSGIPythonOptimize 3\n");
    assert_mentions(&text, &["WSGIPythonOptimize", "0, 1 or 2", "'3'"]);
}

#[test]
fn python_hash_seed_rejects_negative() {
    let text = config_error("WSGIPythonHashSeed -1\n");
    assert_mentions(&text, &["WSGIPythonHashSeed", "random", "'-1'"]);
    let text = config_error("WSGIPythonHashSeed 4294967296\n");
    assert_mentions(&text, &["WSGIPythonHashSeed", "'4294967296'"]);
}

#[test]
fn script_alias_rejects_unknown_option() {
    let text = config_error("WSGIScriptAlias /app {root}/apps/dir_env.py foo=bar\n");
    assert_mentions(&text, &["WSGIScriptAlias", "unknown option 'foo'"]);
}

#[test]
fn script_alias_rejects_bad_arguments() {
    let text = config_error("WSGIScriptAlias /app\n");
    assert_mentions(&text, &["WSGIScriptAlias", "expected a URL path"]);
    let text = config_error("WSGIScriptAlias app {root}/apps/dir_env.py\n");
    assert_mentions(&text, &["WSGIScriptAlias", "must start with '/'"]);
    let text = config_error(
        "WSGIScriptAlias /app {root}/apps/dir_env.py process-group=%{GLOBAL} process-group=%{GLOBAL}\n",
    );
    assert_mentions(&text, &["WSGIScriptAlias", "given twice"]);
}

#[test]
fn script_alias_match_rejects_invalid_regex() {
    let text = config_error("WSGIScriptAliasMatch ^/(x[ {root}/apps/$1.py\n");
    assert_mentions(
        &text,
        &["WSGIScriptAliasMatch", "not a valid regular expression"],
    );
}

#[test]
fn import_script_needs_application_group() {
    let text =
        config_error("WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL}\n");
    assert_mentions(&text, &["WSGIImportScript", "application-group="]);
    let text = config_error(
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{GLOBAL} callable-object=x\n",
    );
    assert_mentions(
        &text,
        &[
            "WSGIImportScript",
            "only process-group= and application-group=",
        ],
    );
}

#[test]
fn server_only_directive_rejected_in_virtual_host() {
    let text = config_error("<VirtualHost 127.0.0.1:*>\n  WSGIPythonHome /usr\n</VirtualHost>\n");
    assert_mentions(
        &text,
        &[
            "WSGIPythonHome",
            "cannot occur within <VirtualHost> section",
        ],
    );
    // S,V directives that only make sense process-wide refuse a virtual host themselves.
    let text = config_error(
        "<VirtualHost 127.0.0.1:*>\n  WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n</VirtualHost>\n",
    );
    assert_mentions(&text, &["WSGIImportScript", "<VirtualHost>"]);
}

#[test]
fn server_only_directive_rejected_in_directory() {
    let text = config_error("<Directory {root}/htdocs>\n  WSGIPythonHome /usr\n</Directory>\n");
    assert_mentions(&text, &["WSGIPythonHome", "not allowed"]);
    let text = config_error("<Location /x>\n  WSGIPythonPath /tmp\n</Location>\n");
    assert_mentions(&text, &["WSGIPythonPath", "not allowed"]);
}

#[test]
fn python_home_must_exist() {
    let text = config_error("WSGIPythonHome {root}/no-such-venv\n");
    assert_mentions(&text, &["WSGIPythonHome", "no-such-venv", "does not exist"]);
    let text = config_error("WSGIPythonHome relative/venv\n");
    assert_mentions(&text, &["WSGIPythonHome", "absolute path"]);
}

// ---------------------------------------------------------------------------------------
// WSGIScriptAlias / WSGIScriptAliasMatch mount points
// ---------------------------------------------------------------------------------------

#[test]
fn script_alias_at_root() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias / {root}/apps/dir_env.py\n");
    split_at(&apache, "/x", "", "/x");
    let env = split_at(&apache, "/", "", "/");
    assert!(
        var(&env, "SCRIPT_FILENAME")
            .unwrap()
            .ends_with("/apps/dir_env.py"),
        "{env:?}"
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn script_alias_at_sub_path() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /app {root}/apps/dir_env.py\n");
    split_at(&apache, "/app", "/app", "");

    let env = split_at(&apache, "/app/x/y?q=1", "/app", "/x/y");
    assert_eq!(var(&env, "QUERY_STRING"), Some("q=1"));
    assert_eq!(var(&env, "REQUEST_URI"), Some("/app/x/y?q=1"));

    split_at(&apache, "/app/", "/app", "/");

    // A longer word sharing the prefix is not under the mount point.
    let reply = get(&apache.url("/application"));
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert!(!reply.text().contains("app=dir_env"), "{}", reply.text());
    apache.assert_log_clean(&[]);
}

#[test]
fn script_alias_with_trailing_slash_maps_a_directory() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /sub/ {root}/apps/\n");
    let env = split_at(
        &apache,
        "/sub/dir_env.py/extra",
        "/sub/dir_env.py",
        "/extra",
    );
    let root = apache.root().display().to_string();
    assert_eq!(
        var(&env, "SCRIPT_FILENAME"),
        Some(format!("{root}/apps/dir_env.py").as_str())
    );

    split_at(&apache, "/sub/dir_env.py", "/sub/dir_env.py", "");

    // Another script in the same directory runs as itself.
    let reply = get(&apache.url("/sub/dir_callable.py"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        kv(&reply.text()).get("which").map(String::as_str),
        Some("application")
    );

    // A script that does not exist is a 404.
    let reply = get(&apache.url("/sub/dir_missing.py"));
    assert_eq!(reply.status, 404, "{}", reply.text());
    apache.assert_log_clean(&[]);
}

#[test]
fn script_alias_match_substitutes_and_keeps_the_rest_as_path_info() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAliasMatch ^/m/([a-z_]+) {root}/apps/$1.py\n",
    );
    let env = split_at(
        &apache,
        "/m/dir_env/rest/of/path",
        "/m/dir_env",
        "/rest/of/path",
    );
    let root = apache.root().display().to_string();
    assert_eq!(
        var(&env, "SCRIPT_FILENAME"),
        Some(format!("{root}/apps/dir_env.py").as_str())
    );

    split_at(&apache, "/m/dir_env", "/m/dir_env", "");

    let reply = get(&apache.url("/m/dir_callable"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        kv(&reply.text()).get("which").map(String::as_str),
        Some("application")
    );

    // Outside the pattern: not the app.
    let reply = get(&apache.url("/n/dir_env"));
    assert_eq!(reply.status, 404, "{}", reply.text());
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// WSGICallableObject / callable-object=
// ---------------------------------------------------------------------------------------

#[test]
fn callable_object_selects_the_callable() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /default {root}/apps/dir_callable.py\n\
         WSGIScriptAlias /option {root}/apps/dir_callable.py callable-object=my_app\n\
         WSGIScriptAlias /directive {root}/apps/dir_callable.py\n\
         <Location /directive>\n  WSGICallableObject my_app\n</Location>\n",
    );
    let body = kv(&get(&apache.url("/default")).text());
    assert_eq!(
        body.get("which").map(String::as_str),
        Some("application"),
        "{body:?}"
    );
    assert_eq!(
        body.get("callable_object").map(String::as_str),
        Some("application")
    );

    let reply = get(&apache.url("/option"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = kv(&reply.text());
    assert_eq!(
        body.get("which").map(String::as_str),
        Some("my_app"),
        "{body:?}"
    );
    assert_eq!(
        body.get("callable_object").map(String::as_str),
        Some("my_app")
    );

    let reply = get(&apache.url("/directive"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = kv(&reply.text());
    assert_eq!(
        body.get("which").map(String::as_str),
        Some("my_app"),
        "{body:?}"
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn callable_object_server_wide_and_missing_callable() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGICallableObject my_app\n\
         WSGIScriptAlias /c {root}/apps/dir_callable.py\n\
         WSGIScriptAlias /e {root}/apps/dir_env.py\n",
    );
    let reply = get(&apache.url("/c"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        kv(&reply.text()).get("which").map(String::as_str),
        Some("my_app")
    );
    // dir_env.py has no my_app: a 500 and RW0103 naming the callable.
    let reply = get(&apache.url("/e"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    apache.assert_log("RW0103");
    apache.assert_log("'my_app'");
}

// ---------------------------------------------------------------------------------------
// WSGIPassAuthorization
// ---------------------------------------------------------------------------------------

const BASIC: &str = "Basic dXNlcjpwYXNz"; // user:pass

#[test]
fn authorization_hidden_by_default() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /app {root}/apps/dir_env.py\n");
    let env = env_with(
        &apache,
        "/app",
        &[("Authorization", BASIC), ("X-Other", "seen")],
    );
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), None, "{env:?}");
    assert_eq!(var(&env, "HTTP_X_OTHER"), Some("seen"));
    apache.assert_log_clean(&[]);
}

#[test]
fn authorization_passed_with_directive() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\nWSGIPassAuthorization On\n",
    );
    let env = env_with(&apache, "/app", &[("Authorization", BASIC)]);
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), Some(BASIC), "{env:?}");
    apache.assert_log_clean(&[]);
}

#[test]
fn authorization_passed_with_alias_option() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /on {root}/apps/dir_env.py pass-authorization=On\n\
         WSGIScriptAlias /off {root}/apps/dir_env.py\n",
    );
    let env = env_with(&apache, "/on", &[("Authorization", BASIC)]);
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), Some(BASIC), "{env:?}");
    let env = env_with(&apache, "/off", &[("Authorization", BASIC)]);
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), None, "{env:?}");
    apache.assert_log_clean(&[]);
}

#[test]
fn authorization_option_overrides_directive() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIPassAuthorization On\nWSGIScriptAlias /app {root}/apps/dir_env.py pass-authorization=Off\n",
    );
    let env = env_with(&apache, "/app", &[("Authorization", BASIC)]);
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), None, "{env:?}");
}

// ---------------------------------------------------------------------------------------
// Handlers: SetHandler / AddHandler wsgi-script, WSGIHandlerScript
// ---------------------------------------------------------------------------------------

#[test]
fn set_handler_with_exec_cgi_runs_the_script() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "htdocs/s/app.py",
        &std::fs::read_to_string(apps_source().join("dir_env.py")).unwrap(),
    );
    let apache = stage.start(
        "<Directory {root}/htdocs/s>\n  Options +ExecCGI\n  SetHandler wsgi-script\n</Directory>\n",
    );
    let env = split_at(&apache, "/s/app.py", "/s/app.py", "");
    assert_eq!(var(&env, "mod_wsgi.request_handler"), Some("wsgi-script"));
    split_at(&apache, "/s/app.py/more/info", "/s/app.py", "/more/info");
    apache.assert_log_clean(&[]);
}

#[test]
fn set_handler_without_exec_cgi_is_forbidden() {
    let stage = Stage::new(Mpm::Event);
    stage.write(
        "htdocs/s/app.py",
        &std::fs::read_to_string(apps_source().join("dir_env.py")).unwrap(),
    );
    let apache =
        stage.start("<Directory {root}/htdocs/s>\n  SetHandler wsgi-script\n</Directory>\n");
    let reply = get(&apache.url("/s/app.py"));
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(!reply.text().contains("app=dir_env"), "{}", reply.text());
    apache.assert_log("RW0107");
}

#[test]
fn add_handler_with_exec_cgi_runs_wsgi_files() {
    let stage = Stage::new(Mpm::Event);
    let source = std::fs::read_to_string(apps_source().join("dir_env.py")).unwrap();
    stage.write("htdocs/w/app.wsgi", &source);
    stage.write("htdocs/w/plain.txt", "just text\n");
    let apache = stage.start(
        "<Directory {root}/htdocs/w>\n  Options +ExecCGI\n  AddHandler wsgi-script .wsgi\n</Directory>\n",
    );
    let env = env_at(&apache, "/w/app.wsgi");
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/w/app.wsgi"));
    split_at(&apache, "/w/app.wsgi/extra", "/w/app.wsgi", "/extra");
    // Other files in the directory are still served as static files.
    let reply = get(&apache.url("/w/plain.txt"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "just text\n");
    apache.assert_log_clean(&[]);
}

#[test]
fn handler_script_runs_handle_request() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIHandlerScript my-handler {root}/apps/dir_handler.py\n<Location /h>\n  SetHandler my-handler\n</Location>\n",
    );
    let reply = get(&apache.url("/h/some/thing?x=1"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = kv(&reply.text());
    assert_eq!(
        body.get("handler").map(String::as_str),
        Some("dir_handler"),
        "{body:?}"
    );
    assert_eq!(
        body.get("request_handler").map(String::as_str),
        Some("my-handler")
    );
    assert_eq!(
        body.get("REQUEST_URI").map(String::as_str),
        Some("/h/some/thing?x=1")
    );
    let root = apache.root().display().to_string();
    assert_eq!(
        body.get("handler_script").map(String::as_str),
        Some(format!("{root}/apps/dir_handler.py").as_str())
    );
    // Outside the Location the handler is not set: plain 404.
    let reply = get(&apache.url("/elsewhere"));
    assert_eq!(reply.status, 404);
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// WSGIScriptReloading
// ---------------------------------------------------------------------------------------

fn reloading_run(directive: &str) -> (String, String) {
    let stage = Stage::new(Mpm::Event);
    stage.write("reload/app.py", &script_with_body("version-1"));
    let apache = stage.start(&format!(
        "WSGIScriptAlias /r {{root}}/reload/app.py\n{directive}"
    ));
    let first = get(&apache.url("/r"));
    assert_eq!(first.status, 200, "{}", first.text());
    rewrite(&apache.stage, "reload/app.py", "version-2");
    let second = get(&apache.url("/r"));
    assert_eq!(second.status, 200, "{}", second.text());
    apache.assert_log_clean(&[]);
    (first.text(), second.text())
}

#[test]
fn script_reloading_on_by_default() {
    let (first, second) = reloading_run("");
    assert_eq!(first, "version-1");
    assert_eq!(second, "version-2");
}

#[test]
fn script_reloading_explicitly_on() {
    let (first, second) = reloading_run("WSGIScriptReloading On\n");
    assert_eq!(first, "version-1");
    assert_eq!(second, "version-2");
}

#[test]
fn script_reloading_off_keeps_the_loaded_script() {
    let (first, second) = reloading_run("WSGIScriptReloading Off\n");
    assert_eq!(first, "version-1");
    assert_eq!(second, "version-1");
}

#[test]
fn script_reloading_is_not_in_the_environ() {
    // mod_wsgi 6 keeps it to itself (`mod_wsgi.x-script_reloading`); so does rwsgi, in both
    // modes: the daemon is told in the request's route. (A name SetEnv sets is the
    // application's, in both modes: tests/daemon.rs.)
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess d processes=1 threads=1\n\
         WSGIScriptAlias /on {root}/apps/dir_env.py\n\
         WSGIScriptAlias /off {root}/apps/dir_env.py\n\
         WSGIScriptAlias /daemon {root}/apps/dir_env.py process-group=d\n\
         <Location /off>\n  WSGIScriptReloading Off\n  WSGIIgnoreActivity On\n</Location>\n\
         <Location /daemon>\n  WSGIIgnoreActivity On\n</Location>\n",
    );
    for path in ["/on", "/off", "/daemon"] {
        let env = env_at(&apache, path);
        assert_eq!(var(&env, "mod_wsgi.script_reloading"), None, "{path}");
        assert_eq!(var(&env, "mod_wsgi.ignore_activity"), None, "{path}");
    }
}

// ---------------------------------------------------------------------------------------
// WSGIImportScript, WSGIRestrictEmbedded
// ---------------------------------------------------------------------------------------

#[test]
fn import_script_runs_at_child_start() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
         WSGIScriptAlias /app {root}/apps/dir_env.py application-group=%{GLOBAL}\n",
    );
    // The import ran in the interpreter the application runs in.
    let env = env_at(&apache, "/app");
    assert_eq!(var(&env, "py.preloaded"), Some("1"), "{env:?}");
    apache.assert_log_clean(&[]);
}

#[test]
fn without_import_script_nothing_is_preloaded() {
    let apache = Apache::start(Mpm::Event, "WSGIScriptAlias /app {root}/apps/dir_env.py\n");
    let env = env_at(&apache, "/app");
    assert_eq!(var(&env, "py.preloaded"), Some(""), "{env:?}");
}

#[test]
fn restrict_embedded_refuses_requests() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIRestrictEmbedded On\nWSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    let reply = get(&apache.url("/app"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert!(!reply.text().contains("app=dir_env"), "{}", reply.text());
    apache.assert_log("RW0109");
}

#[test]
fn restrict_embedded_off_serves() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIRestrictEmbedded Off\nWSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    env_at(&apache, "/app");
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// WSGIPythonPath, WSGIPythonHome
// ---------------------------------------------------------------------------------------

#[test]
fn python_path_adds_import_directories() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIPythonPath {root}/apps/dir_lib\nWSGIScriptAlias /app {root}/apps/dir_import.py\n",
    );
    let reply = get(&apache.url("/app"));
    assert_eq!(
        reply.status,
        200,
        "{}\n{}",
        reply.text(),
        apache.error_log()
    );
    let body = kv(&reply.text());
    assert_eq!(body.get("lib").map(String::as_str), Some("from-dir-lib"));
    let root = apache.root().display().to_string();
    assert!(
        body.get("lib_file")
            .unwrap()
            .starts_with(&format!("{root}/apps/dir_lib/")),
        "{body:?}"
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn without_python_path_the_import_fails() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_import.py\n",
    );
    let reply = get(&apache.url("/app"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    apache.assert_log("RW0102");
    apache.assert_log("dir_libmod");
}

/// A world-readable venv of Debian's Python at `venv`.
fn make_venv(venv: &std::path::Path) {
    let out = Command::new("/usr/bin/python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(venv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "venv creation failed: {}",
        output_text(&out)
    );
    chmod_world_readable(venv);
}

#[test]
fn python_home_venv_sets_sys_prefix() {
    let stage = Stage::new(Mpm::Event);
    let venv = stage.root().join("venv");
    make_venv(&venv);
    let apache =
        stage.start("WSGIPythonHome {root}/venv\nWSGIScriptAlias /app {root}/apps/dir_env.py\n");
    let env = env_at(&apache, "/app");
    let venv = venv.display().to_string();
    assert_eq!(var(&env, "py.prefix"), Some(venv.as_str()), "{env:?}");
    apache.assert_log_clean(&[]);
}

/// Apache's user must read the venv and the Python it was made from (whose standard
/// library the venv lacks): `apache2 -t` names the one it cannot, instead of children that
/// fail to start Python.
#[test]
fn python_home_the_apache_user_cannot_read_fails_config_test() {
    if !is_root() {
        eprintln!("skipped: needs root (Apache's children run as www-data only then)");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let stage = Stage::new(Mpm::Event);
    let private = stage.root().join("private");
    std::fs::create_dir(&private).unwrap();
    let venv = stage.root().join("venv");
    make_venv(&venv);
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();

    // The venv itself behind a private directory.
    let hidden = private.join("venv");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::copy(venv.join("pyvenv.cfg"), hidden.join("pyvenv.cfg")).unwrap();
    let out = stage.config_test(&format!("WSGIPythonHome {}\n", hidden.display()));
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "WSGIPythonHome: {} is not readable by the Apache user www-data",
            hidden.display()
        )) && text.contains(&format!("{} has mode 700", private.display())),
        "{text}"
    );

    // A readable venv whose base Python (`home =` in pyvenv.cfg) is private.
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    let base = private.join("python");
    std::fs::create_dir_all(base.join("bin")).unwrap();
    let cfg: String = cfg
        .lines()
        .map(|l| {
            if l.starts_with("home") {
                format!("home = {}\n", base.join("bin").display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(venv.join("pyvenv.cfg"), cfg).unwrap();
    let out = stage.config_test("WSGIPythonHome {root}/venv\n");
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "WSGIPythonHome: {} is not readable by the Apache user www-data",
            base.display()
        )),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// WSGIMapHEADToGET
// ---------------------------------------------------------------------------------------

#[test]
fn map_head_to_get_on() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIMapHEADToGET On\nWSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    let response = head(&apache, "/app");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        raw_header(&response, "X-Request-Method").as_deref(),
        Some("GET"),
        "{response}"
    );
    // HEAD still sends no body.
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "", "{response}");
    apache.assert_log_clean(&[]);
}

#[test]
fn map_head_to_get_off() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIMapHEADToGET Off\nWSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    let response = head(&apache, "/app");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        raw_header(&response, "X-Request-Method").as_deref(),
        Some("HEAD"),
        "{response}"
    );
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "", "{response}");
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// SetEnv
// ---------------------------------------------------------------------------------------

#[test]
fn set_env_values_reach_environ() {
    let apache = Apache::start(
        Mpm::Event,
        "SetEnv RWSGI_GREETING hello-world\n\
         WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         <Location /app/inner>\n  SetEnv RWSGI_INNER yes\n</Location>\n",
    );
    let env = env_at(&apache, "/app");
    assert_eq!(var(&env, "RWSGI_GREETING"), Some("hello-world"), "{env:?}");
    assert_eq!(var(&env, "RWSGI_INNER"), None);
    let env = env_at(&apache, "/app/inner");
    assert_eq!(var(&env, "RWSGI_GREETING"), Some("hello-world"));
    assert_eq!(var(&env, "RWSGI_INNER"), Some("yes"));
    apache.assert_log_clean(&[]);
}

#[test]
fn set_env_cannot_override_cgi_variables() {
    let apache = Apache::start(
        Mpm::Event,
        "SetEnv SCRIPT_NAME /forged\nSetEnv REQUEST_METHOD FORGED\nWSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    let env = env_at(&apache, "/app/x");
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/app"));
    assert_eq!(var(&env, "REQUEST_METHOD"), Some("GET"));
}

#[test]
fn map_head_to_get_auto_depends_on_content_filters() {
    let apache = Apache::start(
        Mpm::Event,
        "LoadModule deflate_module /usr/lib/apache2/modules/mod_deflate.so\n\
         WSGIScriptAlias /plain {root}/apps/dir_env.py\n\
         WSGIScriptAlias /deflated {root}/apps/dir_env.py\n\
         <Location /deflated>\n  SetOutputFilter DEFLATE\n</Location>\n",
    );
    // Default (Auto) without content filters: the app sees HEAD.
    let response = head(&apache, "/plain");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        raw_header(&response, "X-Request-Method").as_deref(),
        Some("HEAD"),
        "{response}"
    );
    // With a content filter (DEFLATE) that needs the body to compute headers: GET.
    let response = head(&apache, "/deflated");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        raw_header(&response, "X-Request-Method").as_deref(),
        Some("GET"),
        "{response}"
    );
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// Group selection per request (%{ENV:…})
// ---------------------------------------------------------------------------------------

#[test]
fn env_selected_application_group() {
    let alias = "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
                 WSGIApplicationGroup %{ENV:RWSGI_GROUP}\n";
    // Variable unset: a group named after the selector itself, as in mod_wsgi (never the
    // main interpreter by accident).
    let apache = Apache::start(Mpm::Event, alias);
    let env = env_at(&apache, "/app");
    assert_eq!(
        var(&env, "mod_wsgi.application_group"),
        Some("%{ENV:RWSGI_GROUP}")
    );
    apache.assert_log_clean(&[]);
    // Set: the group it names.
    let apache = Apache::start(Mpm::Event, &format!("{alias}SetEnv RWSGI_GROUP other\n"));
    let env = env_at(&apache, "/app");
    assert_eq!(var(&env, "mod_wsgi.application_group"), Some("other"));
    apache.assert_log_clean(&[]);
}

#[test]
fn env_selected_group_naming_global_runs_embedded() {
    // mod_wsgi re-expands a %{ENV:…} value that is itself an expansion: a variable holding
    // "%{GLOBAL}" selects the main interpreter (wsgi_application_group/wsgi_process_group).
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n\
         WSGIProcessGroup %{ENV:RWSGI_PGROUP}\n\
         WSGIApplicationGroup %{ENV:RWSGI_AGROUP}\n\
         SetEnv RWSGI_PGROUP %{GLOBAL}\n\
         SetEnv RWSGI_AGROUP %{GLOBAL}\n",
    );
    let reply = get(&apache.url("/app"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let env = kv(&reply.text());
    assert_eq!(var(&env, "mod_wsgi.process_group"), Some(""));
    assert_eq!(var(&env, "mod_wsgi.application_group"), Some(""));
    apache.assert_log_clean(&[]);
}

// ---------------------------------------------------------------------------------------
// Every MPM serves through WSGIScriptAlias
// ---------------------------------------------------------------------------------------

#[test]
fn script_alias_serves_under_event_and_worker() {
    for mpm in [Mpm::Event, Mpm::Worker] {
        let apache = Apache::start(mpm, "WSGIScriptAlias /app {root}/apps/dir_env.py\n");
        let env = split_at(&apache, "/app/p", "/app", "/p");
        assert_eq!(var(&env, "wsgi.multithread"), Some("True"), "{mpm:?}");
        apache.assert_log_clean(&[]);
    }
}

#[test]
fn script_alias_serves_under_prefork() {
    let apache = Apache::start(
        Mpm::Prefork,
        "WSGIScriptAlias /app {root}/apps/dir_env.py\n",
    );
    for _ in 0..6 {
        let env = env_at(&apache, "/app/p");
        assert_eq!(var(&env, "app"), Some("dir_env"));
        assert_eq!(var(&env, "SCRIPT_NAME"), Some("/app"));
        assert_eq!(var(&env, "PATH_INFO"), Some("/p"));
        assert_eq!(var(&env, "wsgi.multithread"), Some("False"));
        assert_eq!(var(&env, "wsgi.multiprocess"), Some("True"));
    }
    apache.assert_log_clean(&[]);
}

/// The telemetry directives are accepted (their syntax checked) and the configuration test
/// warns that no telemetry is sent; a malformed one still fails.
#[test]
fn telemetry_directives_are_accepted_with_a_warning() {
    let out = Stage::new(Mpm::Event).config_test(
        "WSGITelemetryService unix:/run/telemetry.sock interval=2\n\
         WSGISlowRequests 5\n\
         WSGITelemetryOptions +CaptureUserAgent\n",
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    for d in [
        "WSGITelemetryService",
        "WSGISlowRequests",
        "WSGITelemetryOptions",
    ] {
        assert!(
            text.contains(&format!(
                "RW0126: {d} is accepted but rwsgi sends no telemetry"
            )),
            "{d}: {text}"
        );
    }
    let text = config_error("WSGITelemetryService tcp:127.0.0.1:9\n");
    assert_mentions(&text, &["WSGITelemetryService", "unix:/path/to/socket"]);
    let text = config_error("WSGITelemetryService unix:/x interval=0.1\n");
    assert_mentions(&text, &["interval=", "0.5"]);
    let text = config_error("WSGISlowRequests soon\n");
    assert_mentions(&text, &["WSGISlowRequests", "seconds"]);
}

/// WSGIEnableSendfile is accepted: a file_wrapper's file goes to Apache either way, and
/// Apache's EnableSendfile decides whether sendfile(2) sends it.
#[test]
fn enable_sendfile_is_accepted_and_files_are_served_either_way() {
    for value in ["On", "Off"] {
        let apache = Apache::start(
            Mpm::Event,
            &format!(
                "WSGIScriptAlias /resp {{root}}/apps/responses.py\nWSGIEnableSendfile {value}\nEnableSendfile {value}\n"
            ),
        );
        let reply = get(&apache.url("/resp/file?name=streams.py"));
        assert_eq!(reply.status, 200, "{value}: {}", reply.text());
        let data = std::fs::read(apps_source().join("streams.py")).unwrap();
        assert_eq!(reply.body, data, "{value}");
        apache.assert_log_clean(&[]);
    }
    let text = config_error("WSGIEnableSendfile Maybe\n");
    assert_mentions(&text, &["WSGIEnableSendfile"]);
}

/// WSGIStreamCoalescing (rwsgi's own) takes On|Off wherever FileInfo overrides reach; its
/// effect is tested in tests/embedded.rs.
#[test]
fn stream_coalescing_takes_on_or_off() {
    let stage = Stage::new(Mpm::Event);
    let out = stage.config_test(
        "WSGIStreamCoalescing On\n<Location /x>\nWSGIStreamCoalescing Off\n</Location>\n",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let text = config_error("WSGIStreamCoalescing Maybe\n");
    assert_mentions(&text, &["WSGIStreamCoalescing"]);
}
