//! The message bus, NATS JetStream: how to reach it, the streams xdrmap keeps there, and the
//! headers a raw message carries. The JetStream source and sink (`sources::jetstream`,
//! `sinks::jetstream`) share one [`Bus`]: a client and a small tokio runtime of its own, which
//! the synchronous pipeline's threads block on.

pub mod raw;

use async_nats::jetstream::{self, stream};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// The stream and subjects raw messages go to, as `serve --nats` publishes them.
pub const RAW_STREAM: &str = "XDRMAP_RAW";
/// The stream and subjects of events.
pub const EVENTS_STREAM: &str = "XDRMAP_EVENTS";
/// The stream and subjects of rejects.
pub const REJECTS_STREAM: &str = "XDRMAP_REJECTS";

/// Headers of a raw message: when and how it was received.
pub mod headers {
    /// The receive time, RFC 3339 to the millisecond.
    pub const RECEIVED: &str = "Xdrmap-Received";
    /// The sender, `ip:port` (`[ip]:port` for IPv6).
    pub const PEER: &str = "Xdrmap-Peer";
    /// The listener, as `tcp://0.0.0.0:1514`.
    pub const LISTENER: &str = "Xdrmap-Listener";
    /// `udp`, `tcp` or `tls`.
    pub const PROTOCOL: &str = "Xdrmap-Protocol";
    /// A TLS client's certificate subject.
    pub const TLS_SUBJECT: &str = "Xdrmap-Tls-Subject";
}

/// How to reach the servers, and how to make the streams that are missing.
#[derive(Clone, Debug, Default)]
pub struct BusConfig {
    /// Server URLs (`nats://host:4222`, `tls://host:4222`), any of a cluster.
    pub servers: Vec<String>,
    /// A credentials file (JWT and NKey seed), as `nsc` writes it.
    pub creds: Option<PathBuf>,
    /// User and password.
    pub user: Option<(String, String)>,
    /// A token.
    pub token: Option<String>,
    /// The CA that the servers' certificates chain to; TLS is then required.
    pub tls_ca: Option<PathBuf>,
    /// Require TLS even without a CA of our own (the system's roots).
    pub tls: bool,
    /// Replicas of a stream xdrmap creates (1, or 3 on a cluster).
    pub replicas: usize,
    /// How long a stream xdrmap creates keeps a message (zero: for ever).
    pub max_age: Duration,
    /// The window in which a stream drops a message whose `Nats-Msg-Id` it has seen.
    pub duplicate_window: Duration,
}

/// A stream: its name and the subjects it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSpec {
    /// The stream's name.
    pub name: String,
    /// The subjects it holds (`xdrmap.raw.>`).
    pub subjects: String,
}

/// A connection to the bus, with the runtime that drives it.
pub struct Bus {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: BusConfig,
}

