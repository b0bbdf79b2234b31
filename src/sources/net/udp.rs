//! UDP: one datagram is one message (RFC 5426), its trailing line ending stripped. Datagrams
//! that arrive together from one sender are batched; a full queue stops the reads, and the
//! kernel's drops are read from its counter for the socket.

use super::batcher::Batcher;
use super::{Listener, Phase, Shared};
use crate::sources::framing::{Frame, Oversize, SHOWN};
use crate::sources::Batch;
use crate::syntax::Transport;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::UdpSocket;

/// Datagrams read in one go before the batches are queued (with one sender, one batch: the
/// queue of 32 batches then holds as many datagrams as the kernel buffer).
const BURST: usize = 1024;

/// Senders remembered for their message numbers; past this many the table starts afresh.
const SENDERS: usize = 4096;

/// A UDP socket with a receive buffer of (at most) `buffer` bytes; gives the size granted.
pub(super) fn bind(addr: SocketAddr, buffer: usize) -> io::Result<(UdpSocket, usize)> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    // The kernel caps the request at net.core.rmem_max; the size granted is reported.
    let _ = socket.set_recv_buffer_size(buffer);
    let granted = socket.recv_buffer_size().unwrap_or(0);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok((UdpSocket::from_std(socket.into())?, granted))
}

/// The socket's inode, as `/proc/net/udp` lists it.
pub(super) fn inode(socket: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The drops the kernel counted on the socket with `inode` (the last column of
/// `/proc/net/udp` and `/proc/net/udp6`).
pub(super) fn kernel_drops(inode: u64) -> Option<u64> {
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.len() >= 13 && cols[9].parse() == Ok(inode) {
                return cols[12].parse().ok();
            }
        }
    }
    None
}

/// Reads datagrams until the shutdown, then what the socket still holds.
pub(super) async fn serve(socket: UdpSocket, listener: Arc<Listener>, shared: Arc<Shared>) {
    let config = &shared.config;
    let mut phase = shared.phase.clone();
    let mut buf = vec![0u8; 65536];
    let mut senders: HashMap<SocketAddr, Batcher> = HashMap::new();
    let mut order: Vec<SocketAddr> = Vec::new();
    let mut spill = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            got = socket.recv_from(&mut buf) => got,
            _ = phase.wait_for(|p| *p != Phase::Running) => break,
        };
        let Ok((n, peer)) = first else { continue };
        let received = config.clock.now();
        take(&listener, &shared, &mut senders, &mut order, &mut spill, &buf[..n], peer, received);
        for _ in 1..BURST {
            let Ok((n, peer)) = socket.try_recv_from(&mut buf) else { break };
            take(&listener, &shared, &mut senders, &mut order, &mut spill, &buf[..n], peer, received);
        }
        if !queue(&mut senders, &mut order, &mut spill, &shared).await {
            return;
        }
    }
    // Draining: what the kernel still holds was sent before the shutdown, read a burst at a
    // time (queued in between) until the socket is empty or the drain is cut short.
    while *phase.borrow() == Phase::Draining {
        let received = config.clock.now();
        let mut got = 0;
        while got < BURST {
            let Ok((n, peer)) = socket.try_recv_from(&mut buf) else { break };
            take(&listener, &shared, &mut senders, &mut order, &mut spill, &buf[..n], peer, received);
            got += 1;
        }
        if !queue(&mut senders, &mut order, &mut spill, &shared).await || got < BURST {
            return;
        }
    }
}

/// One datagram into its sender's batch.
#[allow(clippy::too_many_arguments)]
fn take(
    listener: &Arc<Listener>,
    shared: &Shared,
    senders: &mut HashMap<SocketAddr, Batcher>,
    order: &mut Vec<SocketAddr>,
    spill: &mut Vec<Batch>,
    datagram: &[u8],
    peer: SocketAddr,
    received: chrono::DateTime<chrono::Utc>,
) {
    let config = &shared.config;
    listener.stats.messages.fetch_add(1, Ordering::Relaxed);
    listener.stats.bytes.fetch_add(datagram.len() as u64, Ordering::Relaxed);
    if senders.len() >= SENDERS && !senders.contains_key(&peer) {
        // A fresh table, its batches kept: they go out first, in the order heard.
        for peer in order.drain(..) {
            if let Some(batcher) = senders.get_mut(&peer) {
                batcher.cut();
                spill.append(&mut batcher.ready);
            }
        }
        senders.clear();
    }
    let batcher = senders.entry(peer).or_insert_with(|| {
        let transport = Transport::new(Arc::clone(&listener.name), "udp", peer, None);
        Batcher::new(Arc::new(transport), config.max_message, false)
    });
    if !order.contains(&peer) {
        order.push(peer);
    }
    let message = strip_line_ending(datagram);
    let frame = if message.len() <= config.max_message {
        Frame::Message(message)
    } else {
        listener.stats.oversize.fetch_add(1, Ordering::Relaxed);
        let len = Some(message.len());
        match config.oversize {
            Oversize::Reject => Frame::TooLong { start: &message[..SHOWN.min(message.len())], len },
            Oversize::Truncate => Frame::Truncated { kept: &message[..config.max_message], len },
        }
    };
    if !message.is_empty() {
        batcher.frame(frame, received);
    }
}

/// Queues the spilled batches, then every sender's, senders in the order they were heard.
async fn queue(
    senders: &mut HashMap<SocketAddr, Batcher>,
    order: &mut Vec<SocketAddr>,
    spill: &mut Vec<Batch>,
    shared: &Shared,
) -> bool {
    if !shared.send_all(spill).await {
        return false;
    }
    for peer in order.drain(..) {
        let Some(batcher) = senders.get_mut(&peer) else { continue };
        batcher.cut();
        if !shared.send_all(&mut batcher.ready).await {
            return false;
        }
    }
    true
}

/// A datagram without its trailing LF, CRLF or NUL.
fn strip_line_ending(mut d: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | b'\0'] = d {
        d = rest;
    }
    d
}
