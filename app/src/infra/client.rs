//! Who is calling: the client IP (for rate limits and the security history) and user agent.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// What the security history records about a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The IP as the security history stores it.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// The network a per-network limit counts against: the IPv4 address, or the IPv6 /64 (one
    /// host commonly holds a whole /64, so counting its addresses one by one would count nothing).
    pub fn network(&self) -> Option<String> {
        Some(match self.ip? {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let net = ipnet::Ipv6Net::new(ip, 64).map_or(ip, |net| net.network());
                    format!("{net}/64")
                }
            },
        })
    }
}

/// User agents are stored for people to read, not parsed: 256 characters are plenty.
const MAX_USER_AGENT_CHARS: usize = 256;

impl ClientInfo {
    /// What a request says about its client: the socket's peer, and the headers.
    pub fn from_request(
        peer: Option<SocketAddr>,
        headers: &HeaderMap,
        trusted_proxies: &[IpNet],
    ) -> Self {
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Self {
            ip: peer.map(|peer| client_ip(peer.ip(), forwarded, trusted_proxies)),
            user_agent: headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        }
    }
}

/// The socket's address, unless it is a trusted proxy: then the right-most `X-Forwarded-For`
/// entry that is not itself a trusted proxy. Entries left of that are client-supplied and could
/// be anything, so they are never used.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for entry in header.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A garbled hop: stop at the last address we could trust.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP")
    }

    #[test]
    fn a_network_is_an_ipv4_address_or_an_ipv6_64() {
        let network = |text: &str| {
            ClientInfo {
                ip: Some(ip(text)),
                user_agent: None,
            }
            .network()
        };
        assert_eq!(network("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            network("2001:db8:1:2:aaaa::1").as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(network("2001:db8:1:2:ffff::9"), network("2001:db8:1:2::1"));
        assert_ne!(network("2001:db8:1:3::1"), network("2001:db8:1:2::1"));
        assert_eq!(
            network("::ffff:203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(ClientInfo::default().network(), None);
    }

    #[test]
    fn ignores_forwarded_for_from_untrusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("1.2.3.4"), &[]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn takes_the_rightmost_untrusted_hop_behind_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.2"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("garbage, 10.0.0.3"), &trusted),
            ip("10.0.0.3")
        );
    }
}
