//! Logging Python exceptions: one log line per traceback line, so Apache's error log (which
//! escapes newlines) stays readable, each with the request's context.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTracebackMethods};

/// Formats `err` like the interpreter does (`Traceback (most recent call last): …`),
/// without the frames of code that hides itself (see `visible`).
pub fn format(py: Python<'_>, err: &PyErr) -> Vec<String> {
    let formatted = (|| -> PyResult<Vec<String>> {
        let tb = py.import("traceback")?;
        let lines: Vec<String> = tb
            .call_method1(
                "format_exception",
                (err.get_type(py), err.value(py), visible(py, err)?),
            )?
            .extract()?;
        Ok(lines)
    })();
    let text = match formatted {
        Ok(lines) => lines.concat(),
        Err(_) => {
            let tb = err
                .traceback(py)
                .and_then(|t| t.format().ok())
                .unwrap_or_default();
            format!("{tb}{err}")
        }
    };
    text.lines().map(str::to_owned).collect()
}

/// `err`'s traceback without the frames whose module sets `__tracebackhide__` (pytest's
/// convention): rwsgi-express's generated loader, so a traceback starts at the user's
/// code. The original when nothing is hidden.
fn visible<'py>(py: Python<'py>, err: &PyErr) -> PyResult<Bound<'py, PyAny>> {
    let Some(first) = err.traceback(py) else {
        return Ok(py.None().into_bound(py));
    };
    let mut all = Vec::new();
    let mut current = first.clone().into_any();
    while !current.is_none() {
        let next = current.getattr("tb_next")?;
        all.push(current);
        current = next;
    }
    let hidden = |tb: &Bound<'py, PyAny>| -> PyResult<bool> {
        let globals = tb.getattr("tb_frame")?.getattr("f_globals")?;
        match globals.cast::<PyDict>()?.get_item("__tracebackhide__")? {
            Some(flag) => flag.is_truthy(),
            None => Ok(false),
        }
    };
    let mut kept = Vec::with_capacity(all.len());
    for tb in &all {
        if !hidden(tb)? {
            kept.push(tb);
        }
    }
    if kept.len() == all.len() {
        return Ok(first.into_any());
    }
    // Traceback objects are shared with whoever else holds the exception: build new ones.
    let make = py.import("types")?.getattr("TracebackType")?;
    let mut chain = py.None().into_bound(py);
    for tb in kept.iter().rev() {
        chain = make.call1((
            chain,
            tb.getattr("tb_frame")?,
            tb.getattr("tb_lasti")?,
            tb.getattr("tb_lineno")?,
        ))?;
    }
    Ok(chain)
}

/// Logs `err` at error level with a leading message (`RW` code included by the caller).
pub fn log(py: Python<'_>, message: &str, err: &PyErr) {
    let lines = format(py, err);
    // Writing the log blocks: release the GIL meanwhile.
    py.detach(|| {
        tracing::error!("{message}");
        for line in lines {
            tracing::error!("{line}");
        }
    });
}

#[cfg(unix)]
/// Where the thread with Python ident `thread` is now (`sys._current_frames()`), as the
/// lines of a stack listing, innermost last; empty if it runs no Python code.
pub fn thread_stack(py: Python<'_>, thread: u64) -> Vec<String> {
    let stack = (|| -> PyResult<Vec<String>> {
        let frames = py.import("sys")?.call_method0("_current_frames")?;
        let Some(frame) = frames
            .call_method1("get", (thread,))
            .ok()
            .filter(|f| !f.is_none())
        else {
            return Ok(vec!["(the thread runs no Python code)".to_owned()]);
        };
        let lines: Vec<String> = py
            .import("traceback")?
            .call_method1("format_stack", (frame,))?
            .extract()?;
        Ok(lines.concat().lines().map(str::to_owned).collect())
    })();
    stack.unwrap_or_else(|e| vec![format!("(the stack could not be read: {e})")])
}

/// Whether `err` (or an exception it was raised from) is an extension module refusing to
/// load in a sub-interpreter: pyo3-built modules ("PyO3 modules do not yet support
/// subinterpreters", "PyO3 modules may only be initialized once per interpreter process")
/// and single-phase C modules in an isolated interpreter ("module X does not support
/// loading in subinterpreters"). Gives the package when it can be told: from
/// the message, else from the innermost `import` line of the traceback.
pub fn refused_subinterpreter(py: Python<'_>, err: &PyErr) -> Option<Option<String>> {
    let mut current = Some(err.clone_ref(py));
    let mut depth = 0;
    while let Some(e) = current {
        if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) {
            let message = e.value(py).to_string();
            if message.contains("subinterpreter") || message.contains("PyO3 modules") {
                return Some(package_of(&message).or_else(|| imported_by(&format(py, &e))));
            }
        }
        depth += 1;
        current = e.cause(py).filter(|_| depth < 8);
    }
    None
}

/// `X` of "module X does not support loading in subinterpreters".
fn package_of(message: &str) -> Option<String> {
    let rest = message.split("module ").nth(1)?;
    let name = rest
        .split_whitespace()
        .next()?
        .trim_matches(|c| c == '\'' || c == '"');
    let top = name.split('.').next()?;
    (!top.is_empty() && top.chars().all(|c| c.is_alphanumeric() || c == '_')).then(|| top.into())
}

/// The top-level package of the innermost `import X` / `from X import` source line of a
/// formatted traceback.
fn imported_by(lines: &[String]) -> Option<String> {
    lines.iter().rev().find_map(|line| {
        let code = line.trim();
        let module = code
            .strip_prefix("from ")
            .or_else(|| code.strip_prefix("import "))?;
        let top = module.split([' ', ',', '.']).next()?;
        (!top.is_empty()).then(|| top.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        assert_eq!(
            package_of("module _testsinglephase does not support loading in subinterpreters"),
            Some("_testsinglephase".into())
        );
        assert_eq!(
            package_of(
                "PyO3 modules do not yet support subinterpreters, see https://github.com/PyO3/pyo3/issues/576"
            ),
            None
        );
        let tb: Vec<String> = [
            "Traceback (most recent call last):",
            "  File \"/srv/app.wsgi\", line 3, in <module>",
            "    from pydantic_core.core_schema import CoreSchema",
            "  File \"/venv/pydantic_core/__init__.py\", line 6, in <module>",
            "    import pydantic_core._pydantic_core as _core",
            "ImportError: PyO3 modules do not yet support subinterpreters",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(imported_by(&tb), Some("pydantic_core".into()));
        assert_eq!(imported_by(&tb[..1]), None);
    }
}
