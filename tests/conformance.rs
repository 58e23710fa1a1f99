//! Differential tests: real deployments, each in the configuration its project documents
//! for mod_wsgi, run under mod_wsgi 6.1.1 itself (built from its PyPI source) and under
//! rwsgi, in the same Apache configuration. A scenario's client (`client.py`) drives the
//! server as a user would and records what it sees; the two records are compared key by
//! key, and with them the application's own lines in the error log. A difference fails the
//! test unless docs/differences.md lists it, with its reason.
//!
//! Layout: `tests/conformance/scenarios/<name>/` holds `httpd.conf` (the snippet; `{site}`
//! is the scenario's files, `{venv}` its virtual environment, `{conformance}` this suite's
//! shared files), `client.py`, and optionally `setup.sh` (run once, as root, before both
//! servers). `scripts/conformance/prepare.sh` builds mod_wsgi and the applications' virtual
//! environments once per machine.

mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use harness::*;

/// What `scripts/conformance/prepare.sh` made: `MOD_WSGI` (the module file) and one
/// `VENV_<NAME>` per virtual environment.
fn corpus() -> &'static BTreeMap<String, String> {
    static CORPUS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let script = manifest().join("scripts/conformance/prepare.sh");
        let out = Command::new(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    })
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn suite_dir() -> PathBuf {
    manifest().join("tests/conformance")
}

/// A difference docs/differences.md allows: the first backticked word of a table row is a
/// pattern over observation keys (`*` matches anything); when the row's second column reads
/// `` `A` → `B` ``, only mod_wsgi's value A against rwsgi's value B (patterns too).
struct Allowance {
    key: String,
    values: Option<(String, String)>,
}

impl Allowance {
    fn allows(&self, key: &str, theirs: &str, ours: &str) -> bool {
        glob(&self.key, key)
            && self
                .values
                .as_ref()
                .is_none_or(|(a, b)| glob(a, theirs) && glob(b, ours))
    }
}

