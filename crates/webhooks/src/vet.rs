//! Where webhooks may be sent: the defence against server-side request
//! forgery (docs/security.md). An organizer chooses the URL, and the
//! server makes the request from inside its network, so by default only
//! public unicast addresses are targets: loopback, private, link-local,
//! shared (CGNAT), multicast, documentation and reserved ranges are
//! refused, for IPv4 and IPv6 alike, and IPv6 forms that carry an IPv4
//! address (mapped, compatible, NAT64, 6to4) are judged by that address.
//!
//! The URL is checked when it is registered (a clear 400), and again at
//! every delivery: the client resolves names through [`VettedResolver`],
//! which hands the connector only permitted addresses, so a name that
//! resolved to a public address at registration and to an internal one
//! later (DNS rebinding) gets no connection. Literal IP hosts are checked
//! before the request. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Which targets are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private, link-local and the other non-public
    /// ranges (`--webhook-allow-private-targets`; tests, closed networks).
    pub allow_private: bool,
}

/// Why a URL or address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("not a valid URL: {0}")]
    Syntax(String),
    #[error("the URL is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("only http and https URLs are allowed, not {0}:")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL must not contain a user name or password")]
    Credentials,
    #[error("{0} is a {1} address; webhooks go only to public addresses")]
    Address(IpAddr, &'static str),
    #[error("{host} resolves to {addr}, a {kind} address; webhooks go only to public addresses")]
    Resolves {
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error("cannot resolve {host}: {reason}")]
    Unresolved { host: String, reason: String },
}

/// What kind of non-public address `ip` is, or `None` if it is public.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        _ if ip.is_unspecified() || a == 0 => "unspecified (this network)",
        _ if ip.is_broadcast() => "broadcast",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_documentation() => "documentation",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (198, 18..=19, _) => "benchmarking",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    Some(match s {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        // fc00::/7 unique local
        [x, ..] if x & 0xfe00 == 0xfc00 => "private (unique local)",
        // fe80::/10 link-local, fec0::/10 site-local (deprecated)
        [x, ..] if x & 0xffc0 == 0xfe80 => "link-local",
        [x, ..] if x & 0xffc0 == 0xfec0 => "site-local",
        // ::/96 IPv4-compatible (deprecated): judged by the IPv4 address
        [0, 0, 0, 0, 0, 0, hi, lo] => {
            return non_public_v4(embedded(hi, lo)).or(Some("IPv4-compatible"))
        }
        // 64:ff9b::/96 NAT64: the IPv4 address behind it
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return non_public_v4(embedded(hi, lo)),
        // 64:ff9b:1::/48 local-use NAT64
        [0x64, 0xff9b, 1, ..] => "NAT64 (local use)",
        // 2002::/16 6to4: the IPv4 address in bits 16..48
        [0x2002, hi, lo, ..] => return non_public_v4(embedded(hi, lo)),
        // 2001:db8::/32 documentation, 3fff::/20 documentation
        [0x2001, 0x0db8, ..] => "documentation",
        [x, ..] if x & 0xfff0 == 0x3ff0 => "documentation",
        // 2001::/32 Teredo (tunnels to arbitrary IPv4), 2001:2::/48 benchmarking
        [0x2001, 0, ..] => "Teredo",
        [0x2001, 2, 0, ..] => "benchmarking",
        // 100::/64 discard
        [0x100, 0, 0, 0, ..] => "discard",
        _ => return None,
    })
}

impl TargetPolicy {
    /// `Err` with the address's kind if the policy refuses it.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        match non_public(ip) {
            Some(kind) if !self.allow_private => Err(kind),
            _ => Ok(()),
        }
    }
}

