//! Streaming a request body in and a response out through Apache's filter chains.
//!
//! [`RequestIo`] is the one handle that may cross `Python::detach` (it is `Send`): it checks
//! on every call that it is used on the thread that owns the request, and its owner revokes
//! it before the handler returns, so it never outlives the `request_rec`.

use std::mem::offset_of;
use std::thread::{self, ThreadId};

use super::request::Request;
use super::sys;

pub use rwsgi_core::os_file::OsFile;

/// Why reading the request body failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// The HTTP status Apache maps the failure to (400, 408, 413, …).
    pub status: u16,
    pub reason: String,
}

/// Body I/O for one request. See the module docs for why it is `Send`.
pub struct RequestIo {
    r: *mut sys::request_rec,
    owner: ThreadId,
    input: *mut sys::apr_bucket_brigade,
    output: *mut sys::apr_bucket_brigade,
    input_done: bool,
    /// Whether the response may let the kernel merge its streamed blocks
    /// (`WSGIStreamCoalescing On`), and its flushed writes so far.
    coalesce: bool,
    flushed: u32,
    /// The client's socket while Nagle's algorithm is on for this response; it is turned
    /// off again (which sends what the kernel holds) when this handle goes.
    nagle_on: *mut sys::apr_socket_t,
}

// SAFETY: every method checks that it runs on `owner`, the thread processing the request;
// the value only travels across `Python::detach` on that same thread.
unsafe impl Send for RequestIo {}

/// APR_BRIGADE_SENTINEL: the ring head disguised as a bucket.
fn sentinel(bb: *mut sys::apr_bucket_brigade) -> *mut sys::apr_bucket {
    bb.cast::<u8>()
        .wrapping_add(offset_of!(sys::apr_bucket_brigade, list))
        .wrapping_sub(offset_of!(sys::apr_bucket, link))
        .cast()
}

/// APR_BRIGADE_INSERT_TAIL.
///
/// # Safety
/// `bb` must be a live brigade and `e` a bucket not in any brigade.
unsafe fn insert_tail(bb: *mut sys::apr_bucket_brigade, e: *mut sys::apr_bucket) {
    let head = sentinel(bb);
    // SAFETY: APR_RING_SPLICE_BEFORE(head, e, e) on a well-formed ring (caller contract).
    unsafe {
        (*e).link.next = head;
        (*e).link.prev = (*head).link.prev;
        (*(*head).link.prev).link.next = e;
        (*head).link.prev = e;
    }
}

/// Does the brigade contain an EOS bucket?
///
/// # Safety
/// `bb` must be a live brigade.
unsafe fn has_eos(bb: *mut sys::apr_bucket_brigade) -> bool {
    let head = sentinel(bb);
    // SAFETY: walking a well-formed ring from its first element back to the sentinel.
    unsafe {
        let mut e = (*bb).list.next;
        while e != head {
            if std::ptr::eq((*e).type_, &raw const sys::apr_bucket_type_eos) {
                return true;
            }
            e = (*e).link.next;
        }
    }
    false
}

impl RequestIo {
    /// # Safety
    /// `r` must stay live while this value is used, and the value must be revoked (dropped)
    /// before the handler returns.
    pub(super) unsafe fn new(r: *mut sys::request_rec) -> RequestIo {
        // SAFETY: r, its pool and connection are live (caller contract).
        let (input, output) = unsafe {
            let pool = (*r).pool;
            let alloc = (*(*r).connection).bucket_alloc;
            (
                sys::apr_brigade_create(pool, alloc),
                sys::apr_brigade_create(pool, alloc),
            )
        };
        RequestIo {
            r,
            owner: thread::current().id(),
            input,
            output,
            input_done: false,
            coalesce: false,
            flushed: 0,
            nagle_on: std::ptr::null_mut(),
        }
    }

    /// From the response's second flushed write to its end, lets the kernel merge small
    /// blocks while earlier ones are unacknowledged (Nagle's algorithm, which Apache turns
    /// off on every connection). Each block is still written before the next is asked
    /// for; a response of one block is not affected.
    pub fn coalesce_streams(&mut self) {
        self.coalesce = true;
    }

    /// Turns Nagle's algorithm on for this connection, unless it is an HTTP/2 stream (its
    /// socket carries other requests).
    fn nagle(&mut self) {
        // SAFETY: owner thread (callers check), request and connection live.
        unsafe {
            let c = (*self.r).connection;
            if !(*c).master.is_null() {
                return;
            }
            let socket = sys::ap_get_conn_socket(c);
            if !socket.is_null()
                && sys::apr_socket_opt_set(socket, sys::APR_TCP_NODELAY as i32, 0)
                    == sys::APR_SUCCESS as i32
            {
                self.nagle_on = socket;
            }
        }
    }

    fn check_thread(&self) -> Result<(), ResponseError> {
        if thread::current().id() == self.owner {
            Ok(())
        } else {
            Err(ResponseError::WrongThread)
        }
    }

