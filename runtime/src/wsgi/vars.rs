//! The string-valued environ entries a server computes per request, and where they go: an
//! environ dict (embedded mode, and the daemon once they arrive) or the wire (the Apache
//! child of a daemon request). One list, so both modes set exactly the same entries.

/// Environ keys set by name. The first [`Var::ALWAYS`] are set on every request; the rest
/// only when they have a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    RequestMethod,
    RequestUri,
    RequestScheme,
    ScriptName,
    PathInfo,
    QueryString,
    ScriptFilename,
    ServerName,
    ServerPort,
    ServerAddr,
    ServerProtocol,
    ServerAdmin,
    RemoteAddr,
    RemotePort,
    DocumentRoot,
    ContextPrefix,
    ContextDocumentRoot,
    UrlScheme,
    ProcessGroup,
    ApplicationGroup,
    CallableObject,
    RequestHandler,
    HandlerScript,
    ListenerHost,
    ListenerPort,
    ModScriptName,
    ModPathInfo,
    // Optional from here.
    RemoteUser,
    AuthType,
    RequestId,
    ConnectionId,
    ForwardedFor,
    Host,
}

impl Var {
    pub const NAMES: [&'static str; 33] = [
        "REQUEST_METHOD",
        "REQUEST_URI",
        "REQUEST_SCHEME",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "SCRIPT_FILENAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_ADDR",
        "SERVER_PROTOCOL",
        "SERVER_ADMIN",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "DOCUMENT_ROOT",
        "CONTEXT_PREFIX",
        "CONTEXT_DOCUMENT_ROOT",
        "wsgi.url_scheme",
        "mod_wsgi.process_group",
        "mod_wsgi.application_group",
        "mod_wsgi.callable_object",
        "mod_wsgi.request_handler",
        "mod_wsgi.handler_script",
        "mod_wsgi.listener_host",
        "mod_wsgi.listener_port",
        "mod_wsgi.script_name",
        "mod_wsgi.path_info",
        "REMOTE_USER",
        "AUTH_TYPE",
        "mod_wsgi.request_id",
        "mod_wsgi.connection_id",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_HOST",
    ];
    /// How many leading entries of [`Var::NAMES`] every request sets.
    pub const ALWAYS: usize = 27;

    pub fn name(self) -> &'static str {
        Var::NAMES[self as usize]
    }
}

/// Where a request's variables go. Later values for the same key replace earlier ones.
pub trait VarSink {
    fn var(&mut self, key: Var, value: &[u8]);
    /// A variable whose name is only known per request (headers, SetEnv).
    fn named(&mut self, key: &str, value: &[u8]);
}

/// The variables written straight into the daemon protocol's `Request` frame.
impl VarSink for rwsgi_core::protocol::RequestEncoder<'_> {
    fn var(&mut self, key: Var, value: &[u8]) {
        self.push(key.name().as_bytes(), value);
    }
    fn named(&mut self, key: &str, value: &[u8]) {
        self.push(key.as_bytes(), value);
    }
}
