//! The wire protocol between an Apache child (the client) and a daemon process, over a unix
//! stream socket. Documented in docs/protocol.md.
//!
//! Every message is a frame: a 1-byte kind, a 4-byte big-endian payload length, then the
//! payload. The client opens with `Hello` (version, per-generation secret, timestamps) and
//! `Request` (the typed [`Route`] and the environ); the daemon answers `Accepted`, pulls the request body with `ReadBody` (so the
//! body flows only as fast as the application reads it), and sends `Head`, `Data`/`DataFlush`,
//! and finally `End` — or `Error` with a status and reason. A connection that closes without
//! `End` or `Error` is a cut response, never a complete one.
//!
//! This file holds the frames themselves; `reader` takes them off a stream and `blocks`
//! moves body blocks of any size as frames of at most [`MAX_DATA_FRAME`] bytes.

mod blocks;
mod reader;

pub use blocks::{BodyReadError, MAX_DATA_FRAME, answer_size, read_body, write_block};
pub use reader::{FrameReader, ReadError, split};

use crate::route::Route;

/// The protocol version this build speaks. A daemon refuses any other.
pub const VERSION: u16 = 4;
/// Opens every `Hello` payload, so a stray connection is recognised at once.
pub const MAGIC: &[u8; 5] = b"RWSGI";
/// Length of the per-generation secret.
pub const SECRET_LEN: usize = 32;
/// Largest payload a reader accepts (an environ larger than this is refused).
pub const MAX_PAYLOAD: usize = 16 << 20;
/// Frame header: kind + length.
pub const HEADER_LEN: usize = 5;

/// Frame kinds. Client → daemon below 0x10, daemon → client from 0x10.
pub mod kind {
    pub const HELLO: u8 = 0x01;
    pub const REQUEST: u8 = 0x02;
    pub const BODY: u8 = 0x03;
    pub const BODY_ERROR: u8 = 0x04;
    pub const ACCEPTED: u8 = 0x10;
    pub const READ_BODY: u8 = 0x11;
    pub const HEAD: u8 = 0x12;
    pub const DATA: u8 = 0x13;
    pub const DATA_FLUSH: u8 = 0x14;
    pub const END: u8 = 0x15;
    pub const ERROR: u8 = 0x16;
    pub const FILE: u8 = 0x17;
}

/// The client's opening frame. Its version is always [`VERSION`]: another one does not
/// decode ([`ProtocolError::OtherVersion`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub secret: [u8; SECRET_LEN],
    /// When Apache read the request line (µs since the epoch).
    pub request_start_us: u64,
    /// When the client started connecting to the daemon (µs since the epoch): the start
    /// of the wait that `queue-timeout` limits.
    pub queue_start_us: u64,
}

/// How `Request` encodes a `script_mtime_us` of `None`.
const NO_MTIME: i64 = i64::MIN;

/// The bits of a route's flags byte.
mod route_flag {
    pub const RELOAD: u8 = 1;
    pub const IGNORE_ACTIVITY: u8 = 2;
    pub const HANDLER_SCRIPT: u8 = 4;
    pub const ALL: u8 = RELOAD | IGNORE_ACTIVITY | HANDLER_SCRIPT;
}

