//! Importing the application once before Apache starts (as gunicorn refuses to boot a broken
//! application): a `SyntaxError` or a missing package stops rwsgi-express with the user's
//! file, line and exception, instead of a server whose every request answers 500.
//! `--lazy-app` skips it.
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::plan::Plan;
use crate::platform;

/// The check, run by the application's Python (`app_check.py`).
const CHECK: &str = include_str!("app_check.py");

/// The checker's exit status when the application failed to load.
const FAILED: i32 = 3;
/// ... when it imports `mod_wsgi`, which exists only inside Apache.
const NEEDS_APACHE: i32 = 4;

/// Imports the application through the generated handler, as the user Apache's children
/// run as. `Ok(Some(note))` when it could not be checked (the start goes on); an error
/// showing the application's traceback when it does not load.
pub fn check(plan: &Plan) -> Result<Option<String>> {
    let Some(python) = &plan.python_executable else {
        return Ok(Some(
            "the application was not imported before start: no Python executable found in \
             its Python home; it loads when Apache starts"
                .to_owned(),
        ));
    };
    let account = plan
        .run_as
        .as_ref()
        .map(|r| (r.user.as_str(), r.uid, r.gid));
    let out = platform::command_as(python, account)?
        .arg("-P")
        .args(plan.python_warnings.iter().flat_map(|w| ["-W", w.as_str()]))
        .args(["-c", CHECK])
        .arg(plan.handler_path())
        .args(&plan.python_path)
        .current_dir(&plan.working_directory)
        .env("LANG", &plan.locale)
        .env("LC_ALL", &plan.locale)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    let output = String::from_utf8_lossy(&out.stderr);
    let output = output.trim_end();
    let who = match &plan.run_as {
        Some(r) => format!("as {} ", r.user),
        None => String::new(),
    };
    match out.status.code() {
        Some(0) => Ok(None),
        Some(FAILED) => bail!(
            "{} does not load (imported {who}with {} before starting Apache; --lazy-app \
             skips this check):\n{}",
            plan.app.describe(),
            python.display(),
            indent(output)
        ),
        Some(NEEDS_APACHE) => Ok(Some(format!(
            "{} imports mod_wsgi, which exists only inside Apache: it was not checked before \
             start",
            plan.app.describe()
        ))),
        _ => Ok(Some(format!(
            "the application could not be imported before start ({} ended with {}): it loads \
             when Apache starts\n{}",
            python.display(),
            out.status,
            indent(output)
        ))),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
