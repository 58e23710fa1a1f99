//! Running the application: call it, send what it returns (iterable, sequence or
//! file_wrapper), always call `close()`, and turn failures into a 500 — or, once the
//! response has started, into a visibly cut response.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use super::context::Context;
use super::events::RequestEvents;
use super::file_wrapper::regular_file;
use super::start_response::{Responder, StartResponse};
use super::transport::{BodyError, Channel};
use crate::python::traceback;

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The response was sent completely.
    Done,
    /// Nothing was sent; the server answers with this status (500, or the status of a
    /// failed body read such as 413).
    Failed { status: u16 },
    /// The response had started; it was cut so the client cannot take it as complete.
    Aborted,
}

/// Everything one call needs besides the app and environ.
pub struct Call<'a> {
    pub channel: &'a Channel,
    pub header_only: bool,
    pub input_failure: &'a Arc<Mutex<Option<BodyError>>>,
    /// Names the app in log lines (the script path).
    pub label: &'a str,
    /// The application group, and whether it runs in a sub-interpreter.
    pub group: &'a str,
    pub in_subinterpreter: bool,
    /// Where `response_started` and `request_exception` go, when anything subscribed.
    pub events: Option<&'a Arc<RequestEvents>>,
}

/// Calls `app(environ, start_response)` and sends the response; also returns the status
/// the application gave, if it called `start_response`.
pub fn run(
    py: Python<'_>,
    context: &Context,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    call: &Call<'_>,
) -> (Outcome, Option<u16>) {
    let start_response = StartResponse::new(call.channel.clone(), call.header_only)
        .with_events(call.events.cloned());
    let sr = match context.responder(py, start_response) {
        Ok(sr) => sr,
        Err(err) => return (fail(py, call, None, err), None),
    };
    let result = app.call1((environ, sr.callable())).and_then(|iterable| {
        let sent = send(py, context, &sr, &iterable);
        // PEP 3333: close() is called whatever happened while iterating. Its failure is
        // the app's cleanup problem: logged, but a response produced in full stands.
        if let Err(err) = close(context, &iterable) {
            traceback::log(
                py,
                &format!(
                    "RW0113: close() of the response iterable of '{}' raised",
                    call.label
                ),
                &err,
            );
            if let Some(events) = call.events {
                events.request_exception(py, &err);
            }
        }
        sent
    });
    let result = result.and_then(|()| sr.with(|s| s.finish(py)));
    let outcome = match result {
        Ok(()) => Outcome::Done,
        Err(err) => fail(py, call, Some(&sr), err),
    };
    (outcome, sr.with(|s| Ok(s.status())).ok().flatten())
}

fn close(context: &Context, iterable: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = iterable.py();
    // A plain list or tuple has no close(); asking would build an AttributeError (its
    // message formatted) on every request that returns one.
    if iterable.is_exact_instance_of::<PyList>() || iterable.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    let close = context.close_name(py);
    if iterable.hasattr(close)? {
        iterable.call_method0(close)?;
    }
    Ok(())
}

fn send(
    py: Python<'_>,
    context: &Context,
    sr: &Responder<'_>,
    iterable: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if let Some((fd, offset, available)) = context
        .wrapped_file(iterable)
        .and_then(|file| regular_file(py, &file))
    {
        let sent = sr.with(|s| {
            if !s.has_head() {
                return Ok(false);
            }
            let len = s.content_length().map_or(available, |cl| cl.min(available));
            s.set_content_length_if_missing(len);
            s.emit_file(py, fd, offset, len).map(|()| true)
        })?;
        if sent {
            return Ok(());
        }
    }
    // A list or tuple is complete already: its length gives Content-Length (so the
    // response needs no chunking) and nothing needs flushing before the end.
    let sequence = if let Ok(list) = iterable.cast::<PyList>() {
        Some(list.iter().collect::<Vec<_>>())
    } else {
        iterable
            .cast::<PyTuple>()
            .ok()
            .map(|t| t.iter().collect::<Vec<_>>())
    };
    if let Some(items) = sequence {
        let total: Option<u64> = items
            .iter()
            .map(|i| i.cast::<PyBytes>().ok().map(|b| b.as_bytes().len() as u64))
            .sum();
        if let Some(total) = total {
            sr.with(|s| {
                s.set_content_length_if_missing(total);
                Ok(())
            })?;
        }
        for item in &items {
            sr.with(|s| s.emit(py, item, false))?;
        }
        return Ok(());
    }
    for item in iterable.try_iter()? {
        let item = item?;
        sr.with(|s| s.emit(py, &item, true))?;
    }
    Ok(())
}

fn fail(py: Python<'_>, call: &Call<'_>, sr: Option<&Responder<'_>>, err: PyErr) -> Outcome {
    let progress = sr.and_then(Responder::progress);
    let started = sr.is_some() && progress.as_ref().is_none_or(|(started, _)| *started);
    let client_gone = progress.and_then(|(_, gone)| gone);
    let input_failure = call
        .input_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(reason) = client_gone {
        // Usually the client went away (or Apache is stopping): nobody's bug, nothing to send.
        tracing::info!(
            "RW0114: sending the response for '{}' failed, the client has most likely gone away: {reason}",
            call.label
        );
        let _ = call.channel.with(py, |t| t.abort());
        return Outcome::Aborted;
    }
    match (&input_failure, started) {
        (Some(body), false) => {
            // The client sent a bad or oversized body: its fault, not the app's.
            tracing::info!(
                "RW0105: request body could not be read ({}: {}); answering {} for '{}'",
                body.status,
                body.reason,
                body.status,
                call.label
            );
        }
        _ => {
            traceback::log(
                py,
                &format!(
                    "RW0104: exception occurred processing WSGI script '{}'",
                    call.label
                ),
                &err,
            );
            super::groups::explain_refusal(py, call.group, call.in_subinterpreter, &err);
            if let Some(events) = call.events {
                events.request_exception(py, &err);
            }
        }
    }
    if started {
        tracing::error!(
            "RW0106: response for '{}' was cut short: the client sees an incomplete response",
            call.label
        );
        let _ = call.channel.with(py, |t| t.abort());
        return Outcome::Aborted;
    }
    Outcome::Failed {
        status: input_failure.map_or(500, |b| b.status),
    }
}
