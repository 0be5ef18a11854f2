//! Keeping credentials out of every message: the workspace's one redactor,
//! [`sentinel_core::redact`], used for URLs in `Debug`, `Display` and every error.

pub(crate) use sentinel_core::redact::{Redactor, SecretUrl};
