//! What one interpreter keeps for its requests: its loaded scripts, its base environ, its
//! key strings, and how it makes the WSGI objects (pyo3 classes in the main interpreter,
//! [`Shims`] in a sub-interpreter). Every Python object here belongs to that interpreter
//! and is only used, and dropped, inside it.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use super::events::Subscribers;
use super::file_wrapper::FileWrapper;
use super::input::Input;
use super::modules::{
    MOD_WSGI_API_VERSION, Objects, ProcessInfo, RequestTimeout, ServerFacts, rwsgi_version,
};
use super::shims::Shims;
use super::start_response::{Responder, StartResponse};
use crate::python::app::Scripts;
use crate::python::metrics::ScoreboardSource;
use crate::python::output::LogStream;
use rwsgi_core::python_settings::PythonSettings;

/// How this process's interpreters are made.
pub struct Setup {
    pub settings: PythonSettings,
    pub server: ServerFacts,
    pub process_group: String,
    /// `WSGIServerMetrics On` / `server-metrics=On`: where `server_metrics()` reads.
    pub server_metrics: Option<ScoreboardSource>,
    pub multithread: bool,
    pub multiprocess: bool,
    /// Sub-interpreters get their own GIL (`WSGIPerInterpreterGIL On`, Python 3.12+).
    pub own_gil: bool,
}

impl Setup {
    pub fn info(&self) -> ProcessInfo<'_> {
        ProcessInfo {
            settings: &self.settings,
            server: &self.server,
            process_group: &self.process_group,
            server_metrics: self.server_metrics,
        }
    }
}

/// How an interpreter makes its WSGI objects.
pub enum Api {
    /// The main interpreter: pyo3's `#[pyclass]` types (the fast path).
    Native,
    /// A sub-interpreter: classes defined in it.
    Shim(Shims),
}

/// One interpreter's state for its requests.
pub struct Context {
    pub scripts: Scripts,
    pub base_environ: Py<PyDict>,
    /// Environ keys ([`super::var_keys`]).
    pub var_keys: Vec<Py<PyString>>,
    close: Py<PyString>,
    api: Api,
    /// `mod_wsgi.event_callbacks` and the other subscriber lists.
    pub subscribers: Subscribers,
}

impl Context {
    /// Builds the context in the current interpreter.
    pub fn new(py: Python<'_>, api: Api, setup: &Setup) -> PyResult<Self> {
        let (multithread, multiprocess) = (setup.multithread, setup.multiprocess);
        let case_sensitive = setup
            .settings
            .case_sensitive
            .unwrap_or(!cfg!(any(windows, target_os = "macos")));
        let server = &setup.server;
        let mut context = Context {
            scripts: Scripts::new(case_sensitive),
            base_environ: PyDict::new(py).unbind(),
            var_keys: super::var_keys(py),
            close: PyString::intern(py, "close").unbind(),
            api,
            subscribers: Subscribers::new(py),
        };
        context.base_environ = context
            .base_environ(py, server, multithread, multiprocess)?
            .unbind();
        Ok(context)
    }

    /// A fresh `dict` with the entries every environ starts from, plus a None placeholder
    /// for each key every request sets, so each request's copy is already full-sized:
    /// setting them then replaces a value instead of growing the dict.
    fn base_environ<'py>(
        &self,
        py: Python<'py>,
        server: &ServerFacts,
        multithread: bool,
        multiprocess: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for key in super::always_set_keys() {
            d.set_item(key, py.None())?;
        }
        d.set_item("wsgi.version", PyTuple::new(py, [1, 0])?)?;
        d.set_item("wsgi.multithread", multithread)?;
        d.set_item("wsgi.multiprocess", multiprocess)?;
        d.set_item("wsgi.run_once", false)?;
        d.set_item("wsgi.input_terminated", true)?;
        d.set_item("wsgi.file_wrapper", self.file_wrapper_type(py))?;
        d.set_item("apache.version", server.apache_version)?;
        d.set_item("mod_wsgi.version", MOD_WSGI_API_VERSION)?;
        d.set_item("rwsgi.version", rwsgi_version())?;
        d.set_item("SERVER_SOFTWARE", &server.banner)?;
        Ok(d)
    }

    pub fn is_main(&self) -> bool {
        matches!(self.api, Api::Native)
    }

    /// `wsgi.input` around `input`.
    pub fn input<'py>(&self, py: Python<'py>, input: Input) -> PyResult<Bound<'py, PyAny>> {
        match &self.api {
            Api::Native => Ok(Bound::new(py, input)?.into_any()),
            Api::Shim(shims) => shims.input(py, input),
        }
    }

    /// A text stream into the error log (`wsgi.errors`, `sys.stdout`, `sys.stderr`).
    pub fn log<'py>(&self, py: Python<'py>, stream: LogStream) -> PyResult<Bound<'py, PyAny>> {
        match &self.api {
            Api::Native => Ok(Bound::new(py, stream)?.into_any()),
            Api::Shim(shims) => shims.log(py, stream),
        }
    }

    /// `start_response` for one request.
    pub fn responder<'py>(&self, py: Python<'py>, sr: StartResponse) -> PyResult<Responder<'py>> {
        match &self.api {
            Api::Native => Ok(Responder::Native(Bound::new(py, sr)?)),
            Api::Shim(shims) => shims.responder(py, sr),
        }
    }

    /// The file inside `iterable` if it is this interpreter's `wsgi.file_wrapper`.
    pub fn wrapped_file<'py>(&self, iterable: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        let py = iterable.py();
        match &self.api {
            Api::Native => {
                let wrapper = iterable.cast::<FileWrapper>().ok()?;
                Some(wrapper.borrow().filelike.bind(py).clone())
            }
            Api::Shim(shims) => iterable
                .is_exact_instance(shims.file_wrapper.bind(py))
                .then(|| iterable.getattr("filelike").ok())
                .flatten(),
        }
    }

    pub fn file_wrapper_type<'py>(&self, py: Python<'py>) -> Bound<'py, PyType> {
        match &self.api {
            Api::Native => py.get_type::<FileWrapper>(),
            Api::Shim(shims) => shims.file_wrapper.bind(py).clone(),
        }
    }

    #[cfg(unix)]
    pub fn request_timeout_type<'py>(&self, py: Python<'py>) -> Bound<'py, PyType> {
        match &self.api {
            Api::Native => py.get_type::<RequestTimeout>(),
            Api::Shim(shims) => shims.request_timeout.bind(py).clone(),
        }
    }

    /// What `modules::install` puts into this interpreter: its log streams and classes.
    pub fn objects<'py>(&self, py: Python<'py>) -> PyResult<Objects<'py>> {
        Ok(Objects {
            stdout: self.log(py, LogStream::new("<stdout>"))?,
            stderr: self.log(py, LogStream::new("<stderr>"))?,
            classes: self.classes(py),
            subscribers: self.subscribers.clone_ref(py),
        })
    }

    /// The classes the `mod_wsgi` module exposes.
    pub fn classes<'py>(&self, py: Python<'py>) -> Vec<(&'static str, Bound<'py, PyType>)> {
        match &self.api {
            Api::Native => vec![
                ("FileWrapper", py.get_type::<FileWrapper>()),
                ("Input", py.get_type::<Input>()),
                ("Log", py.get_type::<LogStream>()),
                ("RequestTimeout", py.get_type::<RequestTimeout>()),
            ],
            Api::Shim(shims) => shims.classes(py).into(),
        }
    }

    /// `"close"`, made in this interpreter.
    pub fn close_name<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        self.close.bind(py)
    }
}