    /// Reads up to `buf.len()` body bytes; `Ok(0)` means the body is complete.
    /// With `fill`, keeps reading until `buf` is full or the body ends (one call for a whole
    /// `read(n)`); without, returns as soon as some bytes arrived (`readline` on a stream).
    pub fn read(&mut self, buf: &mut [u8], fill: bool) -> Result<usize, BodyError> {
        // SAFETY: u8 and MaybeUninit<u8> have the same layout, and read_uninit only ever
        // writes initialised bytes (apr_brigade_flatten copies data) into the slice.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        self.read_uninit(buf, fill)
    }

    /// As [`RequestIo::read`], into memory that need not be initialised (a freshly
    /// allocated `bytes` object): the first `n` bytes of `buf` are initialised on `Ok(n)`.
    pub fn read_uninit(
        &mut self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        fill: bool,
    ) -> Result<usize, BodyError> {
        self.check_thread().map_err(|e| BodyError {
            status: 500,
            reason: e.to_string(),
        })?;
        let mut total = 0;
        while !self.input_done && total < buf.len() {
            let buf = &mut buf[total..];
            // SAFETY: owner thread; the input brigade belongs to this request.
            let rv = unsafe {
                sys::ap_get_brigade(
                    (*self.r).input_filters,
                    self.input,
                    sys::AP_MODE_READBYTES,
                    sys::APR_BLOCK_READ,
                    buf.len() as sys::apr_off_t,
                )
            };
            if rv != sys::APR_SUCCESS as i32 {
                // SAFETY: pure mapping of an APR status to an HTTP status.
                let status = unsafe { sys::ap_map_http_request_error(rv, 400) };
                // SAFETY: as above; discards whatever partial data was read.
                unsafe { sys::apr_brigade_cleanup(self.input.cast()) };
                self.input_done = true;
                return Err(BodyError {
                    status: status as u16,
                    reason: apr_error(rv),
                });
            }
            let mut len = buf.len();
            // SAFETY: flatten copies at most `len` bytes into `buf`.
            let rv =
                unsafe { sys::apr_brigade_flatten(self.input, buf.as_mut_ptr().cast(), &mut len) };
            // SAFETY: the brigade is live.
            let eos = unsafe { has_eos(self.input) };
            // SAFETY: as above.
            unsafe { sys::apr_brigade_cleanup(self.input.cast()) };
            if rv != sys::APR_SUCCESS as i32 {
                self.input_done = true;
                return Err(BodyError {
                    status: 400,
                    reason: apr_error(rv),
                });
            }
            if eos {
                self.input_done = true;
            }
            total += len;
            if total > 0 && !fill {
                break;
            }
        }
        Ok(total)
    }

    /// Sets status and headers; they go out with the first body bytes (or at the end).
    pub fn send_head(
        &mut self,
        status: u16,
        status_line: &[u8],
        headers: &[(impl AsRef<[u8]>, impl AsRef<[u8]>)],
    ) -> Result<(), ResponseError> {
        self.check_thread()?;
        // SAFETY: owner thread, request live (constructor contract).
        let mut r = unsafe { Request::from_raw(self.r) }.ok_or(ResponseError::RequestGone)?;
        r.set_response_head(status, status_line, headers);
        Ok(())
    }

    /// Passes `data` down the output filters, optionally with a FLUSH so it reaches the
    /// client now. Fails when the client has gone away.
    pub fn write(&mut self, data: &[u8], flush: bool) -> Result<(), ResponseError> {
        self.check_thread()?;
        if flush && self.coalesce && !data.is_empty() {
            self.flushed += 1;
            if self.flushed == 2 {
                self.nagle();
            }
        }
        // SAFETY: owner thread; buckets come from the connection's allocator and go into
        // our own output brigade, which is emptied after every pass. The transient bucket
        // points at `data`, which outlives the pass (filters set aside what they keep).
        unsafe {
            let alloc = (*self.output).bucket_alloc;
            if !data.is_empty() {
                insert_tail(
                    self.output,
                    sys::apr_bucket_transient_create(data.as_ptr().cast(), data.len(), alloc),
                );
            }
            if flush {
                insert_tail(self.output, sys::apr_bucket_flush_create(alloc));
            }
            self.pass()
        }
    }

    /// Sends `len` bytes of the open file `file` from `offset` as a file bucket
    /// (sendfile/mmap as Apache is configured), without copying through Python.
    pub fn send_file(&mut self, file: OsFile, offset: u64, len: u64) -> Result<(), ResponseError> {
        self.check_thread()?;
        // The app may close its file object before Apache writes the bucket (event MPM
        // write completion), so Apache gets its own copy, closed with the request.
        let own = own_copy(file)?;
        // SAFETY: owner thread; the apr_file_t and the copy's close live in r->pool, which
        // Apache keeps until the bucket is written.
        unsafe {
            let pool = (*self.r).pool;
            let mut apr_file: *mut sys::apr_file_t = std::ptr::null_mut();
            let mut os_file = own.raw();
            let rv = sys::apr_os_file_put(
                &mut apr_file,
                &mut os_file,
                sys::APR_FOPEN_READ as i32,
                pool,
            );
            if rv != sys::APR_SUCCESS as i32 {
                return Err(ResponseError::File(AprError(rv)));
            }
            super::Pool::from_raw(pool)
                .ok_or(ResponseError::RequestGone)?
                .on_cleanup(move || drop(own));
            sys::apr_brigade_insert_file(
                self.output,
                apr_file,
                offset as sys::apr_off_t,
                len as sys::apr_off_t,
                pool,
            );
            self.pass()
        }
    }

