//! Reading frames off a stream: a read-ahead buffer that hands out whole frames.

use std::io::{self, Read};

use super::{Frame, HEADER_LEN, MAX_PAYLOAD, ProtocolError, Split};

/// Splits the first complete frame off `buf`: `Ok(None)` when more bytes are needed.
pub fn split(buf: &[u8]) -> Result<Option<Split<'_>>, ProtocolError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(ProtocolError::TooLarge(len));
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Ok(None);
    };
    Ok(Some((header[0], payload, &buf[HEADER_LEN + len..])))
}

/// Reads frames from a stream, reusing one buffer.
pub struct FrameReader<R> {
    inner: R,
    /// Bytes read ahead: `buf[start..end]` are not decoded yet. One `read` usually brings a
    /// whole response or request head, instead of two reads per frame.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// What one `read` asks for at least; larger frames grow the buffer to fit.
const READ_AHEAD: usize = 8 * 1024;

/// An I/O failure or a protocol violation.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl<R: Read> FrameReader<R> {
    pub fn new(inner: R) -> FrameReader<R> {
        FrameReader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Bytes read ahead and not decoded yet. A connection carries its next request only if
    /// none are left over from the last one.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Whether the next `read_frame` can return without reading.
    pub fn has_frame(&self) -> bool {
        let rest = &self.buf[self.start..self.end];
        rest.len() >= HEADER_LEN
            && rest.len() - HEADER_LEN
                >= u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize
    }

    /// Reads until `want` undecoded bytes are buffered. `Ok(false)`: the peer closed first.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        if self.end - self.start >= want {
            return Ok(true);
        }
        if self.buf.len() - self.start < want.max(READ_AHEAD) {
            // Move what is left to the front, then make room for the whole frame.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < want.max(READ_AHEAD) {
                self.buf.resize(want.max(READ_AHEAD), 0);
            }
        }
        while self.end - self.start < want {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The next frame; `Ok(None)` if the peer closed cleanly between frames.
    pub fn read_frame(&mut self) -> Result<Option<Frame<'_>>, ReadError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        match self.fill(HEADER_LEN) {
            Ok(true) => {}
            Ok(false) if self.start == self.end => return Ok(None),
            Ok(false) => return Err(ProtocolError::Truncated.into()),
            Err(e) => return Err(ReadError::Io(e)),
        }
        let h = &self.buf[self.start..self.start + HEADER_LEN];
        let kind = h[0];
        let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(ProtocolError::TooLarge(len).into());
        }
        match self.fill(HEADER_LEN + len) {
            Ok(true) => {}
            Ok(false) => return Err(ProtocolError::Truncated.into()),
            Err(e) => return Err(ReadError::Io(e)),
        }
        let payload = self.start + HEADER_LEN..self.start + HEADER_LEN + len;
        self.start = payload.end;
        Ok(Some(Frame::decode(kind, &self.buf[payload])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated() {
        let mut out = Vec::new();
        Frame::Data(b"0123456789").encode(&mut out);
        for cut in 1..out.len() {
            let mut r = FrameReader::new(&out[..cut]);
            assert!(
                matches!(
                    r.read_frame(),
                    Err(ReadError::Protocol(ProtocolError::Truncated))
                ),
                "cut at {cut}"
            );
        }
    }

    /// A reader handing out its data in pieces of the given sizes, in turn.
    struct Pieces<'a> {
        data: &'a [u8],
        sizes: &'a [usize],
        turn: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.sizes[self.turn % self.sizes.len()]
                .min(buf.len())
                .min(self.data.len());
            self.turn += 1;
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Fuzz: a stream of arbitrary bytes read frame by frame ends in a frame, a clean
        /// end or an error, never a panic or a hang.
        #[test]
        fn fuzz_stream(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut r = FrameReader::new(&bytes[..]);
            for _ in 0..bytes.len() + 1 {
                match r.read_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }

        /// Frames of any size, arriving in reads of any sizes, decode in order: the
        /// read-ahead buffer never loses, repeats or splits a frame.
        #[test]
        fn frames_survive_any_read_sizes(
            sizes in proptest::collection::vec(0usize..70_000, 1..6),
            pieces in proptest::collection::vec(1usize..40_000, 1..8))
        {
            let payloads: Vec<Vec<u8>> = sizes.iter().enumerate()
                .map(|(i, n)| (0..*n).map(|j| (i * 31 + j) as u8).collect()).collect();
            let mut stream = Vec::new();
            for p in &payloads {
                Frame::Data(p).encode(&mut stream);
            }
            Frame::End.encode(&mut stream);
            let mut r = FrameReader::new(Pieces { data: &stream, sizes: &pieces, turn: 0 });
            for p in &payloads {
                // has_frame() promises a read_frame without a read.
                let (promised, turn) = (r.has_frame(), r.get_ref().turn);
                prop_assert_eq!(r.read_frame().unwrap(), Some(Frame::Data(p)));
                prop_assert!(!promised || r.get_ref().turn == turn);
            }
            prop_assert_eq!(r.read_frame().unwrap(), Some(Frame::End));
            prop_assert_eq!(r.buffered(), 0);
            prop_assert!(!r.has_frame());
            prop_assert!(r.read_frame().unwrap().is_none());
        }
    }
}
