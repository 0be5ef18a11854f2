//! [`Key`]: how the client of a request is found.

use std::fmt;
use std::sync::Arc;

use http::HeaderName;

use crate::{ClientKey, RequestInfo, TrustedProxies, client_ip};

type KeyFn = Arc<dyn Fn(&RequestInfo<'_>) -> Option<ClientKey> + Send + Sync>;

/// How the client of a request is found. The default is [`Key::client_ip`].
///
/// A request whose key cannot be found (no peer address, no API key header, no user) is
/// refused with [`RefusalKind::MissingKey`](crate::RefusalKind::MissingKey) (500 by default);
/// chain [`Key::or`] to fall back to another key instead.
///
/// ```
/// use http::HeaderName;
/// use sentinel_tower::{ClientKey, Key};
///
/// #[derive(Clone)]
/// struct UserId(u64);
///
/// // The signed-in user, else the API key, else the client address.
/// let key = Key::extension(|user: &UserId| ClientKey::user(user.0))
///     .or(Key::header(HeaderName::from_static("x-api-key")))
///     .or(Key::client_ip());
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct Key {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    PeerIp,
    ClientIp,
    Header(HeaderName),
    Route,
    Fn(KeyFn),
    Or(Box<Key>, Box<Key>),
}

/// What extraction needs besides the request.
#[derive(Debug)]
pub(crate) struct KeyContext<'a> {
    pub(crate) proxies: &'a TrustedProxies,
    pub(crate) ipv6_prefix: u8,
}

impl Key {
    /// The TCP peer address ([`RequestInfo::peer_addr`]), never a forwarding header.
    pub const fn peer_ip() -> Self {
        Self { kind: Kind::PeerIp }
    }

    /// The client address: the peer, or the address a trusted proxy forwarded
    /// ([`client_ip`], configured with
    /// [`RateLimitLayerBuilder::trusted_proxies`](crate::RateLimitLayerBuilder::trusted_proxies)).
    /// With no trusted proxy this is [`Key::peer_ip`].
    pub const fn client_ip() -> Self {
        Self {
            kind: Kind::ClientIp,
        }
    }

    /// The value of header `name` (an API key), hashed at once: the secret is never stored,
    /// logged or sent to the store ([`ClientKey::api_key`]). A missing or empty header has no
    /// key.
    pub const fn header(name: HeaderName) -> Self {
        Self {
            kind: Kind::Header(name),
        }
    }

    /// A request extension of type `T` (what your authentication middleware inserted), turned
    /// into a key by `f`. No extension, no key.
    pub fn extension<T, F>(f: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(&T) -> ClientKey + Send + Sync + 'static,
    {
        Self::from_fn(move |req| req.extensions().get::<T>().map(&f))
    }

    /// The matched route template ([`RequestInfo::route`]): all clients of a route together.
    pub const fn route() -> Self {
        Self { kind: Kind::Route }
    }

    /// Any function of the request.
    ///
    /// ```
    /// use sentinel_tower::{ClientKey, Key};
    /// let tenant = Key::from_fn(|req| {
    ///     req.headers().get("x-tenant")?.to_str().ok().map(ClientKey::custom)
    /// });
    /// # let _ = tenant;
    /// ```
    pub fn from_fn<F>(f: F) -> Self
    where
        F: Fn(&RequestInfo<'_>) -> Option<ClientKey> + Send + Sync + 'static,
    {
        Self {
            kind: Kind::Fn(Arc::new(f)),
        }
    }

    /// This key, else `other` when this one is not found.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self {
            kind: Kind::Or(Box::new(self), Box::new(other)),
        }
    }

    /// The key of `req`, if found.
    pub(crate) fn extract(&self, req: &RequestInfo<'_>, ctx: &KeyContext<'_>) -> Option<ClientKey> {
        match &self.kind {
            Kind::PeerIp => req
                .peer_addr()
                .map(|peer| ClientKey::ip(peer.ip(), ctx.ipv6_prefix)),
            Kind::ClientIp => req.peer_addr().map(|peer| {
                let ip = client_ip(peer.ip(), req.headers(), ctx.proxies);
                ClientKey::ip(ip, ctx.ipv6_prefix)
            }),
            Kind::Header(name) => req
                .headers()
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| ClientKey::api_key(v.as_bytes())),
            Kind::Route => Some(ClientKey::route(req.route())),
            Kind::Fn(f) => f(req),
            Kind::Or(a, b) => a.extract(req, ctx).or_else(|| b.extract(req, ctx)),
        }
    }
}

impl Default for Key {
    fn default() -> Self {
        Self::client_ip()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::PeerIp => f.write_str("Key::peer_ip"),
            Kind::ClientIp => f.write_str("Key::client_ip"),
            Kind::Header(name) => write!(f, "Key::header({name})"),
            Kind::Route => f.write_str("Key::route"),
            Kind::Fn(_) => f.write_str("Key::from_fn(..)"),
            Kind::Or(a, b) => write!(f, "{a:?}.or({b:?})"),
        }
    }
}
