//! Fields the transport gives every line it delivers, beside the grammar's: the sender's address
//! and port, the listener and protocol, a TLS client's certificate subject. A guide reads them
//! as `@peer_ip` and so on; they are never taken from the line, so a line cannot forge them.

use std::net::SocketAddr;
use std::sync::Arc;

/// The transport fields, in the order of [`Transport::value`].
pub const FIELDS: [&str; 5] = ["peer_ip", "peer_port", "listener", "transport", "tls_subject"];

/// Where a network message came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transport {
    /// The listener, as `tcp://127.0.0.1:1514`.
    pub listener: Arc<str>,
    /// `udp`, `tcp` or `tls`.
    pub protocol: &'static str,
    /// The sender's address.
    pub peer: SocketAddr,
    /// The subject of the client's certificate (TLS with client certificates), as
    /// `CN=adc-01,O=Example`.
    pub tls_subject: Option<String>,
    /// The sender's address and port, as text.
    ip: String,
    port: String,
}

impl Transport {
    /// The transport of a message from `peer` on `listener`.
    pub fn new(listener: Arc<str>, protocol: &'static str, peer: SocketAddr, tls_subject: Option<String>) -> Self {
        // An IPv4 peer on a dual-stack socket is written as IPv4.
        let ip = match peer.ip() {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            v4 => v4.to_string(),
        };
        Transport { listener, protocol, peer, tls_subject, ip, port: peer.port().to_string() }
    }

    /// The value of field `index` of [`FIELDS`], when it has one.
    pub fn value(&self, index: usize) -> Option<&str> {
        match index {
            0 => Some(&self.ip),
            1 => Some(&self.port),
            2 => Some(&self.listener),
            3 => Some(self.protocol),
            4 => self.tls_subject.as_deref(),
            _ => None,
        }
    }

    /// The sender as `ip:port` (`[ip]:port` for IPv6).
    pub fn peer_text(&self) -> String {
        match self.ip.contains(':') {
            true => format!("[{}]:{}", self.ip, self.port),
            false => format!("{}:{}", self.ip, self.port),
        }
    }
}

/// The index of a transport field by its name.
pub fn field(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| *f == name)
}
