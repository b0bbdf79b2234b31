//! Event ids derived from where a message is stored, so that mapping it again (a redelivery
//! after a crash) gives the same `EventId`.

use uuid::Uuid;

/// The ids of a batch of messages numbered in a durable store: message `i` of the batch is
/// number `first + i` of `store`, and its event's id is the same wherever and however often it
/// is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerivedIds {
    store: u64,
    first: u64,
}

impl DerivedIds {
    /// The ids of messages `first`, `first + 1`, ... of the store named `store` (a stream).
    pub fn new(store: &str, first: u64) -> Self {
        DerivedIds { store: fnv1a(store.as_bytes()), first }
    }

    /// The id of message `i` of the batch: a version 8 UUID (RFC 9562, "custom") whose first
    /// 64 bits are a hash of the store's name and whose last 62 are the message's number.
    pub fn id(&self, i: usize) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.store.to_be_bytes());
        bytes[8..].copy_from_slice(&(self.first + i as u64).to_be_bytes());
        Uuid::new_v8(bytes)
    }
}

/// FNV-1a over `bytes`: a hash fixed by its definition, the same on every build and machine
/// (std's hashers are not), so an id derived today is the one derived after an upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same message of the same stream gets the same id; another number or another
    /// stream, another id. The hash is pinned: a change would re-id every stored message.
    #[test]
    fn ids_depend_on_the_store_and_the_number_only() {
        let a = DerivedIds::new("XDRMAP_RAW", 41);
        assert_eq!(a.id(1), DerivedIds::new("XDRMAP_RAW", 42).id(0));
        assert_ne!(a.id(1), a.id(2));
        assert_ne!(a.id(1), DerivedIds::new("OTHER", 41).id(1));
        assert_eq!(a.id(1).get_version_num(), 8);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!(a.id(1).to_string().ends_with("-8000-00000000002a"), "the number is in the last 64 bits");
    }
}
