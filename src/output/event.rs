//! The parts of an event that are more than `"token":value`: typed values, the object of keys
//! no row maps (a repeated key becomes an array), and the array of fields that failed.

use super::json::{write_key, write_str, write_u64};
use crate::guide::plan::KeyHasher;
use crate::value::Value;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash};

/// Appends a value as JSON: a string, a number, or an RFC 3339 time.
pub fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Str(s) => write_str(out, s),
        Value::UInt(n) => write_u64(out, *n),
        Value::Time(t) => {
            out.push(b'"');
            crate::value::time::write_time(out, t);
            out.push(b'"');
        }
        Value::Stamp(stamp) => {
            out.push(b'"');
            out.extend_from_slice(stamp);
            out.push(b'"');
        }
        Value::Uuid(id) => {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            write_str(out, id.hyphenated().encode_lower(&mut buf));
        }
    }
}

/// Up to this many unmapped values are grouped on the stack; more (a hostile line) in a map.
const SMALL_GROUPING: usize = 64;

/// Appends `"name":{…}` with one member per distinct key among `items`, in first-seen order;
/// a key seen more than once gets an array of its values, in line order. `key` gives an
/// item's grouping key, `label` writes the member name it is written under (`"name":`),
/// `value` writes its value.
pub fn write_unmapped<T, K: Hash + Eq>(
    out: &mut Vec<u8>,
    first: &mut bool,
    name: &str,
    items: &[T],
    key: impl Fn(&T) -> K,
    label: impl Fn(&T, &mut Vec<u8>),
    value: impl Fn(&T, &mut Vec<u8>),
) {
    if items.is_empty() {
        return;
    }
    write_key(out, first, name);
    out.push(b'{');
    let mut inner_first = true;
    let mut write_group = |out: &mut Vec<u8>, group: &[u32]| {
        let Some(&head) = group.first() else { return };
        if !inner_first {
            out.push(b',');
        }
        inner_first = false;
        label(&items[head as usize], out);
        if group.len() > 1 {
            out.push(b'[');
        }
        for (k, &i) in group.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            value(&items[i as usize], out);
        }
        if group.len() > 1 {
            out.push(b']');
        }
    };
    if items.len() <= SMALL_GROUPING {
        group_small(items, &key, |group| write_group(out, group));
    } else {
        group_large(items, &key, |group| write_group(out, group));
    }
    out.push(b'}');
}

/// Every ordinary line: groups at most [`SMALL_GROUPING`] items in a small open-addressing
/// table on the stack, no allocation. Each key's first item heads its group; `next` chains
/// the group in line order. `each` gets the groups in first-seen order.
fn group_small<T, K: Hash + Eq>(items: &[T], key: &impl Fn(&T) -> K, mut each: impl FnMut(&[u32])) {
    let hasher = BuildHasherDefault::<KeyHasher>::default();
    let mut table = [u32::MAX; 2 * SMALL_GROUPING];
    let mut next = [u32::MAX; SMALL_GROUPING];
    let mut last = [0u32; SMALL_GROUPING];
    let mut heads = [false; SMALL_GROUPING];
    for (p, item) in items.iter().enumerate() {
        let k = key(item);
        let mut h = hasher.hash_one(&k) as usize % table.len();
        loop {
            match table[h] {
                u32::MAX => {
                    table[h] = p as u32;
                    heads[p] = true;
                    last[p] = p as u32;
                    break;
                }
                q if key(&items[q as usize]) == k => {
                    next[last[q as usize] as usize] = p as u32;
                    last[q as usize] = p as u32;
                    break;
                }
                _ => h = (h + 1) % table.len(),
            }
        }
    }
    let mut group = [0u32; SMALL_GROUPING];
    for head in (0..items.len()).filter(|&p| heads[p]) {
        let (mut len, mut p) = (0, head as u32);
        while p != u32::MAX {
            group[len] = p;
            len += 1;
            p = next[p as usize];
        }
        each(&group[..len]);
    }
}

