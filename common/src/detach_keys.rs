//! Detach keys: the key sequence that ends an attached session and leaves
//! the container running (default Ctrl-P Ctrl-Q). Docker's notation is a
//! comma-separated list of keys, each a single character or `ctrl-X`; the
//! input is scanned as it is forwarded, bytes that might begin the sequence
//! are held back until it is clear whether they do. Only a terminal's input
//! is keystrokes: without a TTY the input is data, passed on whole, as Docker
//! does (docs/09-attach.md).

/// Docker's default: Ctrl-P, Ctrl-Q.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// A sequence being watched for in a stream of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys {
    keys: Vec<u8>,
    /// How many bytes of `keys` the input has matched so far (held back).
    matched: usize,
}

impl DetachKeys {
    /// Parses Docker's notation; the error is Docker's message.
    pub fn parse(text: &str) -> Result<DetachKeys, String> {
        let invalid = || format!("Invalid detach keys ({text}) provided");
        let mut keys = Vec::new();
        for key in text.split(',') {
            let key = key.trim();
            let byte = match key.strip_prefix("ctrl-") {
                Some(rest) if rest.len() == 1 => control_code(rest.as_bytes()[0]).ok_or_else(invalid)?,
                Some(_) => return Err(invalid()),
                None if key.len() == 1 => key.as_bytes()[0],
                None => return Err(invalid()),
            };
            keys.push(byte);
        }
        Ok(DetachKeys { keys, matched: 0 })
    }

    /// No detach keys: everything is passed on (input that is not a terminal's).
    pub fn none() -> DetachKeys {
        DetachKeys { keys: Vec::new(), matched: 0 }
    }

    /// These keys if `tty`, else none.
    pub fn for_terminal(self, tty: bool) -> DetachKeys {
        if tty {
            self
        } else {
            DetachKeys::none()
        }
    }

    /// Copies `input` to `out`, minus the detach sequence and any bytes held
    /// back as its possible start. Returns true when the sequence is complete:
    /// the session ends, and what followed it is dropped.
    pub fn filter(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &byte in input {
            if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return true;
                }
                continue;
            }
            // Not the sequence after all: what was held back goes out.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if byte == self.keys[0] {
                self.matched = 1;
            } else {
                out.push(byte);
            }
        }
        false
    }
}

/// The byte Ctrl plus `key` types: Ctrl-A is 1 … Ctrl-Z is 26, and the
/// punctuation of the same column (`@ [ \ ] ^ _`).
fn control_code(key: u8) -> Option<u8> {
    match key {
        b'a'..=b'z' => Some(key - b'a' + 1),
        b'@' | b'['..=b'_' => Some(key - b'@'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(keys: &str, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut keys = DetachKeys::parse(keys).unwrap();
        let mut out = Vec::new();
        for chunk in chunks {
            if keys.filter(chunk, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn parses_docker_notation() {
        assert_eq!(DetachKeys::parse(DEFAULT).unwrap().keys, [16, 17]);
        assert_eq!(DetachKeys::parse("ctrl-@,a,ctrl-[").unwrap().keys, [0, b'a', 27]);
        assert!(DetachKeys::parse("ctrl-").is_err());
        assert!(DetachKeys::parse("ab").is_err());
        assert_eq!(DetachKeys::parse("ctrl-1").unwrap_err(), "Invalid detach keys (ctrl-1) provided");
    }

    #[test]
    fn the_sequence_detaches_even_across_reads() {
        assert_eq!(run(DEFAULT, &[b"ls\x10", b"\x11rest"]), (b"ls".to_vec(), true));
    }

    #[test]
    fn without_keys_everything_is_passed_on() {
        let mut keys = DetachKeys::parse(DEFAULT).unwrap().for_terminal(false);
        let mut out = Vec::new();
        assert!(!keys.filter(b"a\x10\x11b", &mut out));
        assert_eq!(out, b"a\x10\x11b");
    }

    #[test]
    fn a_false_start_is_passed_on() {
        assert_eq!(run(DEFAULT, &[b"a\x10b", b"\x10\x10"]), (b"a\x10b\x10".to_vec(), false));
        assert_eq!(run(DEFAULT, &[b"\x10\x10\x11"]), (b"\x10".to_vec(), true));
    }
}
