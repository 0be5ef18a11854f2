//! [`PolicyName`]: the name a verdict gives its policy, copied rather than shared.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The name of the policy that decided a verdict (`_` for the default policy).
///
/// It reads as a `str` (`Deref`, `AsRef<str>`, `Display`, comparisons with `str`) and is
/// `Copy`: a verdict carries it without a reference count, so deciding an event touches no
/// shared counter for it. Names are interned for the life of the process when an engine is
/// built: each distinct name is stored once, however many engines (or rebuilds) use it, so
/// the memory it takes is bounded by the distinct policy names a program ever uses — a
/// program that makes up new policy names without end (one per tenant, say) should key those
/// tenants with [`Scope::Custom`](crate::Scope::Custom) instead.
///
/// ```
/// use sentinel_core::PolicyName;
///
/// let name = PolicyName::intern("login");
/// assert_eq!(name, "login");
/// assert_eq!(&*name, "login");
/// assert_eq!(name.to_string(), "login");
/// // Interned: the same name is the same text, stored once.
/// assert!(std::ptr::eq(name.as_str(), PolicyName::intern("login").as_str()));
/// ```
#[derive(Clone, Copy)]
pub struct PolicyName(&'static str);

impl PolicyName {
    /// The interned copy of `name` (stored on first use, found afterwards).
    pub fn intern(name: &str) -> Self {
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(&known) = names.get(name) {
            return Self(known);
        }
        // Leaked on purpose, once per distinct name: see the type's docs.
        let stored: &'static str = Box::leak(Box::from(name));
        names.insert(stored);
        Self(stored)
    }

    /// The name as a `&'static str`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl Deref for PolicyName {
    type Target = str;

    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for PolicyName {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Debug for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq for PolicyName {
    fn eq(&self, other: &Self) -> bool {
        // Interned, so equal names are (almost always) the same pointer; the text decides.
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for PolicyName {}

impl Hash for PolicyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq<str> for PolicyName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PolicyName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<PolicyName> for str {
    fn eq(&self, other: &PolicyName) -> bool {
        self == other.0
    }
}

impl PartialEq<PolicyName> for &str {
    fn eq(&self, other: &PolicyName) -> bool {
        *self == other.0
    }
}
