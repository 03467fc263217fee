//! Which program this is, by content: a SHA-256 of the executable's bytes.
//! Tasks name functions by their place in the program, so they go only to
//! workers running the same bytes; inode and mtime differ across machines
//! for the same build, and a rebuilt program may keep them.

use std::io::Read;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::error::RemoteError;

/// This program's id: the first 128 bits of the SHA-256 of its executable,
/// in hexadecimal (read once).
pub(crate) fn program_id() -> Result<&'static str, RemoteError> {
    static ID: OnceLock<Result<String, String>> = OnceLock::new();
    ID.get_or_init(|| hash_file("/proc/self/exe"))
        .as_deref()
        .map_err(|reason| RemoteError::Program { reason: reason.clone() })
}

fn hash_file(path: &str) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("opening {path}: {e}"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading {path}: {e}")),
        }
    }
    let digest = hasher.finalize();
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}
