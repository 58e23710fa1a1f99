//! rwsgi's daemon runtime (`rwsgi._daemon`, built from daemon-ext/) for a given Python,
//! installed into a venv of that Python, staged in /tmp where Apache's user can read it:
//! what exec'd daemon groups run (`python-executable=<venv>/bin/python3`). Built once per
//! test process and Python; cargo serialises builds that share a target directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static VENVS: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// A venv of `python` with this checkout's `rwsgi._daemon` in it.
pub fn runtime_venv(python: &str) -> PathBuf {
    let mut venvs = VENVS.lock().unwrap_or_else(|e| e.into_inner());
    let venvs = venvs.get_or_insert_with(HashMap::new);
    if let Some(venv) = venvs.get(python) {
        return venv.clone();
    }
    let venv = stage(python, "runtime", true);
    venvs.insert(python.to_owned(), venv.clone());
    venv
}

/// Pythons of other X.Y than the module's for the tests of groups side by side:
/// `RWSGI_TEST_OTHER_PYTHONS` (space-separated; scripts/cargo-tests.sh stages them), else
/// the ones scripts/python/pythons.sh staged on this machine.
pub fn other_pythons() -> Vec<String> {
    let linked = python_facts(&super::test_python()).0;
    let named: Vec<String> = match std::env::var("RWSGI_TEST_OTHER_PYTHONS") {
        Ok(list) => list.split_whitespace().map(str::to_owned).collect(),
        Err(_) => ["3.11", "3.12", "3.13"]
            .iter()
            .map(|v| format!("/opt/rwsgi-python/{v}/bin/python{v}"))
            .filter(|p| Path::new(p).exists())
            .collect(),
    };
    named
        .into_iter()
        .filter(|p| python_facts(p).0 != linked)
        .collect()
}

/// A free-threaded Python for the groups exec'd into one: `RWSGI_TEST_FREE_THREADED_PYTHON`
/// (scripts/python/test.sh names it), else the one scripts/python/free-threaded.sh built on
/// this machine, once it is complete (its stamp is written last), if any.
pub fn free_threaded_python() -> Option<String> {
    if let Ok(python) = std::env::var("RWSGI_TEST_FREE_THREADED_PYTHON") {
        return (!python.is_empty()).then_some(python);
    }
    let stage = Path::new("/opt/rwsgi-python/3.13t");
    stage
        .join(".staged")
        .exists()
        .then(|| stage.join("bin/python3.13t").display().to_string())
}

/// A venv of `python` without rwsgi: what a group names before `pip install rwsgi`.
pub fn bare_venv(python: &str) -> PathBuf {
    stage(python, "bare", false)
}

/// `(X.Y, EXT_SUFFIX)` of the Python at `python`.
pub fn python_facts(python: &str) -> (String, String) {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, sysconfig; print('%d.%d' % sys.version_info[:2], sysconfig.get_config_var('EXT_SUFFIX'))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(v), Some(suffix)) => (v.to_owned(), suffix.to_owned()),
        _ => panic!("{python} did not say its version: {text}"),
    }
}

fn stage(python: &str, kind: &str, with_runtime: bool) -> PathBuf {
    let (version, suffix) = python_facts(python);
    let key = python.replace('/', "_");
    let base = PathBuf::from("/tmp/rwsgi-test-runtime");
    std::fs::create_dir_all(&base).unwrap();
    super::chmod(&base, 0o755);
    // Test processes of one run (and of a second run on this machine) share the venvs:
    // each is made aside and renamed into place, and files are replaced by renames.
    let venv = base.join(format!("{kind}-{version}-{key}"));
    if !venv.join("bin/python3").exists() {
        let aside = base.join(format!(".{kind}-{version}-{key}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&aside);
        let status = Command::new(python)
            .args(["-m", "venv", "--without-pip"])
            .arg(&aside)
            .status()
            .unwrap();
        assert!(status.success(), "{python} -m venv {}", aside.display());
        if std::fs::rename(&aside, &venv).is_err() {
            // Another process made it first.
            let _ = std::fs::remove_dir_all(&aside);
        }
    }
    // Which venv's site-packages an application imports from (`python3.13t` for 3.13t).
    let lib = if suffix.contains(&format!("{}t-", version.replace('.', ""))) {
        format!("python{version}t")
    } else {
        format!("python{version}")
    };
    let site = venv.join(format!("lib/{lib}/site-packages"));
    replace(
        &site.join("rwsgi_venv_marker.py"),
        format!("VENV = {:?}\n", venv.display().to_string()).as_bytes(),
    );
    if with_runtime {
        let package = site.join("rwsgi");
        std::fs::create_dir_all(&package).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        replace(
            &package.join("__init__.py"),
            &std::fs::read(source.join("python/rwsgi/__init__.py")).unwrap(),
        );
        let built = build_extension(python, &suffix);
        replace(
            &package.join(format!("_daemon{suffix}")),
            &std::fs::read(built).unwrap(),
        );
    }
    super::chmod_world_readable(&venv);
    venv
}

/// What cargo needs besides PYO3_PYTHON to build for `python` (packaging/pyo3_env.py:
/// free-threaded 3.13).
pub fn pyo3_env(python: &str, target: &Path) -> Vec<(String, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/pyo3_env.py");
    let out = Command::new(python)
        .arg(script)
        .arg(target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(out.status.success(), "{}", super::output_text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Writes `path` whole: a process that loads it meanwhile sees the old file or the new.
fn replace(path: &Path, contents: &[u8]) {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, contents).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

/// `cargo build` of daemon-ext/ for `python` (whose extensions end in `suffix`): links no
/// libpython (the interpreter provides it), as setup.py builds it for the wheel.
fn build_extension(python: &str, suffix: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    // One per build of Python: `.cpython-313t-x86_64-linux-gnu.so` → `313t`.
    let build = suffix.split(['.', '-']).nth(2).unwrap_or(suffix);
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| source.join("target"))
        .join("daemon-ext")
        .join(format!("py{build}"));
    let release = !cfg!(debug_assertions);
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cargo
        .args(["build", "-q", "--manifest-path"])
        .arg(source.join("daemon-ext/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("PYO3_PYTHON", python)
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .env_remove("CARGO_TARGET_DIR")
        .envs(pyo3_env(python, &target));
    if release {
        cargo.arg("--release");
    }
    let out = cargo.output().unwrap();
    assert!(
        out.status.success(),
        "building daemon-ext for {python} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join(if release { "release" } else { "debug" })
        .join("lib_daemon.so")
}
