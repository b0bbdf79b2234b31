//! TCP and TLS: accepting connections within the limits, and reading each as a stream of
//! RFC 6587 frames into batches, in order, waiting while the queue is full.

use super::batcher::Batcher;
use super::{Listener, Phase, Shared, DRAIN_QUIET, READ_BYTES};
use crate::sources::framing::Framer;
use crate::syntax::Transport;
use socket2::{SockRef, TcpKeepalive};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// How long a continuation may take to follow its message (`--join-continuations`) before the
/// message is handed out alone.
const JOIN_WAIT: Duration = Duration::from_millis(20);

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listening TCP socket (address reuse on, a deep backlog).
pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until the shutdown, each read by a task of its own.
pub(super) async fn accept(
    socket: TcpListener,
    listener: Arc<Listener>,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let mut phase = shared.phase.clone();
    let mut draining = false;
    loop {
        let accepted = match draining {
            // Connections the kernel had already set up were sent to before the shutdown:
            // take them (to be drained like the others), then stop listening.
            true => match tokio::time::timeout(Duration::from_millis(1), socket.accept()).await {
                Ok(accepted) => accepted,
                Err(_) => return,
            },
            false => tokio::select! {
                biased;
                accepted = socket.accept() => accepted,
                now = phase.wait_for(|p| *p != Phase::Running) => {
                    draining = now.is_ok_and(|p| *p == Phase::Draining);
                    if !draining {
                        return;
                    }
                    continue;
                }
            },
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(_) if draining => return,
            // Out of descriptors or a connection reset before it was taken: go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !shared.admit(peer.ip()) {
            listener.stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        }
        listener.stats.accepted.fetch_add(1, Ordering::Relaxed);
        listener.stats.open.fetch_add(1, Ordering::Relaxed);
        let keepalive = TcpKeepalive::new().with_time(shared.config.keepalive);
        let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
        let _ = stream.set_nodelay(true);
        let (listener, shared, tls) = (Arc::clone(&listener), Arc::clone(&shared), tls.clone());
        tokio::spawn(async move {
            connection(stream, peer, &listener, tls, &shared).await;
            listener.stats.open.fetch_sub(1, Ordering::Relaxed);
            shared.release(peer.ip());
        });
    }
}

/// One connection: the TLS handshake when there is one, then its frames until it closes.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: &Arc<Listener>,
    tls: Option<TlsAcceptor>,
    shared: &Shared,
) {
    let Some(acceptor) = tls else {
        let transport = Transport::new(Arc::clone(&listener.name), listener.protocol, peer, None);
        return read_frames(stream, transport, listener, shared).await;
    };
    let mut phase = shared.phase.clone();
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => handshake.ok(),
        _ = phase.wait_for(|p| *p >= Phase::Aborting) => None,
    };
    let Some(Ok(stream)) = handshake else {
        // No certificate when one is required, a bad one, or no handshake at all.
        listener.stats.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let subject = stream.get_ref().1.peer_certificates().and_then(|certs| super::tls::subject(certs.first()?));
    let transport = Transport::new(Arc::clone(&listener.name), listener.protocol, peer, subject);
    read_frames(stream, transport, listener, shared).await
}

/// Reads a stream's frames into batches and queues them, until the peer closes, it stays idle
/// past the timeout, or the shutdown has drained it.
async fn read_frames(mut stream: impl AsyncRead + Unpin, transport: Transport, listener: &Listener, shared: &Shared) {
    let config = &shared.config;
    let mut framer = Framer::new(config.max_message, config.oversize);
    let mut batcher = Batcher::new(Arc::new(transport), config.max_message, config.join_continuations);
    let mut phase = shared.phase.clone();
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        let now = *phase.borrow_and_update();
        if now >= Phase::Aborting {
            break;
        }
        let draining = now == Phase::Draining;
        let wait = match (batcher.holding(), draining) {
            (true, _) => JOIN_WAIT,
            (false, true) => DRAIN_QUIET,
            (false, false) => config.idle_timeout,
        };
        let read = tokio::select! {
            read = tokio::time::timeout(wait, stream.read(&mut buf)) => read,
            changed = phase.changed() => match changed {
                Ok(()) => continue,
                // The listeners' control is gone: nobody is left to stop them.
                Err(_) => break,
            },
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            // The wait for a continuation is over: the held message goes out alone.
            Err(_) if batcher.holding() => {
                batcher.release();
                0
            }
            // Idle past the timeout, or quiet while draining.
            Err(_) => break,
        };
        let received = config.clock.now();
        listener.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        framer.push(&buf[..n], &mut |frame| {
            count(listener, &frame);
            batcher.frame(frame, received);
        });
        if !batcher.holding() {
            batcher.cut();
        }
        if !shared.send_all(&mut batcher.ready).await {
            return;
        }
    }
    let received = config.clock.now();
    framer.finish(&mut |frame| {
        count(listener, &frame);
        batcher.frame(frame, received);
    });
    batcher.release();
    batcher.cut();
    shared.send_all(&mut batcher.ready).await;
}

/// Counts a frame on its listener.
fn count(listener: &Listener, frame: &crate::sources::framing::Frame<'_>) {
    use crate::sources::framing::Frame;
    listener.stats.messages.fetch_add(1, Ordering::Relaxed);
    if matches!(frame, Frame::Truncated { .. } | Frame::TooLong { .. }) {
        listener.stats.oversize.fetch_add(1, Ordering::Relaxed);
    }
}
