//! Buffers handed back after use: batches and their events reuse memory instead of asking
//! the allocator, and the kernel, for fresh pages each time (which also kept peak memory
//! creeping up on long runs, as freed blocks fragmented).

use std::sync::Mutex;

/// Buffers larger than this (a batch with a huge line) go back to the allocator.
const KEEP_BYTES: usize = 8 << 20;

/// A bounded stack of free byte buffers, shared by the threads of a run.
pub struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    limit: usize,
}

impl Pool {
    /// A pool that keeps at most `limit` free buffers.
    pub fn new(limit: usize) -> Self {
        Pool { free: Mutex::new(Vec::new()), limit }
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self.free.lock().ok().and_then(|mut free| free.pop()).unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    /// Hands a buffer back for reuse.
    pub fn give(&self, buf: Vec<u8>) {
        if buf.capacity() > KEEP_BYTES {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.limit {
                free.push(buf);
            }
        }
    }
}
