//! Network listeners as a source: syslog over UDP (RFC 5426), TCP and TLS (RFC 6587 framing,
//! RFC 5425). Listeners run on a tokio runtime the caller owns; every connection (and every
//! UDP socket) hands its messages, in arrival order, to one bounded queue that
//! [`Listeners::next_batch`] drains from the synchronous pipeline. A full queue stops TCP and
//! TLS reads, so the kernel pushes back on the senders; UDP cannot push back, and what the
//! kernel drops is counted from its own counter.

mod batcher;
mod stream;
mod tls;
mod udp;

pub use tls::TlsFiles;

use super::framing::Oversize;
use super::{Batch, Clock, Pool, ReadError, Source};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

/// Batches waiting for the pipeline, at most. With messages of at most `max_message` bytes and
/// reads of [`READ_BYTES`], the queue holds at most `QUEUE_BATCHES × (READ_BYTES + max_message)`.
pub const QUEUE_BATCHES: usize = 32;

/// The most a connection reads at once (and so the most one batch of lines holds).
pub const READ_BYTES: usize = 256 * 1024;

/// How long a connection stays open for more data once a shutdown began: it is closed after
/// this long without any.
const DRAIN_QUIET: Duration = Duration::from_millis(200);

/// What to listen on and how to read it.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// UDP sockets.
    pub udp: Vec<SocketAddr>,
    /// TCP listeners.
    pub tcp: Vec<SocketAddr>,
    /// TLS listeners (with `tls`).
    pub tls: Vec<SocketAddr>,
    /// The server certificate and key, and the CA that client certificates must chain to.
    pub tls_files: Option<TlsFiles>,
    /// The longest message taken whole.
    pub max_message: usize,
    /// What becomes of a longer one.
    pub oversize: Oversize,
    /// Whether a line that does not begin a message is joined to the message before it.
    pub join_continuations: bool,
    /// Connections open at once, over every TCP and TLS listener; more are refused.
    pub max_connections: usize,
    /// Connections open at once from one address; more from it are refused (so that one
    /// host cannot take every slot).
    pub max_connections_per_peer: usize,
    /// A connection with nothing to read for this long is closed.
    pub idle_timeout: Duration,
    /// TCP keepalive probes start after this long idle.
    pub keepalive: Duration,
    /// The receive buffer asked for on UDP sockets.
    pub udp_receive_buffer: usize,
    /// Where receive times come from.
    pub clock: Clock,
}

/// What one listener has seen, for the metrics and the summary.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Messages received (every frame, mapped or rejected).
    pub messages: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections refused (past `--max-connections`, or a failed TLS handshake).
    pub refused: AtomicU64,
    /// Messages cut to `--max-message` or rejected for it.
    pub oversize: AtomicU64,
    /// The receive buffer the kernel granted (UDP).
    pub receive_buffer: AtomicU64,
}

/// One bound listener.
#[derive(Debug)]
pub struct Listener {
    /// Its name, as `tcp://127.0.0.1:1514` (with the port the system chose for port 0).
    pub name: Arc<str>,
    /// `udp`, `tcp` or `tls`.
    pub protocol: &'static str,
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// What it has seen.
    pub stats: ListenerStats,
    /// The socket's inode, to find its drop counter in `/proc/net/udp` (UDP on Linux).
    inode: Option<u64>,
}

impl Listener {
    fn new(protocol: &'static str, addr: SocketAddr, inode: Option<u64>) -> Arc<Self> {
        let name = Arc::from(format!("{protocol}://{addr}"));
        Arc::new(Listener { name, protocol, addr, stats: ListenerStats::default(), inode })
    }

    /// Datagrams the kernel dropped on this UDP socket because its buffer was full, when the
    /// system says (`/proc/net/udp`, `/proc/net/udp6`).
    pub fn kernel_drops(&self) -> Option<u64> {
        udp::kernel_drops(self.inode?)
    }
}

/// Where the listeners are in their life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Accepting and reading.
    Running,
    /// Not accepting; reading what the senders had sent, then closing.
    Draining,
    /// Closing every connection at once.
    Aborting,
    /// The pipeline is gone (its output failed): nothing more is queued.
    Closed,
}

/// What the listeners share: the queue, the shutdown signal, the limits and the counters.
struct Shared {
    queue: mpsc::Sender<Batch>,
    phase: watch::Receiver<Phase>,
    config: NetConfig,
    /// Connections open over every TCP and TLS listener.
    open: AtomicU64,
    /// Connections open per peer address.
    per_peer: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    /// Batches in the queue.
    depth: Arc<AtomicU64>,
}

impl Shared {
    /// Takes a connection slot for `peer`, within both limits; false when either is reached.
    fn admit(&self, peer: std::net::IpAddr) -> bool {
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.config.max_connections as u64 {
            self.open.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        let mut per_peer = self.per_peer.lock().unwrap_or_else(|e| e.into_inner());
        let n = per_peer.entry(peer).or_insert(0);
        if *n >= self.config.max_connections_per_peer {
            self.open.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back the slot [`Shared::admit`] took.
    fn release(&self, peer: std::net::IpAddr) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        let mut per_peer = self.per_peer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_peer.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                per_peer.remove(&peer);
            }
        }
    }

    /// Queues every batch of `ready`, in order; false once the pipeline is gone.
    async fn send_all(&self, ready: &mut Vec<Batch>) -> bool {
        for batch in ready.drain(..) {
            if !self.send(batch).await {
                return false;
            }
        }
        true
    }

