//! HTTP/1.1 chunked transfer encoding, both directions: the daemon writes every
//! response whose body comes later (wait, logs, events) as chunks, flushing each
//! at once so the client sees it as it happens; the CLI reads them back. A chunk
//! is its length in hex, CRLF, the bytes, CRLF; a zero-length chunk ends the body
//! (RFC 9112 §7.1, docs/02-unix-socket-http.md).

use std::io::{self, BufRead, Read, Write};

/// Writes a chunked body, one flushed chunk per `write_chunk`.
pub struct ChunkedWriter<W: Write> {
    inner: W,
    /// The chunk being framed: size line, bytes, CRLF go out in one write.
    framed: Vec<u8>,
}

impl<W: Write> ChunkedWriter<W> {
    pub fn new(inner: W) -> ChunkedWriter<W> {
        ChunkedWriter { inner, framed: Vec::new() }
    }

    /// Sends `bytes` as one chunk and flushes it to the client. Empty input
    /// sends nothing: an empty chunk would end the body.
    pub fn write_chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.framed.clear();
        write!(self.framed, "{:x}\r\n", bytes.len())?;
        self.framed.extend_from_slice(bytes);
        self.framed.extend_from_slice(b"\r\n");
        self.inner.write_all(&self.framed)?;
        self.inner.flush()
    }

    /// Ends the body with the zero-length chunk.
    pub fn finish(mut self) -> io::Result<()> {
        self.inner.write_all(b"0\r\n\r\n")?;
        self.inner.flush()
    }
}

/// Reads a chunked body as a plain byte stream, ending at the zero-length chunk.
pub struct ChunkedReader<R: BufRead> {
    inner: R,
    /// Bytes left in the current chunk.
    remaining: usize,
    done: bool,
}

impl<R: BufRead> ChunkedReader<R> {
    pub fn new(inner: R) -> ChunkedReader<R> {
        ChunkedReader { inner, remaining: 0, done: false }
    }

    fn read_size_line(&mut self) -> io::Result<usize> {
        let mut line = String::new();
        if self.inner.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunked body ended early"));
        }
        let hex = line.trim().split(';').next().unwrap_or("");
        usize::from_str_radix(hex, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {hex:?}")))
    }

    fn skip_crlf(&mut self) -> io::Result<()> {
        let mut crlf = [0u8; 2];
        self.inner.read_exact(&mut crlf)
    }
}

impl<R: BufRead> Read for ChunkedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.done || buffer.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            self.remaining = self.read_size_line()?;
            if self.remaining == 0 {
                self.done = true;
                // The trailer section ends with an empty line.
                let mut line = String::new();
                while self.inner.read_line(&mut line)? > 0 && line.trim() != "" {
                    line.clear();
                }
                return Ok(0);
            }
        }
        let wanted = buffer.len().min(self.remaining);
        let count = self.inner.read(&mut buffer[..wanted])?;
        if count == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunk ended early"));
        }
        self.remaining -= count;
        if self.remaining == 0 {
            self.skip_crlf()?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut wire = Vec::new();
        let mut writer = ChunkedWriter::new(&mut wire);
        writer.write_chunk(b"hello ").unwrap();
        writer.write_chunk(b"").unwrap();
        writer.write_chunk(&[b'x'; 300]).unwrap();
        writer.finish().unwrap();
        assert!(wire.starts_with(b"6\r\nhello \r\n12c\r\n"));
        let mut body = Vec::new();
        ChunkedReader::new(&wire[..]).read_to_end(&mut body).unwrap();
        assert_eq!(body.len(), 306);
        assert!(body.starts_with(b"hello x"));
    }
}
