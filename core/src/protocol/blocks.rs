//! Body blocks of any size on the wire. A WSGI application may hand the server a block of
//! any size (a 50 MB `bytes`, a 50 MB `wsgi.input.read()`), but a frame carries at most
//! [`MAX_DATA_FRAME`] bytes of body: a block leaves as several frames, written straight from
//! where it lies, and a large body read is several `ReadBody`/`Body` exchanges.

use std::io::{self, IoSlice, Read, Write};

use super::{Frame, FrameReader, HEADER_LEN, ProtocolError, ReadError, kind};

/// The largest payload a sender puts in one `Data`, `DataFlush` or `Body` frame. A receiver
/// takes a frame whole, so this bounds what it buffers per connection; it is well below
/// `MAX_PAYLOAD`, the most a reader accepts.
pub const MAX_DATA_FRAME: usize = 1 << 20;

/// Payloads up to this size are copied next to their header and written in one piece;
/// larger ones are written from where they lie, with their header, in one vectored write.
const COPY_UP_TO: usize = 16 * 1024;

/// Writes `data` as frames of `kind` (`Data`, `DataFlush` or `Body`) of at most
/// [`MAX_DATA_FRAME`] bytes each, without copying large payloads. An empty block is one
/// empty frame. Of a `DataFlush` block only the last frame is a `DataFlush`: the flush
/// follows the whole block.
pub fn write_block<W: Write>(w: &mut W, kind: u8, data: &[u8]) -> io::Result<()> {
    write_block_in(w, kind, data, MAX_DATA_FRAME)
}

fn write_block_in<W: Write>(w: &mut W, kind: u8, data: &[u8], most: usize) -> io::Result<()> {
    let mut rest = data;
    loop {
        let (piece, after) = rest.split_at(rest.len().min(most));
        let k = if kind == kind::DATA_FLUSH && !after.is_empty() {
            kind::DATA
        } else {
            kind
        };
        let mut header = [k, 0, 0, 0, 0];
        header[1..].copy_from_slice(&(piece.len() as u32).to_be_bytes());
        if piece.len() <= COPY_UP_TO {
            let mut buf = Vec::with_capacity(HEADER_LEN + piece.len());
            buf.extend_from_slice(&header);
            buf.extend_from_slice(piece);
            w.write_all(&buf)?;
        } else {
            write_all_vectored(w, &mut [IoSlice::new(&header), IoSlice::new(piece)])?;
        }
        if after.is_empty() {
            return Ok(());
        }
        rest = after;
    }
}

