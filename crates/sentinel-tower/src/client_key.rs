//! [`ClientKey`]: whom a request counts against.

use std::fmt;
use std::net::IpAddr;

use ipnet::Ipv6Net;
use sentinel_core::Subject;
use sha2::{Digest, Sha256};

use crate::decimal::push_decimal;

/// Whom a request counts against: an address, a hashed API key, a user, a route or a value of
/// your own. Each kind has its own prefix (`ip4-`, `ip6-`, `key-`, `user-`, `route-`, `fn-`) so
/// two kinds never share a budget. Addresses and API keys are written in `[A-Za-z0-9_.-]` only,
/// so they stay readable in store keys (the engine hashes any other text there).
///
/// The engine sees the key twice: as the event's custom key (limits with
/// [`Scope::Custom`](sentinel_core::Scope::Custom) or `Scope::User` count per client) and as a
/// 64-bit id derived from it, the user of the event, so the blocklist and escalation work per
/// client. [`ClientKey::subject`] is that blocklist subject.
///
/// ```
/// use sentinel_tower::ClientKey;
/// let v6a = ClientKey::ip("2001:db8:1:2::10".parse()?, 64);
/// let v6b = ClientKey::ip("2001:db8:1:2:ffff::1".parse()?, 64);
/// assert_eq!(v6a, v6b); // one /64, one budget
/// assert_eq!(v6a.as_str(), "ip6-2001_db8_1_2__-64");
/// assert_eq!(ClientKey::ip("192.0.2.1".parse()?, 64).as_str(), "ip4-192.0.2.1");
/// let key = ClientKey::api_key("sk_live_secret");
/// assert!(!key.as_str().contains("secret"));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    text: String,
    /// [`ClientKey::id`], computed with the text (it is needed on every request).
    id: i64,
}

/// The first 8 bytes of `bytes` (a digest, an address), big-endian, as an id.
fn id_of_head(bytes: &[u8]) -> i64 {
    let mut head = [0u8; 8];
    if let Some(first) = bytes.get(..8) {
        head.copy_from_slice(first);
    }
    i64::from_be_bytes(head)
}

impl ClientKey {
    /// A key with no structure of its own: its id is the head of its text's SHA-256.
    fn hashed(text: String) -> Self {
        let id = id_of_head(&Sha256::digest(text.as_bytes()));
        Self { text, id }
    }

