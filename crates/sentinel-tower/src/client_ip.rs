//! The client's address: the peer, or the address a trusted proxy forwarded.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;
use http::header::FORWARDED;
use ipnet::IpNet;

use crate::TowerConfigError;

/// The networks whose forwarding headers are believed (your load balancers and reverse
/// proxies). Empty by default: no header is believed.
///
/// ```
/// use sentinel_tower::TrustedProxies;
/// let proxies = TrustedProxies::new(["10.0.0.0/8", "192.168.1.7", "fd00::/8"])?;
/// assert!(proxies.contains("10.1.2.3".parse()?));
/// assert!(proxies.contains("192.168.1.7".parse()?));
/// assert!(!proxies.contains("203.0.113.9".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// No trusted proxy: forwarding headers are never read.
    pub const fn none() -> Self {
        Self { nets: Vec::new() }
    }

    /// Proxies given as CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    ///
    /// # Errors
    /// [`TowerConfigError::InvalidProxy`] for an entry that is neither.
    pub fn new<I, S>(entries: I) -> Result<Self, TowerConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nets = Vec::new();
        for entry in entries {
            let text = entry.as_ref().trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(TowerConfigError::InvalidProxy {
                            entry: text.to_owned(),
                        });
                    }
                },
            };
            nets.push(net);
        }
        Ok(Self { nets })
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

/// The client address of a request from `peer` with `headers`.
///
/// # Trust model
///
/// `Forwarded`, `X-Forwarded-For` and `X-Real-IP` are request headers: any client can send
/// them with any value. They are read **only** when the TCP peer is in
/// [`TrustedProxies`]; otherwise the peer address is the client, whatever the headers say.
///
/// When the peer is trusted, the forwarded chain (of `Forwarded` if present, else of
/// `X-Forwarded-For`, every header line in order) is walked **from the right**: each proxy
/// appends the address it received the request from, so the rightmost entries were written by
/// your own proxies and the leftmost ones by whoever sent the request. Entries that are trusted
/// proxies are skipped; the first one that is not is the client. When every entry is a trusted
/// proxy, the leftmost is the client. An entry that is not an address (`unknown`, an obfuscated
/// `_name`, garbage) ends the walk: the client is the last trusted hop walked (so a forged
/// entry can never pick a key; at worst the requests count against that proxy). `X-Real-IP`
/// (one address) is used only when neither chain header is present.
///
/// ```
/// use http::HeaderMap;
/// use sentinel_tower::{TrustedProxies, client_ip};
///
/// let proxies = TrustedProxies::new(["10.0.0.0/8"])?;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "198.51.100.1, 203.0.113.5, 10.0.0.2".parse()?);
/// // From the load balancer: the rightmost address that is not a proxy.
/// assert_eq!(client_ip("10.0.0.1".parse()?, &headers, &proxies), "203.0.113.5".parse::<std::net::IpAddr>()?);
/// // From anyone else: the header is ignored.
/// assert_eq!(client_ip("203.0.113.77".parse()?, &headers, &proxies), "203.0.113.77".parse::<std::net::IpAddr>()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    if headers.contains_key(FORWARDED) {
        let entries = headers
            .get_all(FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(forwarded_for);
        return walk(peer, entries, trusted);
    }
    if headers.contains_key(X_FORWARDED_FOR) {
        let entries = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(parse_addr);
        return walk(peer, entries, trusted);
    }
    headers
        .get(X_REAL_IP)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_addr)
        .unwrap_or(peer)
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_REAL_IP: &str = "x-real-ip";

/// Walks `entries` (left to right as sent) from the right, starting at the trusted `peer`.
fn walk<I>(peer: IpAddr, entries: I, trusted: &TrustedProxies) -> IpAddr
where
    I: Iterator<Item = Option<IpAddr>>,
{
    // Headers are short; a small buffer keeps the walk from the right simple. A header with
    // more than 32 hops is cut to its rightmost 32 (the ones our proxies wrote).
    let mut hops: [Option<IpAddr>; MAX_HOPS] = [None; MAX_HOPS];
    let mut len = 0usize;
    let mut start = 0usize;
    for entry in entries {
        hops[(start + len) % MAX_HOPS] = entry;
        if len < MAX_HOPS {
            len += 1;
        } else {
            start = (start + 1) % MAX_HOPS;
        }
    }
    let mut client = peer;
    for i in (0..len).rev() {
        match hops[(start + i) % MAX_HOPS] {
            None => return client,
            Some(ip) => {
                client = ip;
                if !trusted.contains(ip) {
                    return ip;
                }
            }
        }
    }
    client
}

const MAX_HOPS: usize = 32;

/// The `for=` address of one `Forwarded` element (`for=192.0.2.1;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        parse_addr(value.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:80`. Anything else (`unknown`, `_hidden`) is `None`.
fn parse_addr(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .parse::<Ipv6Addr>()
        .ok()
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let t = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
        for (name, value) in [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-real-ip", "1.1.1.1"),
            ("forwarded", "for=1.1.1.1"),
        ] {
            let h = headers(&[(name, value)]);
            assert_eq!(client_ip(ip("203.0.113.1"), &h, &t), ip("203.0.113.1"));
            assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("1.1.1.1"), "{name}");
        }
        let none = TrustedProxies::none();
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &none), ip("10.0.0.1"));
    }

    #[test]
    fn the_chain_is_walked_from_the_right_skipping_trusted_hops() {
        let t = TrustedProxies::new(["10.0.0.0/8", "192.168.0.0/16"]).unwrap();
        // The client prepended a forged address; our proxies appended the rest.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
            ("x-forwarded-for", "192.168.3.3, 10.9.9.9"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("198.51.100.7"));
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.2.2.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("10.1.1.1"));
        // Garbage ends the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, unknown, 10.2.2.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("10.2.2.2"));
        let h = headers(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_parses_its_forms() {
        let t = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
        let h = headers(&[
            (
                "forwarded",
                "for=\"[2001:db8:cafe::17]:4711\";proto=https, For=10.0.0.3",
            ),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=_hidden, for=10.0.0.3")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("10.0.0.3"));
        let h = headers(&[("forwarded", "proto=https;for=192.0.2.60:8080")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("192.0.2.60"));
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4_and_long_chains_keep_the_right_end() {
        let t = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
        let h = headers(&[("x-real-ip", "::ffff:198.51.100.2")]);
        assert_eq!(client_ip(ip("::ffff:10.0.0.1"), &h, &t), ip("198.51.100.2"));
        let long = std::iter::repeat_n("7.7.7.7", 100)
            .chain(["8.8.8.8", "10.0.0.5"])
            .collect::<Vec<_>>()
            .join(",");
        let h = headers(&[("x-forwarded-for", &long)]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t), ip("8.8.8.8"));
    }

    #[test]
    fn invalid_proxy_entries_are_refused_with_the_entry() {
        let err = TrustedProxies::new(["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/33"), "{err}");
        assert!(TrustedProxies::new(["localhost"]).is_err());
    }
}