/// The URL's syntax: http(s), a host, no credentials.
pub fn parse_url(text: &str) -> Result<Url, Refused> {
    if text.len() > MAX_URL_LEN {
        return Err(Refused::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|e| Refused::Syntax(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::Scheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    if url.host().is_none() {
        return Err(Refused::NoHost);
    }
    Ok(url)
}

/// The literal address of the URL's host, if it is one.
fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Checks a URL for registration: syntax, then every address its host is
/// or resolves to now (all must be allowed).
pub async fn check_url(
    text: &str,
    policy: TargetPolicy,
    timeout: Duration,
) -> Result<Url, Refused> {
    let url = parse_url(text)?;
    if let Some(ip) = literal(&url) {
        policy
            .check(ip)
            .map_err(|kind| Refused::Address(ip, kind))?;
        return Ok(url);
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = resolve(&host, port, timeout).await?;
    for addr in addrs {
        policy.check(addr.ip()).map_err(|kind| Refused::Resolves {
            host: host.clone(),
            addr: addr.ip(),
            kind,
        })?;
    }
    Ok(url)
}

/// Checks a URL's literal host at delivery (names are checked by the
/// resolver, see [`VettedResolver`]).
pub fn check_literal(url: &Url, policy: TargetPolicy) -> Result<(), Refused> {
    match literal(url) {
        Some(ip) => policy.check(ip).map_err(|kind| Refused::Address(ip, kind)),
        None => Ok(()),
    }
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, Refused> {
    let unresolved = |reason: String| Refused::Unresolved {
        host: host.to_owned(),
        reason,
    };
    let found = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| unresolved("timed out".into()))?
        .map_err(|e| unresolved(e.to_string()))?
        .collect::<Vec<_>>();
    if found.is_empty() {
        return Err(unresolved("no addresses".into()));
    }
    Ok(found)
}

/// The delivery client's resolver: the system's answer, less every address
/// the policy refuses; an error if none is left. The connector connects
/// only to what this returns, so the address checked is the address used.
#[derive(Debug, Clone)]
pub struct VettedResolver {
    pub policy: TargetPolicy,
    pub timeout: Duration,
}

impl reqwest::dns::Resolve for VettedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // The port is the connector's to choose; 0 is replaced.
            let found = resolve(&host, 0, this.timeout).await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match this.policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(kind) => {
                        refused.get_or_insert((a.ip(), kind));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let (addr, kind) =
                    refused.unwrap_or((IpAddr::V4(Ipv4Addr::UNSPECIFIED), "unknown"));
                return Err(Box::new(Refused::Resolves { host, addr, kind }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The delivery client: vetted resolver, no redirects, no proxy, short
/// timeouts.
pub fn client(
    policy: TargetPolicy,
    connect_timeout: Duration,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(VettedResolver {
            policy,
            timeout: connect_timeout,
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("Easel-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        non_public(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn address_ranges() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::1",
            "2001:db8::1",
            "2001::1",
            "fec0::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:93.184.215.14",
            "64:ff9b::5db8:d70e",
            "2002:5db8:d70e::1",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
        let open = TargetPolicy {
            allow_private: true,
        };
        assert!(open.check("127.0.0.1".parse().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn urls() {
        let strict = TargetPolicy {
            allow_private: false,
        };
        let t = Duration::from_secs(2);
        assert!(matches!(
            check_url("ftp://example.org/", strict, t).await,
            Err(Refused::Scheme(_))
        ));
        assert!(matches!(
            check_url("file:///etc/passwd", strict, t).await,
            Err(Refused::Scheme(_))
        ));
        assert!(matches!(
            check_url("not a url", strict, t).await,
            Err(Refused::Syntax(_))
        ));
        assert!(matches!(
            check_url("http://u:p@example.org/", strict, t).await,
            Err(Refused::Credentials)
        ));
        assert!(matches!(
            check_url("http://[::1]:9/", strict, t).await,
            Err(Refused::Address(_, "loopback"))
        ));
        assert!(matches!(
            check_url("http://169.254.169.254/latest", strict, t).await,
            Err(Refused::Address(_, "link-local"))
        ));
        // Integer and short forms are parsed as the address they mean.
        assert!(matches!(
            check_url("http://2130706433/", strict, t).await,
            Err(Refused::Address(_, "loopback"))
        ));
        assert!(matches!(
            check_url("http://127.1/", strict, t).await,
            Err(Refused::Address(_, "loopback"))
        ));
        assert!(matches!(
            check_url("http://localhost:8/", strict, t).await,
            Err(Refused::Resolves { .. })
        ));
        let open = TargetPolicy {
            allow_private: true,
        };
        assert!(check_url("http://localhost:8/", open, t).await.is_ok());
    }

    /// A name resolving only to refused addresses gives the connector
    /// nothing to connect to (what protects against DNS rebinding).
    #[tokio::test]
    async fn resolver_drops_refused_addresses() {
        use reqwest::dns::Resolve;
        let strict = VettedResolver {
            policy: TargetPolicy {
                allow_private: false,
            },
            timeout: Duration::from_secs(2),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match strict.resolve(name).await {
            Ok(_) => panic!("localhost must not resolve for delivery"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("localhost resolves to"), "{err}");
        let open = VettedResolver {
            policy: TargetPolicy {
                allow_private: true,
            },
            timeout: Duration::from_secs(2),
        };
        let addrs: Vec<_> = open
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    /// End to end through the client: a loopback literal is refused before
    /// any connection when private targets are not allowed.
    #[tokio::test]
    async fn client_refuses_names_of_loopback() {
        let c = client(
            TargetPolicy {
                allow_private: false,
            },
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
        .unwrap();
        let err = c.post("http://localhost:9/hook").send().await.unwrap_err();
        let chain = crate::dispatch::describe(&err);
        assert!(
            chain.contains("localhost resolves to 127.0.0.1, a loopback address"),
            "{chain}"
        );
    }
}