    /// Makes a started response visibly incomplete: no terminating chunk, connection closed.
    pub fn abort(&mut self) {
        if self.check_thread().is_err() {
            return;
        }
        // SAFETY: owner thread. An error bucket with 502 tells the chunk filter to omit the
        // last-chunk and the HTTP layer to close the connection (as mod_proxy does for a
        // broken backend); EOS ends the request so Apache adds nothing after it.
        unsafe {
            let alloc = (*self.output).bucket_alloc;
            let pool = (*self.r).pool;
            insert_tail(
                self.output,
                sys::ap_bucket_error_create(
                    sys::HTTP_BAD_GATEWAY as i32,
                    std::ptr::null(),
                    pool,
                    alloc,
                ),
            );
            insert_tail(self.output, sys::apr_bucket_eos_create(alloc));
            (*(*self.r).connection).keepalive = sys::AP_CONN_CLOSE;
            let _ = self.pass();
        }
    }

    /// # Safety
    /// Owner thread; request live.
    unsafe fn pass(&mut self) -> Result<(), ResponseError> {
        // SAFETY: caller contract; the brigade is emptied for reuse whatever happens.
        let rv = unsafe {
            let rv = sys::ap_pass_brigade((*self.r).output_filters, self.output);
            sys::apr_brigade_cleanup(self.output.cast());
            rv
        };
        if rv == sys::APR_SUCCESS as i32 {
            Ok(())
        } else {
            Err(ResponseError::Write(AprError(rv)))
        }
    }
}

impl Drop for RequestIo {
    fn drop(&mut self) {
        if !self.nagle_on.is_null() && self.check_thread().is_ok() {
            // SAFETY: owner thread; the socket lives as long as the connection, which
            // outlives the request. Turning Nagle off sends what the kernel holds at once,
            // and leaves the connection as Apache set it for its next request.
            unsafe { sys::apr_socket_opt_set(self.nagle_on, sys::APR_TCP_NODELAY as i32, 1) };
        }
    }
}

/// A copy of an open file, closed when dropped.
#[cfg(unix)]
struct OwnCopy(std::os::fd::OwnedFd);

#[cfg(unix)]
impl OwnCopy {
    fn raw(&self) -> sys::apr_os_file_t {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

#[cfg(unix)]
fn own_copy(file: OsFile) -> Result<OwnCopy, ResponseError> {
    // SAFETY: the caller vouches `file` is open for the duration of this call.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(file) };
    borrowed
        .try_clone_to_owned()
        .map(OwnCopy)
        .map_err(|source| ResponseError::Duplicate {
            what: format!("dup() of file descriptor {file}"),
            source,
        })
}

#[cfg(windows)]
struct OwnCopy(std::os::windows::io::OwnedHandle);

#[cfg(windows)]
impl OwnCopy {
    fn raw(&self) -> sys::apr_os_file_t {
        use std::os::windows::io::AsRawHandle;
        self.0.as_raw_handle().cast()
    }
}

#[cfg(windows)]
fn own_copy(file: OsFile) -> Result<OwnCopy, ResponseError> {
    // SAFETY: the caller vouches `file` is an open handle for the duration of this call.
    let borrowed = unsafe { std::os::windows::io::BorrowedHandle::borrow_raw(file as _) };
    borrowed
        .try_clone_to_owned()
        .map(OwnCopy)
        .map_err(|source| ResponseError::Duplicate {
            what: format!("duplicating file handle {file:#x}"),
            source,
        })
}

/// Why a response could not be handed to Apache.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("the request can only be used from the thread that is handling it")]
    WrongThread,
    #[error("request gone")]
    RequestGone,
    /// Apache's output filters refused the data: the client has most likely gone away.
    #[error("failed to write response data: {0}")]
    Write(AprError),
    #[error("{0}")]
    File(AprError),
    #[error("{what} failed: {source}")]
    Duplicate {
        what: String,
        source: std::io::Error,
    },
}

/// An APR status code; shown as APR's message for it.
#[derive(Debug, Clone, Copy)]
pub struct AprError(sys::apr_status_t);

impl std::fmt::Display for AprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&apr_error(self.0))
    }
}

fn apr_error(rv: sys::apr_status_t) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: apr_strerror writes a NUL-terminated message into `buf`.
    let p = unsafe { sys::apr_strerror(rv, buf.as_mut_ptr().cast(), buf.len()) };
    if p.is_null() {
        return format!("APR error {rv}");
    }
    // SAFETY: NUL-terminated within `buf`.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}
