//! [`Key`]: the secret a remote pool and its workers share. Every task is
//! signed with it (HMAC-SHA256), and a worker runs only what verifies: the
//! task names a function of the worker's program by address, so a task
//! anyone could publish would be a way to call any function with any bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::RemoteError;

/// The environment variable [`Key::from_env`] reads.
pub const KEY_ENV: &str = "PP_REMOTE_KEY";

/// A 256-bit secret shared by a remote pool and its workers.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)") // never printed
    }
}

impl Key {
    /// A fresh random key (from the kernel's generator).
    pub fn generate() -> Result<Key, RemoteError> {
        let mut bytes = [0u8; 32];
        let mut filled = 0;
        while filled < bytes.len() {
            let flags = rustix::rand::GetRandomFlags::empty();
            match rustix::rand::getrandom(&mut bytes[filled..], flags) {
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    let reason = format!("getrandom failed: {e}");
                    return Err(RemoteError::BadKey { source_name: "generated".into(), reason });
                }
            }
        }
        Ok(Key(bytes))
    }

    /// The key written as 64 hexadecimal digits (as [`to_hex`](Self::to_hex) writes it).
    pub fn from_hex(text: &str) -> Result<Key, RemoteError> {
        Key::parse(text, "given")
    }

    /// The key in [`KEY_ENV`] (`PP_REMOTE_KEY`).
    pub fn from_env() -> Result<Key, RemoteError> {
        let bad = |reason: &str| RemoteError::BadKey {
            source_name: format!("in {KEY_ENV}"),
            reason: reason.to_owned(),
        };
        let value = std::env::var(KEY_ENV).map_err(|e| match e {
            std::env::VarError::NotPresent => bad(&format!(
                "{KEY_ENV} is not set (a key is 64 hexadecimal digits, as `openssl rand -hex 32` prints)"
            )),
            std::env::VarError::NotUnicode(_) => bad("it is not text"),
        })?;
        Key::parse(&value, &format!("in {KEY_ENV}"))
    }

    fn parse(text: &str, source_name: &str) -> Result<Key, RemoteError> {
        let bad =
            |reason: String| RemoteError::BadKey { source_name: source_name.to_owned(), reason };
        let text = text.trim();
        if text.len() != 64 {
            return Err(bad(format!(
                "it has {} characters, not 64 hexadecimal digits",
                text.len()
            )));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).ok_or_else(|| bad("not ASCII".into()))?;
            // from_str_radix would take a sign ("+f").
            if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("{pair:?} at {} is not hexadecimal", 2 * i)));
            }
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| bad(format!("{pair:?} at {} is not hexadecimal", 2 * i)))?;
        }
        Ok(Key(bytes))
    }

    /// The key as 64 hexadecimal digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self) -> Hmac<Sha256> {
        // An HMAC key may have any length: this cannot fail.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// The tag of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the tag of `message` (compared in constant time).
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_hex_and_signs_only_its_message() {
        let key = Key::generate().unwrap();
        assert_eq!(Key::from_hex(&key.to_hex()).unwrap(), key);
        let tag = key.sign(b"task");
        assert!(key.verify(b"task", &tag));
        assert!(!key.verify(b"tasK", &tag));
        assert!(!Key::generate().unwrap().verify(b"task", &tag));
        assert!(!format!("{key:?}").contains(&key.to_hex()[..8]));
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        let short = Key::from_hex("abc").unwrap_err().to_string();
        assert!(short.contains("3 characters"), "{short}");
        let bad = Key::from_hex(&"zz".repeat(32)).unwrap_err().to_string();
        assert!(bad.contains("\"zz\" at 0"), "{bad}");
        let non_ascii = Key::from_hex(&format!("a{}a", "é".repeat(31))).unwrap_err().to_string();
        assert!(non_ascii.contains("not ASCII"), "{non_ascii}");
    }
}