/// One decoded frame, borrowing from the reader's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Hello(Hello),
    /// The request: how it runs (decided by the Apache child), then its CGI and
    /// `mod_wsgi.*` variables, in order, for the application.
    Request {
        route: Route,
        environ: Pairs<'a>,
    },
    /// Request body bytes; empty means the body has ended.
    Body(&'a [u8]),
    /// Reading the request body failed in Apache (e.g. 413, 400).
    BodyError {
        status: u16,
        reason: &'a str,
    },
    /// The daemon took the request; its pid, for log lines about it.
    Accepted {
        pid: u32,
    },
    /// The application wants up to `max` body bytes; with `fill`, as many as are coming.
    ReadBody {
        max: u32,
        fill: bool,
    },
    Head {
        status: u16,
        status_line: &'a [u8],
        headers: Vec<(&'a [u8], &'a [u8])>,
    },
    Data(&'a [u8]),
    /// Body bytes the client must push to the browser now (streaming).
    DataFlush(&'a [u8]),
    /// The response is complete.
    End,
    /// The request failed: before `Head`, the client answers with `status`; after, it cuts
    /// the response. `reason` goes to the error log.
    Error {
        status: u16,
        reason: &'a str,
    },
    /// Send `len` bytes from `offset` of the regular file whose descriptor travels with
    /// this frame (SCM_RIGHTS on its first byte): `wsgi.file_wrapper` without copying.
    File {
        offset: u64,
        len: u64,
    },
}

/// What can be wrong with bytes on the wire.
#[derive(Debug, PartialEq, Eq, Clone, thiserror::Error)]
pub enum ProtocolError {
    #[error("unknown frame kind 0x{0:02x}")]
    UnknownKind(u8),
    #[error("frame of {0} bytes exceeds the {MAX_PAYLOAD}-byte limit")]
    TooLarge(usize),
    /// The payload is shorter or longer than its kind requires.
    #[error("malformed {0} frame")]
    Malformed(&'static str),
    /// The connection ended inside a frame.
    #[error("connection closed inside a frame")]
    Truncated,
    #[error("not an rwsgi client (bad magic)")]
    BadMagic,
    /// A `Hello` of another protocol version: a peer from another rwsgi build.
    #[error("protocol version {0} (this side speaks {VERSION})")]
    OtherVersion(u16),
}

/// Name/value pairs borrowed from a payload.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// A frame split off a buffer: kind, payload, and the bytes after it.
pub type Split<'a> = (u8, &'a [u8], &'a [u8]);

/// Reads a payload field by field; any shortfall is `Malformed(what)`.
struct Cursor<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.rest.len() < n {
            return Err(ProtocolError::Malformed(self.what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ProtocolError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn pairs(&mut self) -> Result<Pairs<'a>, ProtocolError> {
        let n = self.u32()? as usize;
        // Each pair takes at least 8 bytes: a count larger than that is a lie.
        if n > self.rest.len() / 8 {
            return Err(ProtocolError::Malformed(self.what));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.bytes()?, self.bytes()?));
        }
        Ok(out)
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| ProtocolError::Malformed(self.what))
    }
    fn route(&mut self) -> Result<Route, ProtocolError> {
        let flags = self.u8()?;
        if flags & !route_flag::ALL != 0 {
            return Err(ProtocolError::Malformed(self.what));
        }
        let mtime = self.u64()? as i64;
        Ok(Route {
            reload: flags & route_flag::RELOAD != 0,
            ignore_activity: flags & route_flag::IGNORE_ACTIVITY != 0,
            handler_script: flags & route_flag::HANDLER_SCRIPT != 0,
            script_mtime_us: Some(mtime).filter(|&t| t != NO_MTIME),
            process_group: self.string()?,
            application_group: self.string()?,
            script: self.string()?,
            callable: self.string()?,
        })
    }
    fn text(&mut self) -> Result<&'a str, ProtocolError> {
        std::str::from_utf8(self.rest).map_err(|_| ProtocolError::Malformed(self.what))
    }
    fn done(&self) -> Result<(), ProtocolError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::Malformed(self.what))
        }
    }
}

impl<'a> Frame<'a> {
    /// Decodes one payload of the given kind.
    pub fn decode(kind: u8, payload: &'a [u8]) -> Result<Frame<'a>, ProtocolError> {
        let mut c = Cursor {
            rest: payload,
            what: kind_name(kind).ok_or(ProtocolError::UnknownKind(kind))?,
        };
        let frame = match kind {
            kind::HELLO => {
                if c.take(MAGIC.len())? != MAGIC {
                    return Err(ProtocolError::BadMagic);
                }
                // Every version's Hello opens with the magic and the version; what follows
                // is that version's, so another one is told as such, not as garbage.
                let version = c.u16()?;
                if version != VERSION {
                    return Err(ProtocolError::OtherVersion(version));
                }
                let mut secret = [0; SECRET_LEN];
                secret.copy_from_slice(c.take(SECRET_LEN)?);
                Frame::Hello(Hello {
                    secret,
                    request_start_us: c.u64()?,
                    queue_start_us: c.u64()?,
                })
            }
            kind::REQUEST => Frame::Request {
                route: c.route()?,
                environ: c.pairs()?,
            },
            kind::BODY => return Ok(Frame::Body(payload)),
            kind::BODY_ERROR => {
                let status = c.u16()?;
                return Ok(Frame::BodyError {
                    status,
                    reason: c.text()?,
                });
            }
            kind::ACCEPTED => Frame::Accepted { pid: c.u32()? },
            kind::READ_BODY => Frame::ReadBody {
                max: c.u32()?,
                fill: match c.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(ProtocolError::Malformed("ReadBody")),
                },
            },
            kind::HEAD => Frame::Head {
                status: c.u16()?,
                status_line: c.bytes()?,
                headers: c.pairs()?,
            },
            kind::DATA => return Ok(Frame::Data(payload)),
            kind::DATA_FLUSH => return Ok(Frame::DataFlush(payload)),
            kind::END => Frame::End,
            kind::FILE => Frame::File {
                offset: c.u64()?,
                len: c.u64()?,
            },
            _ => {
                let status = c.u16()?;
                return Ok(Frame::Error {
                    status,
                    reason: c.text()?,
                });
            }
        };
        c.done()?;
        Ok(frame)
    }

