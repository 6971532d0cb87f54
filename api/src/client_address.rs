//! Who is calling, by network address: the peer, or — when the peer is one of the
//! operator's trusted proxies — the right-most address in `X-Forwarded-For` that is
//! not a trusted proxy. Everything to the left of that can be written by the client
//! and is never believed; a peer that is no trusted proxy is believed alone.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// The address failure limits and flash-sale limits count a request against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("'{text}' is not an address or a CIDR network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{text}': the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            // An IPv4 peer may arrive mapped into IPv6.
            (IpAddr::V4(_), IpAddr::V6(address)) => address
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The operator's proxies (`--trusted-proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(address))
    }

    /// The client behind `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddress {
        if !self.trusts(peer) {
            return ClientAddress(peer);
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .map(|hop| hop.parse::<IpAddr>().ok())
            // A hop that does not parse ends what can be believed.
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        let client = hops
            .iter()
            .rev()
            .find(|hop| !self.trusts(**hop))
            .or(hops.first())
            .copied()
            .unwrap_or(peer);
        ClientAddress(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(text: &str) -> TrustedProxies {
        text.parse().unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_peer_that_is_no_trusted_proxy_is_the_client_whatever_it_forwards() {
        let client = proxies("10.0.0.0/8").client(ip("203.0.113.9"), &forwarded("1.2.3.4"));
        assert_eq!(client, ClientAddress(ip("203.0.113.9")));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        // The client wrote "6.6.6.6" itself; the proxy appended the real address.
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.1.2.3");
        let client = proxies("10.0.0.0/8").client(ip("10.0.0.1"), &headers);
        assert_eq!(client, ClientAddress(ip("198.51.100.7")));
    }

    #[test]
    fn an_unreadable_hop_believes_nothing_forwarded() {
        let client = proxies("10.0.0.0/8").client(ip("10.0.0.1"), &forwarded("x, 1.2.3.4"));
        assert_eq!(client, ClientAddress(ip("10.0.0.1")));
    }

    #[test]
    fn networks_match_by_prefix() {
        let cidr: Cidr = "192.168.16.0/20".parse().unwrap();
        assert!(cidr.contains(ip("192.168.31.255")));
        assert!(!cidr.contains(ip("192.168.32.0")));
        assert!("::1".parse::<Cidr>().unwrap().contains(ip("::1")));
        assert!(cidr.contains(ip("::ffff:192.168.17.1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<TrustedProxies>().is_err());
    }
}
