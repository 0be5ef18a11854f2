//! [`Fingerprint`]: what debounce compares, without storing the content.

use std::fmt;

use sha2::{Digest, Sha256};

/// SHA-256 of some content, truncated to 128 bits. Message text never reaches a store: only
/// this does.
///
/// ```
/// use sentinel_core::Fingerprint;
/// let a = Fingerprint::of("hello");
/// assert_eq!(a, Fingerprint::of("hello"));
/// assert_ne!(a, Fingerprint::of("hello!"));
/// assert_eq!(a.to_string().len(), 32);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The fingerprint of `content`.
    pub fn of(content: impl AsRef<[u8]>) -> Self {
        let digest = Sha256::digest(content.as_ref());
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }

    /// The raw 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}
