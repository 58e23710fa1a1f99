//! `WSGIFreeThreading` (docs/install.md "Free-threaded Python"). With a module built for a
//! free-threaded Python (scripts/python/test.sh runs this suite with 3.13t's): On runs
//! the processes it reaches without the GIL, Off (the default) keeps it, and an extension
//! that turns the GIL back on is named. With a module built with a GIL: On for Apache's
//! children or a forked group fails the configuration test (tests/directives.rs has the
//! top-level case). Daemon groups exec'd into a free-threaded Python: tests/launch.rs.

mod harness;

use std::path::Path;
use std::process::Command;

use harness::*;

/// Two daemon groups and embedded mode: On at top level, Off again for `gil`.
const GROUPS: &str = "WSGIFreeThreading On\n\
     WSGIDaemonProcess ft threads=2\n\
     WSGIDaemonProcess gil threads=2\n\
     <WSGIInterpreterOptions process-group=gil>\n\
     WSGIFreeThreading Off\n\
     </WSGIInterpreterOptions>\n\
     WSGIScriptAlias /embedded {root}/apps/gil_state.py application-group=%{GLOBAL}\n\
     WSGIScriptAlias /sub {root}/apps/gil_state.py\n\
     WSGIScriptAlias /ft {root}/apps/gil_state.py process-group=ft application-group=%{GLOBAL}\n\
     WSGIScriptAlias /gil {root}/apps/gil_state.py process-group=gil application-group=%{GLOBAL}\n";

fn module_is_free_threaded() -> bool {
    is_free_threaded(&test_python())
}

#[test]
fn free_threading_turns_the_gil_off_in_the_processes_it_reaches() {
    if !module_is_free_threaded() {
        // A forked group runs the module's Python: On for it alone fails too.
        let text = config_error(
            "WSGIDaemonProcess ft\n\
             <WSGIInterpreterOptions process-group=ft>\nWSGIFreeThreading On\n</WSGIInterpreterOptions>\n",
        );
        assert_mentions(
            &text,
            &[
                "WSGIFreeThreading On applies to daemon group ft",
                "built with a GIL",
                "python-executable=",
            ],
        );
        let text = config_error(
            "<WSGIInterpreterOptions process-group=%{GLOBAL}>\nWSGIFreeThreading On\n</WSGIInterpreterOptions>\n",
        );
        assert_mentions(&text, &["Apache's children", "built with a GIL"]);
        return;
    }
    let apache = Apache::start(Mpm::Event, GROUPS);
    let off = "python=False event=False metrics=False";
    assert_eq!(gil_state(&apache, "/embedded"), off);
    // An application group in a sub-interpreter of the same process.
    assert_eq!(gil_state(&apache, "/sub"), off);
    assert_eq!(gil_state(&apache, "/ft"), off);
    assert_eq!(
        gil_state(&apache, "/gil"),
        "python=True event=True metrics=True"
    );
    apache.assert_log_clean(&[]);

    // Off, the default: a free-threaded Python keeps its GIL, as mod_wsgi does.
    let apache = Apache::start(
        Mpm::Event,
        "WSGIDaemonProcess d\n\
         WSGIScriptAlias /embedded {root}/apps/gil_state.py application-group=%{GLOBAL}\n\
         WSGIScriptAlias /d {root}/apps/gil_state.py process-group=d application-group=%{GLOBAL}\n",
    );
    let on = "python=True event=True metrics=True";
    assert_eq!(gil_state(&apache, "/embedded"), on);
    assert_eq!(gil_state(&apache, "/d"), on);
}

/// A process runs with a GIL or without one: a section for one application group cannot
/// say.
#[test]
fn free_threading_cannot_be_set_per_application_group() {
    let text = config_error(
        "<WSGIInterpreterOptions application-group=%{GLOBAL}>\nWSGIFreeThreading Off\n</WSGIInterpreterOptions>\n",
    );
    assert_mentions(
        &text,
        &[
            "<WSGIInterpreterOptions>",
            "cannot be set per application group",
            "process-group=",
        ],
    );
}

/// A C extension of the test Python's that declares nothing about the GIL (single-phase
/// initialisation, as older extensions are written), built with the compiler into `dir`.
fn build_gil_needing_extension(dir: &Path) {
    let python = test_python();
    let facts = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&facts.stdout).into_owned();
    let mut lines = text.lines();
    let (include, suffix) = (lines.next().unwrap(), lines.next().unwrap());
    let source = dir.join("needs_gil.c");
    std::fs::write(
        &source,
        "#include <Python.h>\n\
         static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, \"needs_gil\", NULL, -1, NULL};\n\
         PyMODINIT_FUNC PyInit_needs_gil(void) { return PyModule_Create(&def); }\n",
    )
    .unwrap();
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.join(format!("needs_gil{suffix}")))
        .arg(format!("-I{include}"))
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", output_text(&out));
    chmod_world_readable(dir);
}

/// Beyond mod_wsgi: an application whose import turns the GIL back on (CPython then only
/// warns, and every thread runs Python one at a time again) gets an RW0131 line naming
/// the extension and the fix; the extensions it loaded that declare free-threading
/// support are not named.
#[test]
fn an_extension_that_turns_the_gil_back_on_is_named() {
    if !module_is_free_threaded() {
        println!("skipped: the module under test is built with a GIL (this runs with 3.13t's)");
        return;
    }
    let stage = Stage::new(Mpm::Event);
    let lib = stage.root().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    build_gil_needing_extension(&lib);
    stage.write(
        "apps/legacy.py",
        "import _bisect  # declares it runs without the GIL\n\
         import needs_gil\n\
         exec(open(__file__.replace('legacy.py', 'gil_state.py')).read())\n",
    );
    let apache = stage.start(
        "WSGIFreeThreading On\n\
         WSGIPythonPath {root}/lib\n\
         WSGIScriptAlias /before {root}/apps/gil_state.py application-group=%{GLOBAL}\n\
         WSGIScriptAlias /legacy {root}/apps/legacy.py application-group=%{GLOBAL}\n",
    );
    assert!(gil_state(&apache, "/before").starts_with("python=False"));
    let reply = get(&apache.url("/legacy"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().starts_with("python=True"), "{}", reply.text());
    let log = apache.wait_for_log("RW0131");
    let line = log.lines().find(|l| l.contains("RW0131")).unwrap();
    assert_mentions(
        line,
        &[
            "legacy.py",
            "extension module 'needs_gil'",
            "built for free-threading",
        ],
    );
    assert!(!line.contains("_bisect"), "{line}");
    // The server keeps serving, now with the GIL.
    assert!(gil_state(&apache, "/before").starts_with("python=True"));
}
