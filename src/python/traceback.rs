//! Logging Python exceptions: one log line per traceback line, so Apache's error log (which
//! escapes newlines) stays readable, each with the request's context.

use pyo3::prelude::*;
use pyo3::types::PyTracebackMethods;

/// Formats `err` like the interpreter does (`Traceback (most recent call last): …`).
pub fn format(py: Python<'_>, err: &PyErr) -> Vec<String> {
    let formatted = (|| -> PyResult<Vec<String>> {
        let tb = py.import("traceback")?;
        let lines: Vec<String> = tb
            .call_method1(
                "format_exception",
                (err.get_type(py), err.value(py), err.traceback(py)),
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
