//! Which addresses may receive webhooks: one place for the rules of an endpoint's URL
//! ([`validate_url`]) and of the addresses a delivery may connect to ([`is_forbidden_ip`]).
//!
//! Private, loopback, link-local, unique-local, CGNAT, multicast, documentation and cloud
//! metadata addresses are refused (an endpoint must not reach into the operator's network),
//! at registration (a literal address, and every address a name resolves to) and again at
//! connect time by the transport (a name may resolve elsewhere later), unless the operator
//! allows private addresses.

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

/// What the operator allows of endpoint URLs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UrlRules {
    /// Plain `http://` URLs too (default: `https://` only).
    pub allow_http: bool,
    /// Private, loopback and other internal addresses too (tests, closed networks).
    pub allow_private: bool,
}

/// Whether a delivery must not connect to `ip`: an unspecified, loopback, private (10/8,
/// 172.16/12, 192.168/16), CGNAT (100.64/10), link-local (169.254/16, with the metadata
/// address 169.254.169.254; fe80::/10), unique-local (fc00::/7, with fd00:ec2::254),
/// multicast, broadcast, reserved, benchmarking or documentation address, or an IPv6 address
/// carrying such an IPv4 one (mapped, compatible, NAT64, 6to4).
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this" network
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF protocol, TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast, reserved, broadcast
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return true;
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d).
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        return forbidden_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 (64:ff9b::/96).
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
    if s[0] == 0x2002 {
        return forbidden_v4(embedded_v4(s[1], s[2]));
    }
    (s[0] & 0xfe00) == 0xfc00 // unique-local, with fd00:ec2::254
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn refused(message: impl std::fmt::Display) -> Error {
    Error::validation("url", message)
}

/// Checks an endpoint's URL against `rules` and returns it normalised: at most
/// [`MAX_URL_LEN`] characters, `https` (or `http` if allowed), a host, no user or password, no
/// fragment, and (unless private addresses are allowed) a host that is not a forbidden address
/// nor a name resolving to one (or to nothing). Errors name `url`.
pub async fn validate_url(raw: &str, rules: UrlRules) -> Result<String> {
    if raw.len() > MAX_URL_LEN {
        return Err(refused(format!("must be at most {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| refused(format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if rules.allow_http => {}
        "http" => return Err(refused("must use https")),
        _ => return Err(refused("must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("must not carry a user or password"));
    }
    if url.fragment().is_some() {
        return Err(refused("must not carry a fragment"));
    }
    let host = url.host().ok_or_else(|| refused("must name a host"))?;
    if !rules.allow_private {
        let port = url.port_or_known_default().unwrap_or(443);
        match host {
            url::Host::Ipv4(ip) => check_ip(IpAddr::V4(ip))?,
            url::Host::Ipv6(ip) => check_ip(IpAddr::V6(ip))?,
            url::Host::Domain(name) => {
                let found: Vec<_> = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|_| refused(format!("host {name:?} does not resolve")))?
                    .collect();
                if found.is_empty() {
                    return Err(refused(format!("host {name:?} does not resolve")));
                }
                for address in found {
                    check_ip(address.ip())?;
                }
            }
        }
    }
    let normalised = url.to_string();
    if normalised.len() > MAX_URL_LEN {
        return Err(refused(format!("must be at most {MAX_URL_LEN} characters")));
    }
    Ok(normalised)
}

fn check_ip(ip: IpAddr) -> Result<()> {
    if is_forbidden_ip(ip) {
        return Err(refused(format!(
            "must not point at a private, loopback, link-local or metadata address ({ip})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_forbidden_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "ff02::1",
        ] {
            assert!(
                is_forbidden_ip(ip.parse().unwrap()),
                "{ip} must be forbidden"
            );
        }
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert!(
                !is_forbidden_ip(ip.parse().unwrap()),
                "{ip} must be allowed"
            );
        }
    }

    #[tokio::test]
    async fn urls_follow_the_rules() {
        let strict = UrlRules::default();
        for bad in [
            "http://93.184.215.14/hook",
            "ftp://93.184.215.14/hook",
            "https://127.0.0.1/hook",
            "https://0x7f.1/hook",
            "https://[::1]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://user:pw@93.184.215.14/hook",
            "https://localhost/hook",
            "not a url",
        ] {
            assert!(
                validate_url(bad, strict).await.is_err(),
                "{bad} must be refused"
            );
        }
        let long = format!("https://93.184.215.14/{}", "a".repeat(MAX_URL_LEN));
        assert!(validate_url(&long, strict).await.is_err());
        assert!(validate_url("https://93.184.215.14/hook", strict)
            .await
            .is_ok());
        let open = UrlRules {
            allow_http: true,
            allow_private: true,
        };
        assert!(validate_url("http://127.0.0.1:9/hook", open).await.is_ok());
    }
}