fn write_all_vectored<W: Write>(w: &mut W, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How many body bytes the Apache child reads to answer a `ReadBody` asking for `asked`:
/// never more than one frame carries, whatever a daemon asks.
pub fn answer_size(asked: u32) -> usize {
    (asked as usize).clamp(1, MAX_DATA_FRAME)
}

/// Why the daemon's side of a body read failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    /// Apache could not read the body (`BodyError`: 413, 400, …); the client gets `status`.
    #[error("{reason}")]
    Refused { status: u16, reason: String },
    /// The `ReadBody` could not be sent: the Apache child went away.
    #[error("asking for the body failed: {0}")]
    Send(String),
    #[error("the Apache child closed the connection")]
    Closed,
    #[error("expected Body, got frame 0x{0:02x}")]
    Unexpected(u8),
    #[error("a Body frame of {got} bytes answered a ReadBody of {asked}")]
    Oversized { got: usize, asked: usize },
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl BodyReadError {
    /// The Apache child sent what the protocol does not allow (as opposed to going away,
    /// even in the middle of a frame).
    pub fn is_protocol_error(&self) -> bool {
        match self {
            BodyReadError::Unexpected(_) | BodyReadError::Oversized { .. } => true,
            BodyReadError::Read(ReadError::Protocol(e)) => *e != ProtocolError::Truncated,
            _ => false,
        }
    }
}

/// The daemon's side of reading up to `want` body bytes: each exchange sends a `ReadBody`
/// through `ask` and hands the `Body` that answers it to `take` (with the offset of its
/// bytes in the read). Without `fill`, one exchange (the bytes that have arrived); with
/// `fill`, exchanges of at most [`MAX_DATA_FRAME`] until `want` bytes or the end of the
/// body (a short answer). Returns the bytes read; 0 means the body has ended.
pub fn read_body<R: Read>(
    reader: &mut FrameReader<R>,
    want: usize,
    fill: bool,
    ask: impl FnMut(Frame<'_>) -> Result<(), String>,
    take: impl FnMut(usize, &[u8]),
) -> Result<usize, BodyReadError> {
    read_body_in(reader, want, fill, ask, take, MAX_DATA_FRAME)
}

fn read_body_in<R: Read>(
    reader: &mut FrameReader<R>,
    want: usize,
    fill: bool,
    mut ask: impl FnMut(Frame<'_>) -> Result<(), String>,
    mut take: impl FnMut(usize, &[u8]),
    most: usize,
) -> Result<usize, BodyReadError> {
    let mut got = 0;
    while got < want {
        let asked = (want - got).min(most);
        ask(Frame::ReadBody {
            max: asked as u32,
            fill,
        })
        .map_err(BodyReadError::Send)?;
        let n = match reader.read_frame()? {
            Some(Frame::Body(data)) if data.len() <= asked => {
                take(got, data);
                data.len()
            }
            Some(Frame::Body(data)) => {
                return Err(BodyReadError::Oversized {
                    got: data.len(),
                    asked,
                });
            }
            Some(Frame::BodyError { status, reason }) => {
                return Err(BodyReadError::Refused {
                    status,
                    reason: reason.to_owned(),
                });
            }
            Some(other) => return Err(BodyReadError::Unexpected(other.kind())),
            None => return Err(BodyReadError::Closed),
        };
        got += n;
        if !fill || n < asked {
            break;
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_PAYLOAD;
    use proptest::prelude::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    /// Reads every frame of `wire`: (kind, payload) pairs; the stream must end cleanly.
    fn frames_of(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut r = FrameReader::new(wire);
        let mut out = Vec::new();
        while let Some(f) = r.read_frame().unwrap() {
            let payload = match &f {
                Frame::Data(d) | Frame::DataFlush(d) | Frame::Body(d) => d.to_vec(),
                other => panic!("unexpected {other:?}"),
            };
            out.push((f.kind(), payload));
        }
        out
    }

    fn block(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn small_blocks_are_one_frame() {
        let mut out = Vec::new();
        write_block(&mut out, kind::DATA, b"hi").unwrap();
        assert_eq!(out, [0x13, 0, 0, 0, 2, b'h', b'i']);
        let mut out = Vec::new();
        write_block(&mut out, kind::DATA_FLUSH, b"").unwrap();
        assert_eq!(out, [0x14, 0, 0, 0, 0]);
    }

    /// The bug this module exists for: a block over the reader's 16 MiB limit was one frame,
    /// which the Apache child refused. Now it arrives whole, in frames the reader takes.
    #[test]
    fn a_block_larger_than_a_reader_takes_arrives_whole() {
        let data = block(MAX_PAYLOAD + 3 * MAX_DATA_FRAME + 17);
        let mut wire = Vec::new();
        write_block(&mut wire, kind::DATA_FLUSH, &data).unwrap();
        let frames = frames_of(&wire);
        assert_eq!(frames.len(), data.len().div_ceil(MAX_DATA_FRAME));
        assert!(frames.iter().all(|(_, p)| p.len() <= MAX_DATA_FRAME));
        let (last, rest) = frames.split_last().unwrap();
        assert_eq!(last.0, kind::DATA_FLUSH);
        assert!(rest.iter().all(|(k, _)| *k == kind::DATA));
        assert!(frames.iter().flat_map(|(_, p)| p).eq(data.iter()));
        // What the old single frame looked like to the reader.
        let mut huge = vec![kind::DATA];
        huge.extend_from_slice(&(data.len() as u32).to_be_bytes());
        assert!(matches!(
            FrameReader::new(&huge[..]).read_frame(),
            Err(ReadError::Protocol(ProtocolError::TooLarge(n))) if n == data.len()
        ));
    }

    /// A client model: answers each `ReadBody` as the Apache child does, from `body`, into
    /// the stream the daemon's reader reads.
    struct Client {
        body: Vec<u8>,
        sent: usize,
        /// Bytes that "arrived" for each unfilled read, in turn.
        arrivals: Vec<usize>,
        asks: Vec<(u32, bool)>,
        wire: Rc<RefCell<VecDeque<u8>>>,
    }

    impl Client {
        fn answer(&mut self, frame: Frame<'_>) -> Result<(), String> {
            let Frame::ReadBody { max, fill } = frame else {
                return Err(format!("not a ReadBody: {frame:?}"));
            };
            self.asks.push((max, fill));
            let left = self.body.len() - self.sent;
            let mut n = answer_size(max).min(left);
            if !fill {
                let arrived = self.arrivals[self.asks.len() % self.arrivals.len()];
                n = n.min(arrived.max(1));
            }
            let mut out = Vec::new();
            Frame::Body(&self.body[self.sent..self.sent + n]).encode(&mut out);
            self.sent += n;
            self.wire.borrow_mut().extend(out);
            Ok(())
        }
    }

    struct Wire(Rc<RefCell<VecDeque<u8>>>);

    impl Read for Wire {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.borrow_mut().read(buf)
        }
    }

    /// Reads the whole body in reads of `want` bytes; returns what was read and the asks.
    fn read_all(
        body: Vec<u8>,
        want: usize,
        fill: bool,
        arrivals: Vec<usize>,
        most: usize,
    ) -> (Vec<Vec<u8>>, Vec<(u32, bool)>) {
        let wire = Rc::new(RefCell::new(VecDeque::new()));
        let client = RefCell::new(Client {
            body,
            sent: 0,
            arrivals,
            asks: Vec::new(),
            wire: wire.clone(),
        });
        let mut reader = FrameReader::new(Wire(wire));
        let mut reads = Vec::new();
        loop {
            let mut buf = vec![0u8; want];
            let n = read_body_in(
                &mut reader,
                want,
                fill,
                |f| client.borrow_mut().answer(f),
                |at, data| buf[at..at + data.len()].copy_from_slice(data),
                most,
            )
            .unwrap();
            if n == 0 {
                break;
            }
            buf.truncate(n);
            reads.push(buf);
        }
        let asks = client.into_inner().asks;
        (reads, asks)
    }

    /// One `read(n)` larger than the frame limit (and than a reader takes) is filled by
    /// several exchanges, none asking for more than a frame carries.
    #[test]
    fn a_read_larger_than_a_frame_is_filled_in_exchanges() {
        let body = block(MAX_PAYLOAD + MAX_DATA_FRAME / 2);
        let (reads, asks) = read_all(body.clone(), body.len() + 1, true, vec![1], MAX_DATA_FRAME);
        assert_eq!(reads.len(), 1);
        assert!(reads[0] == body);
        assert_eq!(asks.len(), 18);
        assert!(
            asks.iter()
                .all(|&(max, fill)| fill && max as usize <= MAX_DATA_FRAME)
        );
    }

    #[test]
    fn refusals_and_broken_peers_are_told_apart() {
        let mut wire = Vec::new();
        Frame::BodyError {
            status: 413,
            reason: "too large",
        }
        .encode(&mut wire);
        Frame::Body(&[0; 10]).encode(&mut wire);
        Frame::End.encode(&mut wire);
        let mut r = FrameReader::new(&wire[..]);
        let ok = |_: Frame<'_>| Ok(());
        let e = read_body(&mut r, 100, true, ok, |_, _| {}).unwrap_err();
        assert!(matches!(e, BodyReadError::Refused { status: 413, .. }));
        assert!(!e.is_protocol_error());
        let e = read_body(&mut r, 5, true, ok, |_, _| {}).unwrap_err();
        assert!(matches!(e, BodyReadError::Oversized { got: 10, asked: 5 }));
        assert!(e.is_protocol_error());
        let e = read_body(&mut r, 5, true, ok, |_, _| {}).unwrap_err();
        assert!(matches!(e, BodyReadError::Unexpected(kind::END)));
        assert!(matches!(
            read_body(&mut r, 5, true, ok, |_, _| {}),
            Err(BodyReadError::Closed)
        ));
        // Cut inside a frame: the peer went away, it did not break the protocol.
        let cut = [kind::BODY, 0, 0, 0, 9, 1, 2];
        let e = read_body(&mut FrameReader::new(&cut[..]), 9, true, ok, |_, _| {}).unwrap_err();
        assert!(!e.is_protocol_error(), "{e}");
        let huge = [kind::BODY, 0xff, 0, 0, 0];
        let e = read_body(&mut FrameReader::new(&huge[..]), 9, true, ok, |_, _| {}).unwrap_err();
        assert!(e.is_protocol_error(), "{e}");
        let gone = |_: Frame<'_>| Err("broken pipe".to_owned());
        assert!(matches!(
            read_body(&mut r, 5, true, gone, |_, _| {}),
            Err(BodyReadError::Send(_))
        ));
        assert_eq!(read_body(&mut r, 0, true, gone, |_, _| {}).unwrap(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Blocks of any size, cut at any frame limit, arrive whole and in order, in frames
        /// no larger than the limit, flushed once at the end.
        #[test]
        fn blocks_of_any_size_arrive_whole(
            len in 0usize..2000, most in 1usize..300, flush in any::<bool>())
        {
            let data = block(len);
            let k = if flush { kind::DATA_FLUSH } else { kind::DATA };
            let mut wire = Vec::new();
            write_block_in(&mut wire, k, &data, most).unwrap();
            let frames = frames_of(&wire);
            prop_assert_eq!(frames.len(), len.div_ceil(most).max(1));
            prop_assert!(frames.iter().all(|(_, p)| p.len() <= most));
            for (i, (fk, _)) in frames.iter().enumerate() {
                let last = i + 1 == frames.len();
                prop_assert_eq!(*fk, if last { k } else { kind::DATA });
            }
            prop_assert!(frames.iter().flat_map(|(_, p)| p).eq(data.iter()));
        }

        /// Any body, read in reads of any size, filled or not, arrives whole and in order;
        /// no exchange asks for more than a frame carries; a filled read is short only at
        /// the end of the body.
        #[test]
        fn bodies_of_any_size_are_read_whole(
            len in 0usize..3000, want in 1usize..700, most in 1usize..200,
            fill in any::<bool>(), arrivals in proptest::collection::vec(1usize..300, 1..5))
        {
            let body = block(len);
            let (reads, asks) = read_all(body.clone(), want, fill, arrivals, most);
            prop_assert!(reads.iter().flatten().eq(body.iter()));
            prop_assert!(asks.iter().all(|&(max, f)| f == fill && max as usize <= most));
            prop_assert!(reads.iter().all(|r| r.len() <= want));
            if fill {
                let (_, full) = reads.split_last().unwrap_or((&Vec::new(), &[]));
                prop_assert!(full.iter().all(|r| r.len() == want));
            }
        }
    }
}