    /// Appends this frame (header and payload) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.kind(), 0, 0, 0, 0]);
        match self {
            Frame::Hello(h) => {
                out.extend_from_slice(MAGIC);
                out.extend_from_slice(&VERSION.to_be_bytes());
                out.extend_from_slice(&h.secret);
                out.extend_from_slice(&h.request_start_us.to_be_bytes());
                out.extend_from_slice(&h.queue_start_us.to_be_bytes());
            }
            Frame::Request { route, environ } => {
                put_route(out, route);
                put_pairs(out, environ);
            }
            Frame::Body(data) | Frame::Data(data) | Frame::DataFlush(data) => {
                out.extend_from_slice(data)
            }
            Frame::BodyError { status, reason } | Frame::Error { status, reason } => {
                out.extend_from_slice(&status.to_be_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            Frame::Accepted { pid } => out.extend_from_slice(&pid.to_be_bytes()),
            Frame::ReadBody { max, fill } => {
                out.extend_from_slice(&max.to_be_bytes());
                out.push(u8::from(*fill));
            }
            Frame::Head {
                status,
                status_line,
                headers,
            } => {
                out.extend_from_slice(&status.to_be_bytes());
                put_bytes(out, status_line);
                put_pairs(out, headers);
            }
            Frame::End => {}
            Frame::File { offset, len } => {
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        let len = (out.len() - start - HEADER_LEN) as u32;
        out[start + 1..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    }

    pub fn kind(&self) -> u8 {
        match self {
            Frame::Hello(_) => kind::HELLO,
            Frame::Request { .. } => kind::REQUEST,
            Frame::Body(_) => kind::BODY,
            Frame::BodyError { .. } => kind::BODY_ERROR,
            Frame::Accepted { .. } => kind::ACCEPTED,
            Frame::ReadBody { .. } => kind::READ_BODY,
            Frame::Head { .. } => kind::HEAD,
            Frame::Data(_) => kind::DATA,
            Frame::DataFlush(_) => kind::DATA_FLUSH,
            Frame::End => kind::END,
            Frame::Error { .. } => kind::ERROR,
            Frame::File { .. } => kind::FILE,
        }
    }
}

fn kind_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        kind::HELLO => "Hello",
        kind::REQUEST => "Request",
        kind::BODY => "Body",
        kind::BODY_ERROR => "BodyError",
        kind::ACCEPTED => "Accepted",
        kind::READ_BODY => "ReadBody",
        kind::HEAD => "Head",
        kind::DATA => "Data",
        kind::DATA_FLUSH => "DataFlush",
        kind::END => "End",
        kind::ERROR => "Error",
        kind::FILE => "File",
        _ => return None,
    })
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_route(out: &mut Vec<u8>, route: &Route) {
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    out.push(
        flag(route.reload, route_flag::RELOAD)
            | flag(route.ignore_activity, route_flag::IGNORE_ACTIVITY)
            | flag(route.handler_script, route_flag::HANDLER_SCRIPT),
    );
    let mtime = route.script_mtime_us.unwrap_or(NO_MTIME);
    out.extend_from_slice(&mtime.to_be_bytes());
    for s in [
        &route.process_group,
        &route.application_group,
        &route.script,
        &route.callable,
    ] {
        put_bytes(out, s.as_bytes());
    }
}

fn put_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(out: &mut Vec<u8>, pairs: &[(K, V)]) {
    out.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
    for (k, v) in pairs {
        put_bytes(out, k.as_ref());
        put_bytes(out, v.as_ref());
    }
}

/// Writes a `Request` frame, its environ pair by pair straight into `out`, without
/// collecting the pairs first; `finish` fills in the count and length.
pub struct RequestEncoder<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    /// Where the pair count goes.
    count_at: usize,
    count: u32,
}

impl<'a> RequestEncoder<'a> {
    pub fn new(out: &'a mut Vec<u8>, route: &Route) -> RequestEncoder<'a> {
        let start = out.len();
        out.extend_from_slice(&[kind::REQUEST, 0, 0, 0, 0]);
        put_route(out, route);
        let count_at = out.len();
        out.extend_from_slice(&[0; 4]);
        RequestEncoder {
            out,
            start,
            count_at,
            count: 0,
        }
    }

    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        put_bytes(self.out, key);
        put_bytes(self.out, value);
        self.count += 1;
    }

