//! Container IDs as Docker makes them: 32 random bytes from the kernel, written
//! as 64 lowercase hex digits, shown as their first 12 (`short`). IDs also name
//! directories, so `is_full_id` is what keeps a client-supplied string from ever
//! becoming a path (SPEC §9).

use std::fs::File;
use std::io::Read;

/// Length of a full ID in hex digits.
pub const FULL_ID_LEN: usize = 64;
/// Length of the short form shown by `ps` and used as `HOSTNAME`.
pub const SHORT_ID_LEN: usize = 12;

/// A new random 64-hex-digit ID, from the kernel's randomness (random(4)).
pub fn new_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The first 12 hex digits of an ID.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(SHORT_ID_LEN)]
}

/// True only for exactly 64 lowercase hex digits: safe to use as a file name.
pub fn is_full_id(text: &str) -> bool {
    text.len() == FULL_ID_LEN && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// True for a non-empty string of hex digits: something that may be an ID prefix.
pub fn could_be_prefix(text: &str) -> bool {
    !text.is_empty() && text.len() <= FULL_ID_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_full_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert!(is_full_id(&a) && is_full_id(&b));
        assert_ne!(a, b);
        assert_eq!(short(&a).len(), 12);
    }

    #[test]
    fn only_hex_of_the_right_length_is_an_id() {
        assert!(!is_full_id("../../etc/passwd"));
        assert!(!is_full_id(&"A".repeat(64)));
        assert!(!is_full_id(&"a".repeat(63)));
        assert!(could_be_prefix("abc1"));
        assert!(!could_be_prefix("abc/"));
        assert!(!could_be_prefix(""));
    }
}
