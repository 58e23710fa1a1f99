//! Application groups through a real Apache: every form of WSGIApplicationGroup and
//! application-group= names the group the request runs in, in embedded and daemon mode; a
//! process runs its one group in the main interpreter, and never lets a second group share
//! that interpreter silently.

mod harness;

use harness::*;

/// Starts Apache with `snippet`, asks `path` for its group_info.py answer.
fn info(apache: &Apache, path: &str) -> std::collections::BTreeMap<String, String> {
    let reply = get(&apache.url(path));
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    kv(&reply.text())
}

#[test]
fn every_form_names_the_group_in_embedded_mode() {
    let port_probe = |apache: &Apache| apache.port();
    for (value, expected) in [
        ("%{GLOBAL}", "".to_owned()),
        ("site1", "site1".to_owned()),
        ("%{SERVER}", "localhost:{port}".to_owned()),
        ("%{RESOURCE}", "localhost:{port}|/app".to_owned()),
    ] {
        let apache = Apache::start(
            Mpm::Event,
            &format!(
                "WSGIScriptAlias /app {{root}}/apps/group_info.py\nWSGIApplicationGroup {value}\n"
            ),
        );
        let expected = expected.replace("{port}", &port_probe(&apache).to_string());
        let got = info(&apache, "/app/x");
        assert_eq!(got["environ"], expected, "{value}");
        // The only group of the process: it runs in the main interpreter, which names it.
        assert_eq!(got["module"], expected, "{value}");
        apache.assert_log_clean(&[]);
    }
}

#[test]
fn application_group_option_and_env_forms() {
    // One Apache each: the two groups in one child would be refused (RW0112).
    let apache = Apache::start(
        Mpm::Prefork,
        "WSGIScriptAlias /opt {root}/apps/group_info.py application-group=%{RESOURCE}\n",
    );
    let port = apache.port();
    let got = info(&apache, "/opt");
    assert_eq!(got["environ"], format!("localhost:{port}|/opt"));
    assert_eq!(got["module"], format!("localhost:{port}|/opt"));
    apache.assert_log_clean(&[]);

    let apache = Apache::start(
        Mpm::Prefork,
        "WSGIScriptAlias /env {root}/apps/group_info.py\n\
         WSGIApplicationGroup %{ENV:RWSGI_GROUP}\n\
         SetEnv RWSGI_GROUP %{SERVER}\n",
    );
    let port = apache.port();
    assert_eq!(
        info(&apache, "/env")["environ"],
        format!("localhost:{port}")
    );
    apache.assert_log_clean(&[]);
}

const TWO_GROUPS: &str = "
WSGIDaemonProcess one processes=1 threads=2
WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=alpha
WSGIScriptAlias /b {root}/apps/group_info2.py process-group=one application-group=beta
WSGIScriptAlias /c {root}/apps/group_info.py process-group=one application-group=alpha
";

#[test]
fn a_second_group_never_shares_the_interpreter_silently() {
    let apache = Apache::start(Mpm::Event, TWO_GROUPS);
    let first = info(&apache, "/a");
    assert_eq!(first["environ"], "alpha");
    assert_eq!(first["module"], "alpha");
    // Another group in the same (only) daemon process: refused, naming both and the fix.
    let reply = get(&apache.url("/b"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert!(!reply.text().contains("environ=beta"), "{}", reply.text());
    let log = apache.wait_for_log("RW0112");
    let line = log.lines().find(|l| l.contains("RW0112")).unwrap();
    assert_mentions(
        line,
        &[
            "application group 'beta'",
            "group_info2.py",
            "'alpha'",
            "group_info.py",
            "WSGIDaemonProcess",
        ],
    );
    // The server keeps serving the first group, and a second mount of it shares its
    // interpreter.
    let again = info(&apache, "/c");
    assert_eq!(again["module"], "alpha");
    assert_eq!(again["pid"], first["pid"]);
    assert_eq!(again["interpreter"], first["interpreter"]);
}

#[test]
fn an_import_script_takes_the_interpreter_for_its_group() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIImportScript {root}/apps/dir_preload.py process-group=one application-group=alpha\n\
         WSGIScriptAlias /b {root}/apps/group_info2.py process-group=one application-group=beta\n\
         WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=alpha\n",
    );
    // The import ran at start for 'alpha': 'beta' cannot have the interpreter, even first.
    let reply = get(&apache.url("/b"));
    assert_eq!(reply.status, 500, "{}", reply.text());
    let log = apache.wait_for_log("RW0112");
    assert!(log.contains("dir_preload.py"), "{log}");
    assert_eq!(info(&apache, "/a")["module"], "alpha");
}

#[test]
fn groups_in_their_own_daemon_processes_each_run_in_a_main_interpreter() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess one processes=1 threads=2\n\
         WSGIDaemonProcess two processes=1 threads=2\n\
         WSGIScriptAlias /a {root}/apps/group_info.py process-group=one application-group=%{RESOURCE}\n\
         WSGIScriptAlias /b {root}/apps/group_info2.py process-group=two application-group=%{RESOURCE}\n",
    );
    let port = apache.port();
    let a = info(&apache, "/a");
    let b = info(&apache, "/b");
    assert_eq!(a["module"], format!("localhost:{port}|/a"));
    assert_eq!(b["module"], format!("localhost:{port}|/b"));
    assert_ne!(a["pid"], b["pid"]);
    apache.assert_log_clean(&[]);
}

#[test]
fn configuration_accepts_every_form_and_refuses_what_cannot_work() {
    for snippet in [
        "WSGIApplicationGroup %{SERVER}\n",
        "WSGIApplicationGroup %{RESOURCE}\n",
        "WSGIApplicationGroup shop\n",
        "WSGIScriptAlias /x {root}/apps/group_info.py application-group=%{RESOURCE}\n",
        "WSGIHandlerScript my-handler {root}/apps/dir_handler.py application-group=shop\n",
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=shop\n",
    ] {
        let stage = Stage::new(Mpm::Event);
        let out = stage.config_test(snippet);
        assert!(out.status.success(), "{snippet}: {}", output_text(&out));
    }
    let text = config_error(
        "WSGIImportScript {root}/apps/dir_preload.py process-group=%{GLOBAL} application-group=%{RESOURCE}\n",
    );
    assert_mentions(&text, &["WSGIImportScript", "%{RESOURCE}", "request"]);
    let text = config_error("WSGIProcessGroup %{SERVER}\n");
    assert_mentions(&text, &["WSGIProcessGroup", "not a process group"]);
}