    pub fn finish(self) {
        let len = (self.out.len() - self.start - HEADER_LEN) as u32;
        self.out[self.start + 1..self.start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
        self.out[self.count_at..self.count_at + 4].copy_from_slice(&self.count.to_be_bytes());
    }
}

/// Encodes a `Request` frame from owned pairs without building borrowed ones first.
pub fn encode_request<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    route: &Route,
    pairs: &[(K, V)],
) {
    let mut e = RequestEncoder::new(out, route);
    for (k, v) in pairs {
        e.push(k.as_ref(), v.as_ref());
    }
    e.finish();
}

/// Compares secrets in time independent of where they differ.
pub fn secrets_match(a: &[u8; SECRET_LEN], b: &[u8; SECRET_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(frame: &Frame<'_>) {
        let mut out = Vec::new();
        frame.encode(&mut out);
        let (kind, payload, rest) = split(&out).unwrap().unwrap();
        assert!(rest.is_empty());
        assert_eq!(&Frame::decode(kind, payload).unwrap(), frame);
        // And through the stream reader.
        let mut reader = FrameReader::new(&out[..]);
        assert_eq!(&reader.read_frame().unwrap().unwrap(), frame);
        assert!(reader.read_frame().unwrap().is_none());
    }

    fn hello() -> Hello {
        Hello {
            secret: [7; SECRET_LEN],
            request_start_us: 1_700_000_000_000_000,
            queue_start_us: 1_700_000_000_000_123,
        }
    }

    fn route() -> Route {
        Route {
            script: "/srv/app/wsgi.py".into(),
            handler_script: false,
            callable: "application".into(),
            process_group: "site".into(),
            application_group: "example.com|/app".into(),
            reload: true,
            ignore_activity: false,
            script_mtime_us: Some(1_600_000_000_000_456),
        }
    }

    #[test]
    fn every_frame_roundtrips() {
        let frames = [
            Frame::Hello(hello()),
            Frame::Request {
                route: route(),
                environ: vec![
                    (&b"REQUEST_METHOD"[..], &b"GET"[..]),
                    (&b"PATH_INFO"[..], &b"/\xe9"[..]),
                ],
            },
            Frame::Request {
                route: Route {
                    handler_script: true,
                    ignore_activity: true,
                    reload: false,
                    script_mtime_us: None,
                    process_group: String::new(),
                    application_group: String::new(),
                    ..route()
                },
                environ: Vec::new(),
            },
            Frame::Request {
                route: Route::default(),
                environ: Vec::new(),
            },
            Frame::Body(b"abc"),
            Frame::Body(b""),
            Frame::BodyError {
                status: 413,
                reason: "too large",
            },
            Frame::Accepted { pid: 4242 },
            Frame::ReadBody {
                max: 65536,
                fill: true,
            },
            Frame::Head {
                status: 200,
                status_line: b"200 OK",
                headers: vec![(&b"Content-Type"[..], &b"text/plain"[..])],
            },
            Frame::Data(&[0; 100_000]),
            Frame::DataFlush(b"tick"),
            Frame::End,
            Frame::Error {
                status: 504,
                reason: "request-timeout of 2s exceeded",
            },
            Frame::File {
                offset: 4096,
                len: 1 << 40,
            },
        ];
        for f in &frames {
            roundtrip(f);
        }
    }

    #[test]
    fn request_encoder_matches_frame_encoder() {
        let owned = vec![(b"A".to_vec(), b"1".to_vec()), (b"BB".to_vec(), Vec::new())];
        let mut a = Vec::new();
        encode_request(&mut a, &route(), &owned);
        let mut b = Vec::new();
        Frame::Request {
            route: route(),
            environ: owned.iter().map(|(k, v)| (&k[..], &v[..])).collect(),
        }
        .encode(&mut b);
        assert_eq!(a, b);
    }

    /// A variable named like a routing decision is only a variable: the route is what the
    /// frame's route says.
    #[test]
    fn environ_names_do_not_change_the_route() {
        let mut out = Vec::new();
        encode_request(
            &mut out,
            &route(),
            &[
                ("mod_wsgi.ignore_activity", "1"),
                ("mod_wsgi.script_reloading", "0"),
                ("mod_wsgi.callable_object", "other"),
                ("mod_wsgi.application_group", "forged"),
            ],
        );
        let (kind, payload, _) = split(&out).unwrap().unwrap();
        match Frame::decode(kind, payload).unwrap() {
            Frame::Request { route: r, environ } => {
                assert_eq!(r, route());
                assert_eq!(environ.len(), 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wire_layout_is_big_endian_kind_then_length() {
        let mut out = Vec::new();
        Frame::Accepted { pid: 0x01020304 }.encode(&mut out);
        assert_eq!(out, [0x10, 0, 0, 0, 4, 1, 2, 3, 4]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(
            Frame::decode(0x7f, b""),
            Err(ProtocolError::UnknownKind(0x7f))
        );
        assert_eq!(
            Frame::decode(kind::HELLO, b"HTTP/1.1 GET"),
            Err(ProtocolError::BadMagic)
        );
        // Version 3's Hello (63 bytes: it also carried the script's mtime).
        let mut v3 = MAGIC.to_vec();
        v3.extend_from_slice(&3u16.to_be_bytes());
        v3.extend_from_slice(&[0; SECRET_LEN + 24]);
        assert_eq!(v3.len(), 63);
        assert_eq!(
            Frame::decode(kind::HELLO, &v3),
            Err(ProtocolError::OtherVersion(3))
        );
        assert_eq!(
            Frame::decode(kind::ACCEPTED, &[0, 0, 0, 1, 9]),
            Err(ProtocolError::Malformed("Accepted"))
        );
        assert_eq!(
            Frame::decode(kind::REQUEST, &[0xff, 0xff, 0xff, 0xff]),
            Err(ProtocolError::Malformed("Request"))
        );
        // Unknown route flags, and a name that is not UTF-8.
        let mut bad = vec![0x80];
        bad.extend_from_slice(&[0; 8 + 16 + 4]);
        assert_eq!(
            Frame::decode(kind::REQUEST, &bad),
            Err(ProtocolError::Malformed("Request"))
        );
        let mut bad = vec![0; 9];
        bad.extend_from_slice(&[0, 0, 0, 1, 0xff]);
        bad.extend_from_slice(&[0; 16]);
        assert_eq!(
            Frame::decode(kind::REQUEST, &bad),
            Err(ProtocolError::Malformed("Request"))
        );
        assert_eq!(
            Frame::decode(kind::READ_BODY, &[0, 0, 0, 1, 2]),
            Err(ProtocolError::Malformed("ReadBody"))
        );
        assert_eq!(
            split(&[kind::DATA, 0xff, 0, 0, 0]),
            Err(ProtocolError::TooLarge(0xff00_0000))
        );
        assert_eq!(split(&[kind::DATA, 0, 0]), Ok(None));
        assert_eq!(split(&[kind::DATA, 0, 0, 0, 3, 1]), Ok(None));
    }

    #[test]
    fn secrets_compare() {
        let a = [1; SECRET_LEN];
        let mut b = a;
        assert!(secrets_match(&a, &b));
        b[31] = 2;
        assert!(!secrets_match(&a, &b));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Fuzz: arbitrary bytes never panic the decoder, and whatever decodes re-encodes
        /// to the same bytes (the encoding is canonical).
        #[test]
        fn fuzz_decode(kind in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(frame) = Frame::decode(kind, &payload) {
                let mut out = Vec::new();
                frame.encode(&mut out);
                prop_assert_eq!(&out[HEADER_LEN..], &payload[..]);
                prop_assert_eq!(out[0], kind);
            }
        }

        /// Environ and head pairs of any bytes survive the round trip.
        #[test]
        fn pairs_roundtrip(pairs in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..20), proptest::collection::vec(any::<u8>(), 0..40)), 0..20),
            status in any::<u16>())
        {
            let borrowed: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            roundtrip(&Frame::Request { route: route(), environ: borrowed.clone() });
            roundtrip(&Frame::Head { status, status_line: b"200 OK", headers: borrowed });
        }
    }
}
