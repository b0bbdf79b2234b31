//! The device keys a guide reads, as a table built once: a line's key is found with one hash
//! over its words and, nearly always, one comparison, where a general hash map spends a
//! hundred and more instructions per key.

/// Device key → slot: open addressing with linear probing, at most half full.
///
/// A line cannot make a lookup slow: the table holds only the guide's own keys, so a probe
/// never runs longer than the longest run of occupied buckets, which the guide fixes.
#[derive(Clone, Debug, Default)]
pub struct KeyTable {
    /// Index into `keys` plus one; 0 is an empty bucket. A power of two long (or empty).
    buckets: Vec<u32>,
    /// Each key, its hash and its slot, in the order they were added.
    keys: Vec<(Box<[u8]>, u64, u16)>,
}

impl KeyTable {
    /// The slot of `key`, if the guide reads it.
    #[inline]
    pub fn get(&self, key: &str) -> Option<u16> {
        if self.buckets.is_empty() {
            return None;
        }
        let hash = hash(key.as_bytes());
        let mask = self.buckets.len() - 1;
        let mut at = (hash >> 32) as usize & mask;
        loop {
            let index = self.buckets[at].checked_sub(1)? as usize;
            let (stored, stored_hash, slot) = &self.keys[index];
            if *stored_hash == hash && **stored == *key.as_bytes() {
                return Some(*slot);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `key` (not in the table yet) with its slot.
    pub fn insert(&mut self, key: &str, slot: u16) {
        self.keys.push((key.as_bytes().into(), hash(key.as_bytes()), slot));
        if self.keys.len() * 2 > self.buckets.len() {
            self.buckets = vec![0; (self.keys.len() * 4).next_power_of_two()];
            for index in 0..self.keys.len() {
                self.place(index);
            }
        } else {
            self.place(self.keys.len() - 1);
        }
    }

    /// Puts key `index` in the first free bucket from its hash on.
    fn place(&mut self, index: usize) {
        let mask = self.buckets.len() - 1;
        let mut at = (self.keys[index].1 >> 32) as usize & mask;
        while self.buckets[at] != 0 {
            at = (at + 1) & mask;
        }
        self.buckets[at] = index as u32 + 1;
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The hash of a key: its length and its bytes, eight at a time (FxHash's mixing step).
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word.try_into().expect("eight bytes"))).wrapping_mul(K);
    }
    let rest = words.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key added is found with its slot, at every size the table grows through, and
    /// keys it does not hold (prefixes, extensions, other cases) are not.
    #[test]
    fn finds_what_it_holds_and_nothing_else() {
        let mut table = KeyTable::default();
        assert_eq!(table.get("Source"), None);
        let keys: Vec<String> = (0..300).map(|i| format!("{}Key_{i}", "x".repeat(i % 19))).collect();
        for (slot, key) in keys.iter().enumerate() {
            table.insert(key, slot as u16);
            for (s, k) in keys[..=slot].iter().enumerate() {
                assert_eq!(table.get(k), Some(s as u16), "{k}");
            }
        }
        for key in &keys {
            for other in [&key[..key.len() - 1], &format!("{key}_"), &key.to_uppercase(), ""] {
                let held = keys.iter().position(|k| k == other).map(|s| s as u16);
                assert_eq!(table.get(other), held, "{other:?}");
            }
        }
        assert_eq!(table.len(), keys.len());
    }
}