    /// An address; IPv6 addresses are grouped by their first `ipv6_prefix` bits (1–128;
    /// out-of-range values are clamped). IPv4-mapped IPv6 addresses count as IPv4.
    pub fn ip(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                // Written by hand: this runs on every request, and `Display` pads and checks
                // widths it does not need here.
                let mut text = String::with_capacity(4 + 15);
                text.push_str("ip4-");
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push('.');
                    }
                    push_decimal(&mut text, u64::from(octet));
                }
                // The address itself under a tag no client's IPv6 network starts with
                // (`7fff:ffff::/32` is reserved): no hashing on the request path.
                let [a, b, c, d] = v4.octets();
                let id = i64::from_be_bytes([0x7f, 0xff, 0xff, 0xff, a, b, c, d]);
                Self { text, id }
            }
            IpAddr::V6(v6) => {
                let prefix = ipv6_prefix.clamp(1, 128);
                // `new` fails only for a prefix above 128, which the clamp rules out.
                let network = Ipv6Net::new(v6, prefix).map_or(v6, |net| net.trunc().addr());
                let mut text = String::with_capacity(4 + 39 + 4);
                text.push_str("ip6-");
                // `:` becomes `_`, which an IPv6 address never holds: still one text per network.
                text.extend(
                    network
                        .to_string()
                        .chars()
                        .map(|c| if c == ':' { '_' } else { c }),
                );
                text.push('-');
                push_decimal(&mut text, u64::from(prefix));
                if prefix <= 64 {
                    // The network's first 64 bits are the network (the rest are zero).
                    Self {
                        text,
                        id: id_of_head(&network.octets()),
                    }
                } else {
                    Self::hashed(text)
                }
            }
        }
    }

    /// An API key or other secret credential: only its SHA-256 (128 bits, hex) is kept, so
    /// the secret is never stored, logged or sent to Redis.
    pub fn api_key(secret: impl AsRef<[u8]>) -> Self {
        let digest = Sha256::digest(secret.as_ref());
        let mut text = String::with_capacity(4 + 32);
        text.push_str("key-");
        text.push_str(&hex::encode(&digest[..16]));
        // The digest is already a hash of the secret: its first bytes are the id.
        Self {
            text,
            id: id_of_head(&digest),
        }
    }

    /// An authenticated user (an id or name of your own).
    pub fn user(user: impl fmt::Display) -> Self {
        Self::hashed(format!("user-{user}"))
    }

    /// A route template (`/users/{id}`): every client of the route together.
    pub fn route(route: &str) -> Self {
        let mut text = String::with_capacity(6 + route.len());
        text.push_str("route-");
        text.push_str(route);
        Self::hashed(text)
    }

    /// A value from your own function.
    pub fn custom(value: impl fmt::Display) -> Self {
        Self::hashed(format!("fn-{value}"))
    }

    /// The key as text (`ip4-192.0.2.1`, `ip6-2001_db8__-64`, `key-3a7b…`, `user-42`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key as text, owned.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The 64-bit id the engine's blocklist and escalation use for this client, computed once
    /// with the key: an IPv4 address is its 32 bits under the tag `0x7fffffff`; an IPv6
    /// network of up to 64 bits is its first 64 bits; an API key is the first 8 bytes of its
    /// SHA-256; any other key (a longer IPv6 prefix, a user, a route, your own value) is the
    /// first 8 bytes of the SHA-256 of [`ClientKey::as_str`]. The same key gives the same id
    /// in every process and version.
    ///
    /// ```
    /// use sentinel_tower::ClientKey;
    /// assert_eq!(ClientKey::ip("192.0.2.1".parse()?, 64).id(), 0x7fff_ffff_c000_0201);
    /// assert_eq!(ClientKey::ip("2001:db8:1:2::10".parse()?, 64).id(), 0x2001_0db8_0001_0002);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub const fn id(&self) -> i64 {
        self.id
    }

    /// The blocklist subject of this client, for [`Sentinel::block`](sentinel_core::Sentinel::block)
    /// and `unblock`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::{sync::Arc, time::Duration};
    /// # use sentinel_core::{Sentinel, SystemClock};
    /// # use sentinel_storage_memory::MemoryStore;
    /// # let sentinel = Sentinel::builder().store(Arc::new(MemoryStore::new(SystemClock))).build()?;
    /// use sentinel_tower::ClientKey;
    /// let abuser = ClientKey::ip("203.0.113.9".parse()?, 64);
    /// sentinel.block(&abuser.subject(), Some(Duration::from_secs(3600)), "scraping", "ops").await?;
    /// # Ok(()) }
    /// ```
    pub const fn subject(&self) -> Subject {
        Subject::User(self.id)
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientKey").field(&self.text).finish()
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_never_shows() {
        let key = ClientKey::api_key("sk_live_TOPSECRET");
        for shown in [format!("{key:?}"), key.to_string(), key.as_str().to_owned()] {
            assert!(!shown.contains("TOPSECRET"), "{shown}");
            assert!(
                shown.starts_with("key-") || shown.contains("\"key-"),
                "{shown}"
            );
        }
        assert_eq!(key, ClientKey::api_key("sk_live_TOPSECRET"));
        assert_ne!(key, ClientKey::api_key("sk_live_TOPSECRET2"));
    }

    #[test]
    fn kinds_never_share_a_key_and_ids_follow_the_text() {
        let all = [
            ClientKey::ip(
                "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                64,
            ),
            ClientKey::user("192.0.2.1"),
            ClientKey::custom("192.0.2.1"),
            ClientKey::route("192.0.2.1"),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
                assert_ne!(a.id(), b.id());
            }
        }
        let v4 = ClientKey::ip(IpAddr::from([0, 10, 255, 7]), 64);
        assert_eq!(v4.as_str(), "ip4-0.10.255.7");
        let v6 = ClientKey::ip(IpAddr::from([0x2001, 0xdb8, 0xabcd, 0x12, 1, 2, 3, 4]), 48);
        assert_eq!(v6.as_str(), "ip6-2001_db8_abcd__-48");
        // IPv4-mapped IPv6 is the IPv4 client.
        let mapped = ClientKey::ip(
            "::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0; 16])),
            64,
        );
        assert_eq!(mapped, all[0]);
        assert_eq!(mapped.subject(), all[0].subject());
    }
}
