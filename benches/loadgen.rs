//! A syslog load generator for `benches/serve.sh`: sends the lines of a corpus over TCP or TLS
//! (octet counting or LF framing, over several connections) or UDP (at a given rate), and
//! counts exactly what it sent. It also writes a test PKI for the TLS run.
//!
//!   loadgen pki DIR
//!   loadgen send --to tcp://ADDR|tls://ADDR|udp://ADDR --file CORPUS [--count N]
//!                [--connections C] [--framing octet|lf] [--rate MSGS_PER_S] [--ca FILE]
//!
//! Prints `sent N messages B bytes S seconds`. (Run through `cargo bench --bench loadgen --`,
//! which adds a `--bench` argument that is ignored.)

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("pki") => pki(Path::new(&args[1])),
        Some("send") => send(&args[1..]),
        _ => {
            eprintln!("usage: loadgen pki DIR | loadgen send --to PROTO://ADDR --file CORPUS [options]");
            std::process::exit(2);
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

/// A CA and a server certificate for `localhost` and 127.0.0.1, as PEM files in `dir`.
fn pki(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    std::fs::create_dir_all(dir).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "xdrmap bench CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = CertificateParams::new(names).unwrap().signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

fn send(args: &[String]) {
    let to = flag(args, "--to").expect("--to PROTO://ADDR");
    let (proto, addr) = to.split_once("://").expect("--to PROTO://ADDR");
    let addr: SocketAddr = addr.parse().expect("an IP:PORT");
    let corpus = std::fs::read(flag(args, "--file").expect("--file CORPUS")).unwrap();
    let lines: Vec<&[u8]> = corpus.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let count: usize = flag(args, "--count").map_or(lines.len(), |n| n.parse().unwrap());
    let connections: usize = flag(args, "--connections").map_or(1, |n| n.parse().unwrap());
    let octet = flag(args, "--framing").unwrap_or("octet") == "octet";
    let start = Instant::now();
    let (sent, bytes) = match proto {
        "udp" => udp(addr, &lines, count, flag(args, "--rate").map(|r| r.parse().unwrap())),
        "tcp" | "tls" => {
            let ca = (proto == "tls").then(|| flag(args, "--ca").expect("--ca FILE for tls").to_string());
            streams(addr, &lines, count, connections, octet, ca)
        }
        other => panic!("unknown protocol {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    println!("sent {sent} messages {bytes} bytes {secs:.3} seconds");
}

/// Each connection's share of the messages, framed, written as fast as the server takes them.
fn streams(
    addr: SocketAddr,
    lines: &[&[u8]],
    count: usize,
    connections: usize,
    octet: bool,
    ca: Option<String>,
) -> (usize, usize) {
    let config = ca.map(|ca| client_config(Path::new(&ca)));
    // Message i goes to connection i % connections; all framed before the first is sent.
    let framed: Vec<(usize, Vec<u8>)> = (0..connections)
        .map(|c| {
            let mut framed = Vec::new();
            let mut sent = 0;
            for i in (c..count).step_by(connections) {
                let line = lines[i % lines.len()];
                if octet {
                    framed.extend_from_slice(format!("{} ", line.len()).as_bytes());
                    framed.extend_from_slice(line);
                } else {
                    framed.extend_from_slice(line);
                    framed.push(b'\n');
                }
                sent += 1;
            }
            (sent, framed)
        })
        .collect();
    started();
    let senders: Vec<_> = framed
        .into_iter()
        .map(|(sent, framed)| {
            let config = config.clone();
            std::thread::spawn(move || {
                let tcp = TcpStream::connect(addr).unwrap();
                tcp.set_nodelay(true).unwrap();
                match config {
                    None => {
                        write_all(&tcp, &framed);
                        close(&tcp, &tcp);
                    }
                    Some(config) => {
                        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                        let conn = rustls::ClientConnection::new(config, name).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, tcp);
                        write_all(&mut tls, &framed);
                        tls.conn.send_close_notify();
                        tls.flush().unwrap();
                        let tcp = tls.sock.try_clone().unwrap();
                        close(&tcp, &mut tls);
                    }
                }
                (sent, framed.len())
            })
        })
        .collect();
    senders.into_iter().map(|s| s.join().unwrap()).fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
}

/// Ends the connection the way that loses nothing: no more writes, then whatever the server
/// still sends (TLS session tickets) read until it closes. Closing with unread data would send
/// a reset, and a reset makes the server's kernel drop what it has not yet handed over.
fn close(tcp: &TcpStream, mut r: impl std::io::Read) {
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let mut buf = [0u8; 4096];
    while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
}

/// Says on stderr when sending starts (seconds since the epoch), for the bench's clock: the
/// framing before it is the generator's work, not the server's.
fn started() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    eprintln!("started {:.6}", now.as_secs_f64());
}

fn write_all(mut w: impl Write, data: &[u8]) {
    for piece in data.chunks(256 * 1024) {
        w.write_all(piece).unwrap();
    }
    w.flush().unwrap();
}

fn client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    let pem = std::fs::read(ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Datagrams at `rate` per second (as fast as possible without one).
fn udp(addr: SocketAddr, lines: &[&[u8]], count: usize, rate: Option<f64>) -> (usize, usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    started();
    let start = Instant::now();
    let mut bytes = 0;
    for i in 0..count {
        let line = lines[i % lines.len()];
        socket.send_to(line, addr).unwrap();
        bytes += line.len();
        if let Some(rate) = rate {
            if i % 64 == 0 {
                let due = Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
    }
    (count, bytes)
}
