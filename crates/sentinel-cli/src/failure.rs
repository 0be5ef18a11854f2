//! What went wrong, and the exit code it maps to (documented in `args::EXIT_CODES`).

use std::error::Error as StdError;
use std::fmt;

use sentinel_core::StoreError;

/// A failed command. Every message is built from errors that redact passwords and tokens.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Exit 1: the operation ran and failed.
    Failed(String),
    /// Exit 2: bad arguments or configuration.
    Usage(String),
    /// Exit 3: the store could not be reached or timed out.
    Unreachable(String),
}

impl Failure {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable(_) => 3,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(m) | Self::Usage(m) => f.write_str(m),
            Self::Unreachable(m) => write!(f, "{m} (is Redis running and the URL right?)"),
        }
    }
}

/// `e` and its sources, `: `-separated.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Self::Unreachable(chain(&e))
        } else {
            Self::Failed(chain(&e))
        }
    }
}

impl From<sentinel_core::Error> for Failure {
    fn from(e: sentinel_core::Error) -> Self {
        match e {
            sentinel_core::Error::Store(e) => e.into(),
            sentinel_core::Error::Config(e) => Self::Usage(e.to_string()),
            other => Self::Failed(chain(&other)),
        }
    }
}
