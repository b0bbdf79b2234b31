//! Network values: IP addresses, ports, and `ip:port` split the ways devices write it.

use std::net::{IpAddr, Ipv4Addr};

/// Reads an IP address (v4 or v6).
///
/// # Errors
/// When the text is not an address.
pub fn parse_ip(text: &str) -> Result<IpAddr, &'static str> {
    match parse_ipv4(text.as_bytes()) {
        Some(v4) => Ok(IpAddr::V4(v4)),
        None => text.parse().map_err(|_| "not an IP address"),
    }
}

/// Whether the text is a dotted-quad IPv4 address, as [`parse_ip`] reads one.
pub fn is_ipv4(text: &str) -> bool {
    parse_ipv4(text.as_bytes()).is_some()
}

/// Dotted-quad IPv4 as the standard library reads it (four decimal octets up to 255, no
/// leading zeros), without its general parser; `None` sends anything else there.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            value = value * 10 + u32::from(d - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        if i == start || value > 255 || (b[start] == b'0' && i - start > 1) {
            return None;
        }
        *octet = value as u8;
    }
    (i == b.len()).then(|| Ipv4Addr::from(octets))
}

/// Reads a TCP/UDP port.
///
/// # Errors
/// When the text is not a number from 0 to 65535.
pub fn parse_port(text: &str) -> Result<u16, &'static str> {
    text.parse().map_err(|_| "not a port number (0-65535)")
}

/// Splits `ip:port`, `[v6]:port` and unbracketed `v6:port`. A bare address has no port.
pub fn split_ip_port(text: &str) -> (&str, Option<&str>) {
    let Some(first) = memchr::memchr(b':', text.as_bytes()) else {
        return (text, None);
    };
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((ip, port)) = rest.split_once("]:") {
            return (ip, Some(port));
        }
    }
    // One colon: `v4:port` (the common case, no address parse needed). More: a bare IPv6
    // address, or an unbracketed IPv6 address with a port after its last colon.
    let one_colon = memchr::memchr(b':', &text.as_bytes()[first + 1..]).is_none();
    if one_colon {
        let port = &text[first + 1..];
        return match !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) {
            true => (&text[..first], Some(port)),
            false => (text, None),
        };
    }
    if text.parse::<IpAddr>().is_ok() {
        return (text, None);
    }
    match text.rsplit_once(':') {
        Some((ip, port)) if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) => (ip, Some(port)),
        _ => (text, None),
    }
}

/// The port of `ip:port`; a value that is only digits is a port already (CEF `spt=`).
pub fn port_part(text: &str) -> Option<&str> {
    match split_ip_port(text) {
        (_, Some(port)) => Some(port),
        (bare, None) if !bare.is_empty() && bare.bytes().all(|c| c.is_ascii_digit()) => Some(bare),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_fast_path_agrees_with_the_standard_library() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.04",
            "1.2.3.0",
            "10.0.0.1",
            "1234.1.1.1",
            "",
            "1.2.3.4a",
            "::1",
            "1.2.3.-4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // A fixed pseudo-random sample of strings over digits and dots.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 16) as usize;
            cases.push((0..len).map(|k| b"0123456789.25."[((seed >> (4 * k)) % 14) as usize] as char).collect());
        }
        for case in &cases {
            assert_eq!(parse_ipv4(case.as_bytes()), case.parse::<Ipv4Addr>().ok(), "{case:?}");
        }
    }

    #[test]
    fn split_ip_port_cases() {
        let cases = [
            ("10.0.0.1:80", ("10.0.0.1", Some("80"))),
            ("10.0.0.1", ("10.0.0.1", None)),
            ("10.0.0.1:", ("10.0.0.1:", None)),
            ("10.0.0.1:http", ("10.0.0.1:http", None)),
            ("[1.2.3.4]:80", ("1.2.3.4", Some("80"))),
            ("[2001:db8::1]:443", ("2001:db8::1", Some("443"))),
            ("2001:db8::1", ("2001:db8::1", None)),
            ("fe80::1:443", ("fe80::1:443", None)),
            ("a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6:123", ("a1b2:c3d4:e5f6:a7b8:c9d0:e1f2:a3b4:c5d6", Some("123"))),
            ("Mapped Ip", ("Mapped Ip", None)),
            ("1.128.0.0:80 User: johndoe", ("1.128.0.0:80 User: johndoe", None)),
        ];
        for (text, expected) in cases {
            assert_eq!(split_ip_port(text), expected, "{text}");
        }
    }
}