impl Bus {
    /// Connects to the first server of `config` that answers (the client then learns the
    /// cluster and reconnects on its own).
    ///
    /// # Errors
    /// When no server can be reached, or the credentials or certificates cannot be read.
    pub fn connect(config: &BusConfig) -> Result<Bus, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("xdrmap-bus")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the bus runtime: {e}"))?;
        let client = runtime.block_on(connect(config))?;
        // The context spawns its acknowledgement task on the runtime it is made in.
        let _entered = runtime.enter();
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(Duration::from_secs(10));
        Ok(Bus { runtime, client, jetstream, config: config.clone() })
    }

    /// Runs `future` to its end on the bus's runtime (from a thread outside it).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The runtime's handle, to spawn on it.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// The client.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The stream `spec` names, created with the configured replicas, age and duplicate
    /// window when it is missing (an existing stream is used as it is).
    ///
    /// # Errors
    /// When the server refuses (JetStream off, no permission, a subject another stream holds).
    pub fn ensure_stream(&self, spec: &StreamSpec) -> Result<stream::Stream, String> {
        let config = stream::Config {
            name: spec.name.clone(),
            subjects: vec![spec.subjects.clone()],
            num_replicas: self.config.replicas.max(1),
            max_age: self.config.max_age,
            duplicate_window: self.config.duplicate_window,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        self.block_on(self.jetstream.get_or_create_stream(config))
            .map_err(|e| format!("cannot open or create the stream {}: {e}", spec.name))
    }

    /// The stream that holds `subject`, which xdrmap publishes `what` to: checked at start-up,
    /// since a publish no stream holds is never acknowledged (and a consumer's raw message
    /// would be delivered again for ever).
    ///
    /// # Errors
    /// When no stream holds it, saying what would be right.
    pub fn stream_holding(&self, subject: &str, what: &str, expected: &str) -> Result<String, String> {
        self.block_on(self.jetstream.stream_by_subject(subject)).map_err(|e| {
            format!(
                "no stream holds the {what} subject '{subject}' ({e}): publishes to it would never be acknowledged; \
                 give a subject under {expected}, or create a stream that holds it"
            )
        })
    }

    /// The stream that holds `subject`, which xdrmap publishes events or rejects (`what`) to,
    /// checked as [`Bus::stream_holding`] does and, besides, not one of the `raw` streams: the
    /// workers would map their own output.
    ///
    /// # Errors
    /// When no stream holds it, or a raw stream does, saying what would be right.
    pub fn output_stream(&self, subject: &str, what: &str, expected: &str, raw: &[&str]) -> Result<String, String> {
        let held = self.stream_holding(subject, what, expected)?;
        if raw.contains(&held.as_str()) {
            return Err(format!(
                "the {what} subject '{subject}' is in the raw stream {held}: the workers would map their own output; give a subject under {expected}"
            ));
        }
        Ok(held)
    }

    /// Sends what the client holds to the server.
    ///
    /// # Errors
    /// When the connection is gone.
    pub fn flush(&self) -> Result<(), String> {
        self.block_on(self.client.flush()).map_err(|e| format!("cannot reach the bus: {e}"))
    }
}

/// A bus address as `map` takes it: servers, comma-separated, and after the last one an
/// optional `/NAME` (a stream to read, a subject to publish to):
/// `nats://n1:4222,nats://n2:4222/XDRMAP_RAW`. Gives the servers and the name.
///
/// # Errors
/// When a server is not a `nats://` or `tls://` URL, or the name is empty.
pub fn split_address(address: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut servers = Vec::new();
    let mut name = None;
    for part in address.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((scheme, rest)) = part.split_once("://") else {
            return Err(format!("'{part}' is not a NATS server URL (nats://host:port or tls://host:port)"));
        };
        if !matches!(scheme, "nats" | "tls") {
            return Err(format!("'{part}': the scheme must be nats:// or tls://"));
        }
        let (host, path) = rest.split_once('/').map_or((rest, None), |(h, p)| (h, Some(p)));
        if let Some(path) = path {
            if path.is_empty() || name.is_some() {
                return Err(format!("'{address}': give one /NAME, after the last server"));
            }
            name = Some(path.to_string());
        }
        servers.push(format!("{scheme}://{host}"));
    }
    if servers.is_empty() {
        return Err(format!("'{address}' names no NATS server"));
    }
    Ok((servers, name))
}

/// Whether `text` is a bus address rather than a file name.
pub fn is_address(text: &str) -> bool {
    text.starts_with("nats://") || text.starts_with("tls://")
}

/// Connects with the configured authentication and TLS.
async fn connect(config: &BusConfig) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .name("xdrmap")
        .connection_timeout(Duration::from_secs(5))
        .retry_on_initial_connect()
        .max_reconnects(None);
    if let Some(path) = &config.creds {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    }
    if let Some((user, password)) = &config.user {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if let Some(ca) = &config.tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    } else if config.tls {
        options = options.require_tls(true);
    }
    let servers: Vec<async_nats::ServerAddr> = config
        .servers
        .iter()
        .map(|s| s.parse().map_err(|e| format!("'{s}' is not a NATS server URL: {e}")))
        .collect::<Result<_, _>>()?;
    // retry_on_initial_connect returns at once and connects in the background: wait for the
    // first connection, within a bound, so that a wrong address is an error, not a hang.
    let client = options.connect(servers).await.map_err(|e| format!("cannot connect to the bus: {e}"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while client.connection_state() != async_nats::connection::State::Connected {
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "cannot connect to the bus at {}: no server answered within 10 s",
                config.servers.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(client)
}
