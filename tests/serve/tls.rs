//! TLS for the serve tests: a CA, a server certificate and a client certificate made at test
//! time with rcgen (no key is committed), and a rustls client.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;

/// The PEM files of a test PKI, in a folder.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    client: (String, String),
    ca_der: rustls::pki_types::CertificateDer<'static>,
}

pub fn make_pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "xdrmap test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&server_key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params.distinguished_name.push(DnType::CommonName, "adc-01");
    client_params.distinguished_name.push(DnType::OrganizationName, "Example");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", &ca.pem()),
        server_cert: write("server.pem", &server.pem()),
        server_key: write("server.key", &server_key.serialize_pem()),
        client: (client.pem(), client_key.serialize_pem()),
        ca_der: ca.der().clone(),
    }
}

/// A TLS connection to `addr` (as `localhost`) trusting the test CA, with the client
/// certificate when `with_cert`.
pub fn connect(
    addr: SocketAddr,
    pki: &Pki,
    with_cert: bool,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match with_cert {
        false => builder.with_no_client_auth(),
        true => {
            let certs = rustls_pemfile::certs(&mut pki.client.0.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap();
            let key = rustls_pemfile::private_key(&mut pki.client.1.as_bytes()).unwrap().unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
    };
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}
