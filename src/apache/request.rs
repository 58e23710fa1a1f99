//! `request_rec`: the safe view handlers use. Strings are borrowed from the request pool.

use std::ffi::{CStr, c_char};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::pool::Pool;
use super::server::Server;
use super::table::Table;
use super::{Impl, Module, module, sys};

/// A borrowed `request_rec`, usable only on the thread processing the request.
pub struct Request<'a> {
    raw: NonNull<sys::request_rec>,
    _life: PhantomData<&'a mut sys::request_rec>,
}

/// The request an internal redirect came from (`r->prev`), as the `REDIRECT_*` variables
/// show it.
pub struct Redirected<'a> {
    /// Its URL path (`r->prev->uri`).
    pub uri: &'a [u8],
    /// Its query string.
    pub args: Option<&'a [u8]>,
    /// The user the nearest earlier request of the chain authenticated.
    pub user: Option<&'a [u8]>,
}

/// What the directory walk found at `r->filename`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    File { mtime_us: i64 },
    Directory,
    Other,
}

fn bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: request strings are NUL-terminated and live in the request (or a longer) pool.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

impl<'a> Request<'a> {
    /// # Safety
    /// `raw` must be a live `request_rec` that outlives `'a`, used only on this thread.
    pub unsafe fn from_raw(raw: *mut sys::request_rec) -> Option<Request<'a>> {
        NonNull::new(raw).map(|raw| Request {
            raw,
            _life: PhantomData,
        })
    }

    pub(super) fn as_ptr(&self) -> *mut sys::request_rec {
        self.raw.as_ptr()
    }

    fn rec(&self) -> &'a sys::request_rec {
        // SAFETY: live for 'a (constructor contract); fields are read between Apache calls.
        unsafe { self.raw.as_ref() }
    }

    fn conn(&self) -> &'a sys::conn_rec {
        // SAFETY: every request has a live connection that outlives it.
        unsafe { &*self.rec().connection }
    }

    pub fn pool(&self) -> Pool {
        // SAFETY: r->pool is live for the request.
        unsafe { Pool::from_raw(self.rec().pool) }.expect("request without pool")
    }

    pub fn server(&self) -> Server<'a> {
        // SAFETY: r->server is the live (virtual) server handling the request.
        unsafe { Server::from_raw(self.rec().server) }.expect("request without server")
    }

    /// This module's merged per-directory configuration for the request.
    pub fn dir_config(&self) -> &'a <Impl as Module>::DirConf {
        // SAFETY: our slot of per_dir_config holds a DirConf created/merged by Apache through
        // this module's callbacks, alive for the request.
        unsafe {
            module::config_slot(self.rec().per_dir_config)
                .cast::<<Impl as Module>::DirConf>()
                .as_ref()
        }
        .expect("rwsgi directory config missing")
    }

    /// Attaches a value to this request (`request_config` slot); dropped with the request pool.
    pub fn set_note<T: 'static>(&mut self, value: T) {
        let raw = self.pool().adopt(value);
        // SAFETY: request_config is the request's live config vector.
        unsafe { module::set_config_slot(self.rec().request_config, raw.cast()) }
    }

    /// The value set with [`Request::set_note`] (the caller knows its type).
    pub fn note<T: 'static>(&self) -> Option<&'a T> {
        // SAFETY: only set_note::<T> writes this slot, and this module uses one note type.
        unsafe {
            module::config_slot(self.rec().request_config)
                .cast::<T>()
                .as_ref()
        }
    }

    pub fn method(&self) -> &'a [u8] {
        bytes(self.rec().method).unwrap_or(b"GET")
    }
    pub fn uri(&self) -> &'a [u8] {
        bytes(self.rec().uri).unwrap_or(b"")
    }
    #[cfg(unix)]
    pub fn unparsed_uri(&self) -> &'a [u8] {
        bytes(self.rec().unparsed_uri).unwrap_or(b"")
    }
    /// The URL as the client sent it: the second word of the request line
    /// (`r->the_request`), which a rewrite or an internal redirect leaves alone.
    pub fn original_uri(&self) -> &'a [u8] {
        let line = bytes(self.rec().the_request).unwrap_or(b"");
        let is_space = |c: &u8| c.is_ascii_whitespace();
        let after_method = line.iter().position(is_space).unwrap_or(line.len());
        let rest = &line[after_method..];
        let start = rest.iter().position(|c| !is_space(c)).unwrap_or(rest.len());
        let rest = &rest[start..];
        &rest[..rest.iter().position(is_space).unwrap_or(rest.len())]
    }
    /// Where an internal redirect (mod_rewrite in a directory, `ErrorDocument`) came from.
    pub fn redirected_from(&self) -> Option<Redirected<'a>> {
        let prev = self.rec().prev;
        if prev.is_null() {
            return None;
        }
        // SAFETY: earlier requests of the chain live in the same connection's pools at
        // least as long as this one.
        let prev_rec: &'a sys::request_rec = unsafe { &*prev };
        let mut user = None;
        let mut at = prev;
        while !at.is_null() && user.is_none() {
            // SAFETY: as above, for each earlier request of the chain.
            let rec: &'a sys::request_rec = unsafe { &*at };
            user = bytes(rec.user);
            at = rec.prev;
        }
        Some(Redirected {
            uri: bytes(prev_rec.uri).unwrap_or(b""),
            args: bytes(prev_rec.args),
            user,
        })
    }
    /// The host the client named (`r->hostname`, from the request line or `Host:`).
    pub fn hostname(&self) -> Option<&'a [u8]> {
        bytes(self.rec().hostname)
    }
    pub fn args(&self) -> Option<&'a [u8]> {
        bytes(self.rec().args)
    }
    pub fn path_info(&self) -> &'a [u8] {
        bytes(self.rec().path_info).unwrap_or(b"")
    }
    pub fn filename(&self) -> Option<&'a [u8]> {
        bytes(self.rec().filename)
    }
    pub fn protocol(&self) -> &'a [u8] {
        bytes(self.rec().protocol).unwrap_or(b"HTTP/1.0")
    }
    pub fn handler(&self) -> Option<&'a [u8]> {
        bytes(self.rec().handler)
    }
    pub fn user(&self) -> Option<&'a [u8]> {
        bytes(self.rec().user)
    }
    /// The `request_rec` itself, for `WSGIPassApacheRequest` (valid while the request is).
    pub fn raw_ptr(&self) -> *mut std::ffi::c_void {
        self.as_ptr().cast()
    }
    /// Replaces the authenticated user's name (`r->user`), as an authn provider may.
    pub fn set_user(&mut self, user: &str) {
        let copy = self.pool().strdup_bytes(user.as_bytes());
        // SAFETY: a request-pool string for as long as the request lives; this thread owns
        // the request.
        unsafe { (*self.as_ptr()).user = copy.cast_mut() };
    }
    /// The client's host name when `HostnameLookups` allows looking it up, else its address
    /// (`ap_get_useragent_host`, `REMOTE_NAME`).
    pub fn useragent_host(&self) -> Option<&'a [u8]> {
        // SAFETY: returns a string of the request or connection pool, or NULL.
        bytes(unsafe {
            sys::ap_get_useragent_host(self.as_ptr(), sys::REMOTE_NAME as i32, std::ptr::null_mut())
        })
    }
    pub fn auth_type(&self) -> Option<&'a [u8]> {
        bytes(self.rec().ap_auth_type)
    }
    pub fn header_only(&self) -> bool {
        self.rec().header_only != 0
    }
    /// `r->request_time`: microseconds since the epoch when the request line was read.
    pub fn request_time_us(&self) -> i64 {
        self.rec().request_time
    }

    pub fn headers_in(&self) -> Option<Table<'a>> {
        // SAFETY: the table lives in the request pool.
        unsafe { Table::from_raw(self.rec().headers_in) }
    }
    pub fn headers_out(&self) -> Option<Table<'a>> {
        // SAFETY: as above.
        unsafe { Table::from_raw(self.rec().headers_out) }
    }
    pub fn subprocess_env(&self) -> Option<Table<'a>> {
        // SAFETY: as above.
        unsafe { Table::from_raw(self.rec().subprocess_env) }
    }
    /// `r->notes`: what modules tell each other about the request.
    pub fn notes(&self) -> Option<Table<'a>> {
        // SAFETY: as above.
        unsafe { Table::from_raw(self.rec().notes) }
    }

    /// Points the request at `path` (`r->filename`), copied into the request pool.
    pub fn set_filename(&mut self, path: &[u8]) {
        let p = self.pool().strdup_bytes(path);
        // SAFETY: exclusive access on the request's thread; the string lives in r->pool.
        unsafe { (*self.as_ptr()).filename = p.cast_mut() }
    }

    /// Forces the handler (`r->handler`) as `ScriptAlias` does.
    pub fn set_handler(&mut self, handler: &'static CStr) {
        // SAFETY: exclusive access; the handler name is a static string.
        unsafe { (*self.as_ptr()).handler = handler.as_ptr() }
    }

    /// What the directory walk found at `r->filename`.
    pub fn file_kind(&self) -> FileKind {
        let f = &self.rec().finfo;
        match f.filetype {
            sys::APR_NOFILE => FileKind::Missing,
            sys::APR_REG => FileKind::File { mtime_us: f.mtime },
            sys::APR_DIR => FileKind::Directory,
            _ => FileKind::Other,
        }
    }

    /// `AcceptPathInfo Off` for this location.
    pub fn rejects_path_info(&self) -> bool {
        self.rec().used_path_info == sys::AP_REQ_REJECT_PATH_INFO as i32
    }

    /// `Options ExecCGI` is on for this location.
    pub fn exec_cgi_allowed(&self) -> bool {
        // SAFETY: ap_allow_options only reads the request's core dir config.
        (unsafe { sys::ap_allow_options(self.as_ptr()) } & sys::OPT_EXECCGI as i32) != 0
    }

    /// Are resource/content filters (e.g. DEFLATE, INCLUDES) in the output chain? Those may
    /// need the body of a HEAD response to compute headers.
    pub fn has_content_filters(&self) -> bool {
        let mut f = self.rec().output_filters;
        while !f.is_null() {
            // SAFETY: filter chains are live, NULL-terminated lists of ap_filter_t.
            let filter = unsafe { &*f };
            // SAFETY: every filter has a registered filter record.
            if let Some(frec) = unsafe { filter.frec.as_ref() } {
                if frec.ftype < sys::AP_FTYPE_PROTOCOL {
                    return true;
                }
            }
            f = filter.next;
        }
        false
    }

    /// `ap_get_server_name`: the name to use for SERVER_NAME (honours UseCanonicalName).
    pub fn server_name(&self) -> &'a [u8] {
        // SAFETY: returns a string owned by the request or server.
        bytes(unsafe { sys::ap_get_server_name(self.as_ptr()) }).unwrap_or(b"")
    }
    pub fn server_port(&self) -> u16 {
        // SAFETY: pure query of request/server state.
        unsafe { sys::ap_get_server_port(self.as_ptr()) }
    }
    /// `http` or `https`, as the scheme hook decides (mod_ssl answers https).
    pub fn scheme(&self) -> &'a [u8] {
        // SAFETY: returns a static string or NULL.
        bytes(unsafe { sys::ap_run_http_scheme(self.as_ptr()) }).unwrap_or(b"http")
    }
    pub fn document_root(&self) -> &'a [u8] {
        // SAFETY: returns a string owned by the configuration.
        bytes(unsafe { sys::ap_document_root(self.as_ptr()) }).unwrap_or(b"")
    }
    pub fn context_prefix(&self) -> &'a [u8] {
        // SAFETY: as above.
        bytes(unsafe { sys::ap_context_prefix(self.as_ptr()) }).unwrap_or(b"")
    }
    pub fn context_document_root(&self) -> &'a [u8] {
        // SAFETY: as above.
        bytes(unsafe { sys::ap_context_document_root(self.as_ptr()) }).unwrap_or(b"")
    }
    pub fn server_admin(&self) -> String {
        self.server().admin()
    }
    /// Address of the client (after mod_remoteip, if any).
    pub fn client_ip(&self) -> &'a [u8] {
        bytes(self.rec().useragent_ip).unwrap_or(b"")
    }
    pub fn client_port(&self) -> u16 {
        // SAFETY: the connection's client address is live.
        unsafe { self.conn().client_addr.as_ref() }.map_or(0, |a| a.port)
    }
    pub fn local_ip(&self) -> &'a [u8] {
        bytes(self.conn().local_ip).unwrap_or(b"")
    }
    pub fn local_port(&self) -> u16 {
        // SAFETY: the connection's local address is live.
        unsafe { self.conn().local_addr.as_ref() }.map_or(0, |a| a.port)
    }

    /// The request's log id (`%L`), generated on first use.
    pub fn log_id(&mut self) -> Option<&'a [u8]> {
        if self.rec().log_id.is_null() {
            let mut id: *const c_char = std::ptr::null();
            // SAFETY: the hook writes a pool string into `id`.
            unsafe { sys::ap_run_generate_log_id(self.rec().connection, self.as_ptr(), &mut id) };
            // SAFETY: exclusive access on the request's thread.
            unsafe { (*self.as_ptr()).log_id = id };
        }
        bytes(self.rec().log_id)
    }
    /// The connection's log id (`%{c}L`), generated on first use.
    pub fn connection_log_id(&mut self) -> Option<&'a [u8]> {
        let c = self.rec().connection;
        if self.conn().log_id.is_null() {
            let mut id: *const c_char = std::ptr::null();
            // SAFETY: as for log_id, for the connection.
            unsafe { sys::ap_run_generate_log_id(c, std::ptr::null(), &mut id) };
            // SAFETY: the connection is only used by this thread while the request runs.
            unsafe { (*c).log_id = id };
        }
        bytes(self.conn().log_id)
    }

    /// `ap_setup_client_block`: rejects chunked bodies with 411 unless allowed, and bodies
    /// whose Content-Length exceeds `LimitRequestBody` with 413, before the app runs.
    pub fn setup_client_block(&mut self, allow_chunked: bool) -> Result<(), i32> {
        let policy = if allow_chunked {
            sys::REQUEST_CHUNKED_DECHUNK
        } else {
            sys::REQUEST_CHUNKED_ERROR
        };
        // SAFETY: called once, from the handler, before any body read.
        let rc = unsafe { sys::ap_setup_client_block(self.as_ptr(), policy as i32) };
        if rc == sys::OK as i32 {
            Ok(())
        } else {
            Err(rc)
        }
    }

    /// A handle for streaming the body in and out, which may cross `Python::detach`.
    pub fn io(&mut self) -> super::RequestIo {
        // SAFETY: the handle is used only while the handler runs (the caller revokes it
        // before returning) and only on this thread (RequestIo checks).
        unsafe { super::RequestIo::new(self.as_ptr()) }
    }

    /// Sets the status line and response headers (raw bytes: HTTP header text is latin-1);
    /// nothing is sent until the body is.
    pub fn set_response_head(
        &mut self,
        status: u16,
        status_line: &[u8],
        headers: &[(impl AsRef<[u8]>, impl AsRef<[u8]>)],
    ) {
        let pool = self.pool();
        let line = pool.strdup_bytes(status_line);
        // SAFETY: exclusive access on the request's thread; strings live in r->pool.
        unsafe {
            (*self.as_ptr()).status = i32::from(status);
            (*self.as_ptr()).status_line = line;
        }
        let Some(out) = self.headers_out() else {
            return;
        };
        for (name, value) in headers {
            let (name, value) = (name.as_ref(), value.as_ref());
            if name.eq_ignore_ascii_case(b"Content-Type") {
                let v = pool.strdup_bytes(value);
                // SAFETY: ap_set_content_type stores the pool string on the request.
                unsafe { sys::ap_set_content_type(self.as_ptr(), v) };
            } else if name.eq_ignore_ascii_case(b"Content-Length") {
                match std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<i64>().ok())
                {
                    // SAFETY: sets the header and r->clength.
                    Some(n) => unsafe { sys::ap_set_content_length(self.as_ptr(), n) },
                    None => out.add(pool, name, value),
                }
            } else {
                out.add(pool, name, value);
            }
        }
    }
}
