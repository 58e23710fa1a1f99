//! Open files passed between processes over a unix socket (SCM_RIGHTS): a daemon hands the
//! file behind `wsgi.file_wrapper` to the Apache child, which sends it with Apache's file
//! bucket instead of receiving a copy of its bytes. Owning a received descriptor is the
//! one `unsafe` step (nix hands them over as numbers).
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// Writes `bytes` with a duplicate of `fd` attached to the first of them, so the receiver
/// gets it when it reads those bytes. (A closed `fd` makes the send fail with EBADF.)
pub fn send_with_fd(stream: &mut UnixStream, bytes: &[u8], fd: RawFd) -> std::io::Result<()> {
    let fds = [fd];
    let rights = [ControlMessage::ScmRights(&fds)];
    let sent = loop {
        match sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(bytes)],
            &rights,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => break n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    };
    // The descriptor went with the first byte; the rest is plain data.
    stream.write_all(&bytes[sent..])
}

/// The read side of a unix stream socket that keeps the descriptors passed along with the
/// bytes, in the order they came.
pub struct FdReceiver {
    stream: UnixStream,
    fds: VecDeque<OwnedFd>,
    control: Vec<u8>,
}

impl FdReceiver {
    pub fn new(stream: UnixStream) -> FdReceiver {
        FdReceiver {
            stream,
            fds: VecDeque::new(),
            // Linux ends a read at the bytes that carried descriptors, so one read brings at
            // most one sendmsg's worth: one here.
            control: nix::cmsg_space!([RawFd; 4]),
        }
    }

    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// The oldest descriptor received and not taken yet.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fds.pop_front()
    }

    /// Descriptors received and not taken.
    pub fn pending(&self) -> usize {
        self.fds.len()
    }
}

impl Read for FdReceiver {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<()>(
            self.stream.as_raw_fd(),
            &mut iov,
            Some(&mut self.control),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let bytes = msg.bytes;
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                for fd in fds {
                    // SAFETY: the kernel just installed `fd` in this process for this
                    // message; nothing else knows it, so it is ours to own and close.
                    self.fds.push_back(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    #[test]
    fn a_descriptor_arrives_with_its_bytes_in_order() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"file contents").unwrap();
        a.write_all(b"before|").unwrap();
        send_with_fd(&mut a, b"with-fd|", file.as_raw_fd()).unwrap();
        a.write_all(b"after").unwrap();
        drop(a);
        let mut r = FdReceiver::new(b);
        let mut all = String::new();
        r.read_to_string(&mut all).unwrap();
        assert_eq!(all, "before|with-fd|after");
        assert_eq!(r.pending(), 1);
        let mut got = std::fs::File::from(r.take_fd().unwrap());
        got.rewind().unwrap();
        let mut text = String::new();
        got.read_to_string(&mut text).unwrap();
        assert_eq!(text, "file contents");
        assert!(r.take_fd().is_none());
    }
}
