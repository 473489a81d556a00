//! Docker's stream multiplexing, used when a container has no TTY: stdout and
//! stderr share one byte stream as frames of an 8-byte header (stream byte: 0
//! stdin, 1 stdout, 2 stderr; three zero bytes; big-endian u32 length) followed
//! by the payload (SPEC §5). With a TTY the stream is raw bytes instead.

use std::io::{self, Read};

/// Which stream a frame belongs to; the first byte of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    pub fn from_byte(byte: u8) -> Option<Stream> {
        match byte {
            0 => Some(Stream::Stdin),
            1 => Some(Stream::Stdout),
            2 => Some(Stream::Stderr),
            _ => None,
        }
    }

    /// The name used in json-file log lines.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdin => "stdin",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The 8-byte header of a frame carrying `length` bytes of `stream`.
pub fn frame_header(stream: Stream, length: usize) -> [u8; 8] {
    let mut header = [0u8; 8];
    header[0] = stream as u8;
    header[4..].copy_from_slice(&(length as u32).to_be_bytes());
    header
}

/// Appends one whole frame to `out`.
pub fn push_frame(out: &mut Vec<u8>, stream: Stream, payload: &[u8]) {
    out.extend_from_slice(&frame_header(stream, payload.len()));
    out.extend_from_slice(payload);
}

/// Reads the next frame; `None` at a clean end of stream.
pub fn read_frame(reader: &mut impl Read) -> io::Result<Option<(Stream, Vec<u8>)>> {
    let mut payload = Vec::new();
    Ok(read_frame_into(reader, &mut payload)?.map(|stream| (stream, payload)))
}

/// Reads the next frame's payload into `payload` (replacing its content, so
/// one buffer serves a whole stream); `None` at a clean end of stream.
pub fn read_frame_into(reader: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<Option<Stream>> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(None),
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a frame header",
                ))
            }
            count => filled += count,
        }
    }
    let stream = Stream::from_byte(header[0]).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("bad stream byte {}", header[0]))
    })?;
    let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    payload.resize(length, 0);
    reader.read_exact(payload)?;
    Ok(Some(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_wire_example() {
        let mut wire = Vec::new();
        push_frame(&mut wire, Stream::Stdout, b"out1\nout2\n");
        push_frame(&mut wire, Stream::Stderr, b"err1\n");
        assert_eq!(&wire[..8], &[1, 0, 0, 0, 0, 0, 0, 10]);
        let mut reader = &wire[..];
        assert_eq!(read_frame(&mut reader).unwrap(), Some((Stream::Stdout, b"out1\nout2\n".to_vec())));
        assert_eq!(read_frame(&mut reader).unwrap(), Some((Stream::Stderr, b"err1\n".to_vec())));
        assert_eq!(read_frame(&mut reader).unwrap(), None);
    }
}