fn allowed() -> &'static Vec<Allowance> {
    static ALLOWED: OnceLock<Vec<Allowance>> = OnceLock::new();
    ALLOWED.get_or_init(|| {
        let text = std::fs::read_to_string(manifest().join("docs/differences.md")).unwrap();
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        text.lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                let key = ticked(cells[0]).remove(0);
                let values = cells.get(1).filter(|c| c.contains(" → ")).map(|c| {
                    let v = ticked(c);
                    assert_eq!(v.len(), 2, "docs/differences.md: `A` → `B` in {l}");
                    (v[0].clone(), v[1].clone())
                });
                Allowance { key, values }
            })
            .collect()
    })
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().unwrap();
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty();
    };
    for part in middle {
        match text.find(part) {
            Some(i) => text = &text[i + part.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

/// One server's record of a scenario: observation key to value.
type Record = BTreeMap<String, String>;

struct Scenario {
    name: &'static str,
    dir: PathBuf,
    /// The scenario's files, at the same path for both servers (restored between them).
    site: PathBuf,
    pristine: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Scenario {
    fn new(name: &'static str) -> Scenario {
        let dir = suite_dir().join("scenarios").join(name);
        assert!(dir.is_dir(), "no scenario {}", dir.display());
        let scratch = tempfile::Builder::new()
            .prefix(&format!("rwsgi-conformance-{name}-"))
            .tempdir_in("/tmp")
            .unwrap();
        chmod_world_readable(scratch.path());
        let site = scratch.path().join("site");
        let pristine = scratch.path().join("pristine");
        copy(&dir, &site);
        let scenario = Scenario {
            name,
            dir,
            site,
            pristine,
            _scratch: scratch,
        };
        scenario.setup();
        chmod_world_readable(&scenario.site);
        copy(&scenario.site, &scenario.pristine);
        scenario
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = corpus()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env.push(("SITE".into(), self.site.display().to_string()));
        env.push(("CONFORMANCE".into(), suite_dir().display().to_string()));
        env
    }

    fn setup(&self) {
        let setup = self.site.join("setup.sh");
        if !setup.exists() {
            return;
        }
        // A failing step fails the setup, whatever the script says.
        let out = Command::new("bash")
            .args(["-eu", "-o", "pipefail"])
            .arg(&setup)
            .current_dir(&self.site)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}/setup.sh failed:\n{}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The configuration snippet with the scenario's placeholders filled in (`{root}` is
    /// left for the harness).
    fn config(&self) -> String {
        let mut conf = std::fs::read_to_string(self.dir.join("httpd.conf")).unwrap();
        conf = conf
            .replace("{site}", &self.site.display().to_string())
            .replace("{conformance}", &suite_dir().display().to_string());
        for (key, value) in corpus() {
            if let Some(venv) = key.strip_prefix("VENV_") {
                conf = conf.replace(&format!("{{venv:{}}}", venv.to_lowercase()), value);
            }
        }
        assert!(
            !conf.contains("{venv"),
            "{}: httpd.conf names a virtual environment prepare.sh does not make",
            self.name
        );
        conf
    }

    /// Runs the scenario against `module` and records what the client and the log saw;
    /// also returns the error log.
    fn run(&self, module: &Path) -> (Record, String) {
        std::fs::remove_dir_all(&self.site).unwrap();
        copy(&self.pristine, &self.site);
        let mpm = match std::fs::read_to_string(self.dir.join("mpm")).as_deref() {
            Ok(m) if m.trim() == "prefork" => Mpm::Prefork,
            Ok(m) if m.trim() == "worker" => Mpm::Worker,
            _ => Mpm::Event,
        };
        let mut stage = Stage::with_module(mpm, module);
        stage.clean_environment = true;
        let apache = stage.start(&self.config());
        let out = Command::new("python3")
            .arg(self.site.join("client.py"))
            .current_dir(&self.site)
            .envs(self.env())
            .env("PYTHONPATH", suite_dir())
            .env("CONFORMANCE_ROOT", &self.site)
            .env("CONFORMANCE_PORT", apache.port().to_string())
            .env("CONFORMANCE_SERVER_ROOT", apache.root())
            .output()
            .unwrap();
        let mut record = Record::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: bad client line {line:?}: {e}", self.name));
            record.insert(
                v["key"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            );
        }
        assert!(
            out.status.success(),
            "{}: the client failed against {}:\n{}\n---- error_log ----\n{}",
            self.name,
            module.display(),
            String::from_utf8_lossy(&out.stderr),
            apache.error_log()
        );
        // The application's own lines (print, logging, wsgi.errors, tracebacks): the
        // module's lines are its own business (RW codes, mod_wsgi's messages).
        let log = apache.error_log();
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for line in application_lines(&log, apache.root(), &self.site) {
            *counts.entry(line).or_default() += 1;
        }
        for (line, n) in counts {
            record.insert(format!("log/{line}"), n.to_string());
        }
        (record, log)
    }
}

/// The error log's `[wsgi:…]` lines that the application wrote, without the prefix (time,
/// pid, client) that differs between runs.
fn application_lines(log: &str, server_root: &Path, site: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some(at) = line.find("] [wsgi:") else {
            continue;
        };
        let rest = &line[at + "] [".len()..];
        let Some((level, rest)) = rest.split_once("] ") else {
            continue;
        };
        // What an application reports (print, wsgi.errors, logging's warnings, tracebacks)
        // is at warning level or above; the modules' info lines are their own business.
        if ![
            "wsgi:warn",
            "wsgi:error",
            "wsgi:crit",
            "wsgi:alert",
            "wsgi:emerg",
        ]
        .contains(&level)
        {
            continue;
        }
        // Skip the pid and client parts: `[pid N:tid M] [client A:P] `.
        let mut message = rest;
        while let Some(after) = message.strip_prefix('[') {
            match after.split_once("] ") {
                Some((_, tail)) => message = tail,
                None => break,
            }
        }
        if is_module_line(message) {
            continue;
        }
        let message = message
            .replace(&server_root.display().to_string(), "{serverroot}")
            .replace(&site.display().to_string(), "{site}");
        out.push(format!("{level}] {message}"));
    }
    out
}

/// Lines the module writes about itself: rwsgi's carry an `RWnnnn:` code, mod_wsgi's a
/// `WSGInnnn:` one or its `mod_wsgi (pid=…)` prefix.
fn is_module_line(message: &str) -> bool {
    let coded = |prefix: &str| {
        message.find(prefix).is_some_and(|i| {
            let digits = &message[i + prefix.len()..];
            digits.len() > 5
                && digits[..4].bytes().all(|b| b.is_ascii_digit())
                && digits.as_bytes()[4] == b':'
        })
    };
    message.starts_with("mod_wsgi (pid=") || coded("RW") || coded("WSGI")
}

fn copy(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Runs scenario `name` under both modules and fails on any difference that
/// docs/differences.md does not list.
fn differential(name: &'static str) {
    let mod_wsgi = PathBuf::from(&corpus()["MOD_WSGI"]);
    let started = std::time::Instant::now();
    let scenario = Scenario::new(name);
    let set_up = started.elapsed();
    let (reference, reference_log) = scenario.run(&mod_wsgi);
    let theirs_done = started.elapsed();
    let (ours, our_log) = scenario.run(&module_path());
    eprintln!(
        "conformance {name}: set up in {:.1}s, mod_wsgi run {:.1}s, rwsgi run {:.1}s",
        set_up.as_secs_f64(),
        (theirs_done - set_up).as_secs_f64(),
        (started.elapsed() - theirs_done).as_secs_f64()
    );
    // RWSGI_CONFORMANCE_DUMP=dir keeps both records, for reading what a scenario sees.
    if let Ok(dir) = std::env::var("RWSGI_CONFORMANCE_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        for (who, record, log) in [
            ("mod_wsgi", &reference, &reference_log),
            ("rwsgi", &ours, &our_log),
        ] {
            let text: String = record.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            std::fs::write(Path::new(&dir).join(format!("{name}.{who}.txt")), text).unwrap();
            std::fs::write(Path::new(&dir).join(format!("{name}.{who}.log")), log).unwrap();
        }
    }
    assert!(
        reference.len() > 3,
        "{name}: the client recorded almost nothing against mod_wsgi: {reference:#?}"
    );
    let absent = "<absent>".to_owned();
    let mut unexplained = Vec::new();
    let mut explained = 0;
    let keys: std::collections::BTreeSet<&String> = reference.keys().chain(ours.keys()).collect();
    for key in keys {
        let (theirs, mine) = (
            reference.get(key).unwrap_or(&absent),
            ours.get(key).unwrap_or(&absent),
        );
        if theirs == mine {
            continue;
        }
        let full = format!("{name}/{key}");
        if allowed().iter().any(|a| a.allows(&full, theirs, mine)) {
            explained += 1;
            continue;
        }
        unexplained.push(format!(
            "{full}\n    mod_wsgi: {}\n    rwsgi:    {}",
            theirs.replace('\n', "\n              "),
            mine.replace('\n', "\n              ")
        ));
    }
    eprintln!(
        "conformance {name}: {} observations, {explained} differences listed in docs/differences.md, {} not",
        reference.len(),
        unexplained.len()
    );
    let tail = |log: &str| {
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    assert!(
        unexplained.is_empty(),
        "{name}: rwsgi differs from mod_wsgi where docs/differences.md says nothing:\n{}\n\
         ---- mod_wsgi's error_log (end) ----\n{}\n---- rwsgi's error_log (end) ----\n{}",
        unexplained.join("\n"),
        tail(&reference_log),
        tail(&our_log)
    );
}

#[test]
fn glob_matches_keys() {
    assert!(glob(
        "*/environ/mod_wsgi.version",
        "django/env/environ/mod_wsgi.version"
    ));
    assert!(glob("flask/*", "flask/x"));
    assert!(!glob("flask/*/body", "flask/x/status"));
    assert!(glob("exact", "exact"));
    assert!(!glob("exact", "exactly"));
}

#[test]
fn application_lines_lose_what_differs_between_runs() {
    let log = "[Mon Dec 07 16:28:49.800121 2026] [wsgi:error] [pid 18465:tid 18467] [client 127.0.0.1:4711] printed by /tmp/s/app.py\n\
               [Mon Dec 07 16:28:49.800121 2026] [wsgi:info] [pid 18465:tid 18467] Loading script\n\
               [Mon Dec 07 16:28:49.800121 2026] [wsgi:error] [pid 1:tid 2] RW0102: failed\n\
               [Mon Dec 07 16:28:49.800121 2026] [core:error] [pid 1:tid 2] AH00000: not ours\n";
    assert_eq!(
        application_lines(log, Path::new("/tmp/root"), Path::new("/tmp/s")),
        ["wsgi:error] printed by {site}/app.py"]
    );
}

#[test]
fn module_lines_are_told_from_application_lines() {
    assert!(is_module_line("RW0102: failed to exec WSGI script"));
    assert!(is_module_line("mod_wsgi (pid=12): Exception occurred"));
    assert!(is_module_line(
        "[remote 127.0.0.1:4] WSGI0123: Target WSGI script"
    ));
    assert!(!is_module_line("Traceback (most recent call last):"));
    assert!(!is_module_line("RW: not a code"));
}

#[test]
fn front_controller() {
    differential("front-controller");
}

#[test]
fn script_alias_match() {
    differential("script-alias-match");
}

#[test]
fn virtual_hosts() {
    differential("virtual-hosts");
}

#[test]
fn script_reload() {
    differential("script-reload");
}

#[test]
fn django() {
    differential("django");
}

#[test]
fn django_auth() {
    differential("django-auth");
}

#[test]
fn flaskr() {
    differential("flaskr");
}

#[test]
fn pyramid() {
    differential("pyramid");
}

#[test]
fn trac() {
    differential("trac");
}

#[test]
fn moin() {
    differential("moin");
}

#[test]
fn graphite() {
    differential("graphite");
}

#[test]
fn hgweb() {
    differential("hgweb");
}

#[test]
fn radicale() {
    differential("radicale");
}

#[test]
fn roundup() {
    differential("roundup");
}

#[test]
fn auth_hooks() {
    differential("auth-hooks");
}

#[test]
fn errors() {
    differential("errors");
}

#[test]
fn group_selection() {
    differential("group-selection");
}

#[test]
fn two_django_sites() {
    differential("two-django-sites");
}
