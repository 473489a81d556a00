//! Container names: Docker's rule for what a name may look like, and generated
//! names in Docker's `adjective_surname` style for containers created without
//! one. A name lives only in `meta.json` and in the daemon's memory, never in a
//! path, so no name can reach outside the state directory.

/// The longest name accepted. Docker sets no limit; one keeps a 10 000-character
/// name from bloating every listing.
pub const MAX_NAME_LEN: usize = 255;

/// Docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]+`: at least two characters.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && bytes.len() <= MAX_NAME_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// Docker accepts a name with one leading slash (`/web`): the form names take
/// on the wire (`"Names":["/web"]`).
pub fn strip_slash(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

const ADJECTIVES: &[&str] = &[
    "agile", "amazing", "bold", "brave", "bright", "calm", "careful", "cheerful", "clever", "cool",
    "curious", "daring", "eager", "elegant", "epic", "fervent", "focused", "friendly", "gallant", "gentle",
    "happy", "hopeful", "humble", "jolly", "keen", "kind", "lucid", "lucky", "merry", "modest", "nimble",
    "noble", "patient", "peaceful", "polite", "proud", "quick", "quiet", "serene", "sharp", "sleepy",
    "steady", "sturdy", "swift", "tender", "tidy", "upbeat", "vibrant", "wise", "witty", "zealous",
];

const SURNAMES: &[&str] = &[
    "babbage",
    "bardeen",
    "bohr",
    "boole",
    "cerf",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euler",
    "faraday",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hodgkin",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "lamarr",
    "lamport",
    "liskov",
    "lovelace",
    "maxwell",
    "mcclintock",
    "meitner",
    "mendel",
    "napier",
    "newton",
    "noether",
    "pascal",
    "pasteur",
    "planck",
    "raman",
    "ritchie",
    "shannon",
    "sinoussi",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "wilson",
    "wozniak",
];

/// A name like `brave_turing`. `attempt` > 0 appends a digit, as Docker does
/// when the plain name is taken. Words are picked from the kernel's randomness.
pub fn generate(attempt: u32) -> String {
    let mut bytes = [0u8; 4];
    let _ =
        std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    let adjective = ADJECTIVES[u16::from_le_bytes([bytes[0], bytes[1]]) as usize % ADJECTIVES.len()];
    let surname = SURNAMES[u16::from_le_bytes([bytes[2], bytes[3]]) as usize % SURNAMES.len()];
    if attempt == 0 {
        format!("{adjective}_{surname}")
    } else {
        format!("{adjective}_{surname}{}", bytes[0] % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_name_rule() {
        for good in ["web", "a1", "my.app-2_x", "0abc"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "a", "-web", "_x", "bad/name", "..", "a b", "a\0b", &"x".repeat(256)] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for attempt in 0..20 {
            let name = generate(attempt);
            assert!(is_valid_name(&name), "{name}");
            assert!(name.contains('_'));
        }
    }
}
