//! WSGIDispatchScript through a real Apache: a Python script in the Apache child chooses
//! the process group, the application group and the callable per request.

mod harness;

use harness::*;

#[test]
fn the_dispatch_script_chooses_groups_and_callable_per_request() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess d processes=1 threads=2\n\
         WSGIScriptAlias /app {root}/apps/dispatched.py\n\
         WSGIDispatchScript {root}/apps/dispatch.py\n",
    );
    let port = apache.port();
    let ask = |headers: &[(&str, &str)]| {
        let reply = get_with(&apache.url("/app"), headers);
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.text());
        kv(&reply.text())
    };
    // None everywhere: the configuration's choices (embedded, %{RESOURCE}, application).
    let plain = ask(&[]);
    assert_eq!(plain["process_group"], "");
    assert_eq!(plain["application_group"], format!("localhost:{port}|/app"));
    assert_eq!(plain["callable"], "application");
    let daemon = ask(&[("X-Process-Group", "d")]);
    assert_eq!(daemon["process_group"], "d");
    assert_ne!(daemon["pid"], plain["pid"]);
    let named = ask(&[("X-Application-Group", "shop"), ("X-Callable", "other")]);
    assert_eq!(named["application_group"], "shop");
    assert_eq!(named["callable"], "other");
    // Back in the main interpreter's group, %{GLOBAL} expands as in the directive.
    assert_eq!(
        ask(&[("X-Application-Group", "%{GLOBAL}")])["application_group"],
        ""
    );
    apache.assert_log_clean(&[]);
}

#[test]
fn a_failing_dispatch_script_is_a_500_with_its_traceback() {
    let apache = Apache::start(
        Mpm::Event,
        "WSGIScriptAlias /app {root}/apps/dispatched.py\n\
         WSGIDispatchScript {root}/apps/dispatch.py\n",
    );
    let reply = get_with(&apache.url("/app"), &[("X-Fail", "1")]);
    assert_eq!(reply.status, 500);
    let log = apache.wait_for_log("dispatch failed on purpose");
    assert!(log.contains("RW0123: dispatch script"), "{log}");
    // An unknown daemon group is the usual 500 (RW0116).
    let reply = get_with(&apache.url("/app"), &[("X-Process-Group", "nowhere")]);
    assert_eq!(reply.status, 500);
    apache.wait_for_log("RW0116: no WSGIDaemonProcess group called 'nowhere'");
    assert_eq!(get(&apache.url("/app")).status, 200);
}