    /// Queues a batch, waiting while the queue is full; false once the pipeline is gone.
    async fn send(&self, batch: Batch) -> bool {
        self.depth.fetch_add(1, Ordering::Relaxed);
        let mut phase = self.phase.clone();
        let sent = tokio::select! {
            sent = self.queue.send(batch) => sent.is_ok(),
            _ = phase.wait_for(|p| *p == Phase::Closed) => false,
        };
        if !sent {
            self.depth.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }
}

/// Stops the listeners and tells what they have seen.
pub struct Control {
    listeners: Vec<Arc<Listener>>,
    phase: watch::Sender<Phase>,
    depth: Arc<AtomicU64>,
    /// Connections the drain timeout closed, plus one (0: no abort).
    aborted: AtomicU64,
}

impl Control {
    /// The bound listeners, in the order they were given (UDP, TCP, then TLS).
    pub fn listeners(&self) -> &[Arc<Listener>] {
        &self.listeners
    }

    /// Batches waiting in the queue.
    pub fn queue_depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Stops accepting connections; open connections and UDP sockets are read until they have
    /// been quiet for a moment (what the senders had sent is taken), then closed. The source
    /// ends once everything read has been handed out.
    pub fn shutdown(&self) {
        self.advance(Phase::Draining);
    }

    /// Moves the listeners on to `to`, never back.
    fn advance(&self, to: Phase) {
        self.phase.send_if_modified(|phase| {
            let was = *phase;
            *phase = was.max(to);
            *phase != was
        });
    }

    /// Whether a shutdown was asked for.
    pub fn is_stopping(&self) -> bool {
        *self.phase.borrow() != Phase::Running
    }

    /// Closes every connection still open at once (past the drain timeout), and says how many
    /// it closed; what they had not sent is lost, what was read is still handed out (a frame
    /// cut off is rejected as such).
    pub fn abort(&self) -> u64 {
        let open: u64 = self.listeners.iter().map(|l| l.stats.open.load(Ordering::SeqCst)).sum();
        self.aborted.store(open + 1, Ordering::SeqCst);
        self.advance(Phase::Aborting);
        open
    }

    /// The pipeline cannot take more (its output failed): every listener stops at once and
    /// the source ends, so that the run ends too.
    pub fn close(&self) {
        self.phase.send_replace(Phase::Closed);
    }

    /// How many connections [`Control::abort`] closed, when it was called.
    pub fn aborted(&self) -> Option<u64> {
        self.aborted.load(Ordering::SeqCst).checked_sub(1)
    }
}

/// The source end of the listeners: batches in arrival order per connection.
pub struct Listeners {
    queue: mpsc::Receiver<Batch>,
    depth: Arc<AtomicU64>,
}

impl Source for Listeners {
    fn next_batch(&mut self, _pool: &Pool) -> Option<Result<Batch, ReadError>> {
        let batch = self.queue.blocking_recv()?;
        self.depth.fetch_sub(1, Ordering::Relaxed);
        Some(Ok(batch))
    }
}

/// Binds every listener of `config` (all or none: an address that cannot be bound fails the
/// whole, before anything is read) and starts them on `runtime`.
///
/// # Errors
/// An address that cannot be bound, or TLS files that cannot be read, named in the message.
pub fn listen(config: NetConfig, runtime: &Handle) -> Result<(Listeners, Control), String> {
    let _entered = runtime.enter();
    let tls = match (&config.tls_files, config.tls.is_empty()) {
        (_, true) => None,
        (Some(files), false) => Some(tls::acceptor(files)?),
        (None, false) => return Err("--tls needs --tls-cert and --tls-key".into()),
    };
    let mut udp_sockets = Vec::new();
    for &addr in &config.udp {
        udp_sockets.push(udp::bind(addr, config.udp_receive_buffer).map_err(|e| bind_error("udp", addr, &e))?);
    }
    let mut tcp_listeners = Vec::new();
    for (&addr, protocol) in config.tcp.iter().map(|a| (a, "tcp")).chain(config.tls.iter().map(|a| (a, "tls"))) {
        tcp_listeners.push((protocol, stream::bind(addr).map_err(|e| bind_error(protocol, addr, &e))?));
    }
    let (queue, rx) = mpsc::channel(QUEUE_BATCHES);
    let (phase, phase_rx) = watch::channel(Phase::Running);
    let depth = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Shared {
        queue,
        phase: phase_rx,
        config,
        open: AtomicU64::new(0),
        per_peer: Default::default(),
        depth: Arc::clone(&depth),
    });
    let mut listeners = Vec::new();
    for (socket, granted) in udp_sockets {
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let listener = Listener::new("udp", addr, udp::inode(&socket));
        listener.stats.receive_buffer.store(granted as u64, Ordering::Relaxed);
        listeners.push(Arc::clone(&listener));
        tokio::spawn(udp::serve(socket, listener, Arc::clone(&shared)));
    }
    for (protocol, socket) in tcp_listeners {
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let listener = Listener::new(protocol, addr, None);
        listeners.push(Arc::clone(&listener));
        let tls = if protocol == "tls" { tls.clone() } else { None };
        tokio::spawn(stream::accept(socket, listener, tls, Arc::clone(&shared)));
    }
    let control = Control { listeners, phase, depth: Arc::clone(&depth), aborted: AtomicU64::new(0) };
    Ok((Listeners { queue: rx, depth }, control))
}

fn bind_error(protocol: &str, addr: SocketAddr, e: &io::Error) -> String {
    format!("cannot listen on {protocol}://{addr}: {e}")
}