/// Many items (a hostile line): groups by key in first-seen order, in linear time.
fn group_large<T, K: Hash + Eq>(items: &[T], key: &impl Fn(&T) -> K, mut each: impl FnMut(&[u32])) {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    // The keys are the line's, many and chosen by whoever wrote it: a keyed hash, so that no
    // line can make them collide (the plan's fast hash spreads only by a key's first bytes).
    let mut index: HashMap<K, usize, std::hash::RandomState> = HashMap::default();
    for (i, item) in items.iter().enumerate() {
        let g = *index.entry(key(item)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i as u32);
    }
    for group in &groups {
        each(group);
    }
}

/// One entry of an event's errors array: a field that failed its type.
pub struct ErrorEntry<'e> {
    /// The token the field would have written.
    pub token: &'e str,
    /// The source it read (`Nat_ip`, `@timestamp`, `expr`).
    pub source: &'e str,
    /// The value, as the device wrote it.
    pub value: &'e str,
    /// Why it failed.
    pub error: &'e str,
}

/// Appends `"name":[{"token":…,"source":…,"value":…,"error":…},…]`, nothing when there are none.
pub fn write_errors<'e>(
    out: &mut Vec<u8>,
    first: &mut bool,
    name: &str,
    errors: impl ExactSizeIterator<Item = ErrorEntry<'e>>,
) {
    if errors.len() == 0 {
        return;
    }
    write_key(out, first, name);
    out.push(b'[');
    for (i, e) in errors.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut f = true;
        out.push(b'{');
        write_key(out, &mut f, "token");
        write_str(out, e.token);
        write_key(out, &mut f, "source");
        write_str(out, e.source);
        write_key(out, &mut f, "value");
        write_str(out, e.value);
        write_key(out, &mut f, "error");
        write_str(out, e.error);
        out.push(b'}');
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Name;
    use std::hash::{BuildHasher, Hasher};

    /// Keys of eight bytes that the plan's fast hash ([`KeyHasher`]) sends to one probe
    /// sequence of a table of up to 2^17 buckets: the low bits of its hash depend only on a
    /// key's first bytes and on the top five bits of an intermediate state.
    fn colliding_keys(n: usize) -> Vec<String> {
        let state = |key: &str| {
            let mut h = KeyHasher::default();
            1isize.hash(&mut h); // the discriminant of `Name::Key`
            h.write(key.as_bytes());
            h.finish()
        };
        (0u64..).map(|i| format!("Kx{:06x}", i % (1 << 24))).filter(|k| state(k) >> 59 == 0).take(n).collect()
    }

    /// Both groupings give the same groups in the same order, on every size the small one takes.
    #[test]
    fn the_groupings_agree() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..=SMALL_GROUPING {
            for _ in 0..20 {
                let keys: Vec<u64> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed % (1 + len as u64 / 3)
                    })
                    .collect();
                let key = |k: &u64| *k;
                let (mut small, mut large) = (Vec::new(), Vec::new());
                group_small(&keys, &key, |g| small.push(g.to_vec()));
                group_large(&keys, &key, |g| large.push(g.to_vec()));
                assert_eq!(small, large, "{keys:?}");
            }
        }
    }

    /// Grouping a hostile line's unmapped keys stays linear: 300,000 keys that collide
    /// under the fast hash took 419 s in a debug build when the grouping used it (a line of
    /// 1 MiB holds about 100,000 such keys).
    #[test]
    fn colliding_unmapped_keys_are_grouped_in_linear_time() {
        let keys = colliding_keys(300_000);
        let fast = BuildHasherDefault::<KeyHasher>::default();
        let low = |k: &String| fast.hash_one(Name::Key(k)) & ((1 << 17) - 1);
        assert!(keys.iter().all(|k| low(k) == low(&keys[0])), "the keys collide under the fast hash");
        let started = std::time::Instant::now();
        let (mut out, mut first) = (Vec::new(), true);
        let items: Vec<u32> = (0..keys.len() as u32).collect();
        let key = |&i: &u32| Name::Key(keys[i as usize].as_str());
        let label = |&i: &u32, out: &mut Vec<u8>| write_key(out, &mut true, &keys[i as usize]);
        write_unmapped(&mut out, &mut first, "_unmapped", &items, key, label, |_, out| out.push(b'#'));
        let took = started.elapsed();
        assert_eq!(out.iter().filter(|&&b| b == b'#').count(), keys.len(), "one value per key");
        assert!(took < std::time::Duration::from_secs(5), "grouping took {took:?}");
    }
}
