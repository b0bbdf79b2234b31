//! "Did you mean": the closest known name to a misspelt one.

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    // The distance costs the product of the lengths: a name longer than any token or key a
    // guide uses gets no suggestion (a 10 MB name took 67 s and 2.2 GB).
    if word.len() > MAX_SUGGESTED {
        return None;
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The longest word a suggestion is looked for.
const MAX_SUGGESTED: usize = 100;

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_swaps() {
        assert_eq!(did_you_mean("sourceIPv4", ["sourceIpv4", "destinationIpv4"]), Some("sourceIpv4"));
        assert_eq!(did_you_mean("evnetTime", ["eventTime", "eventName"]), Some("eventTime"));
        assert_eq!(did_you_mean("zzz", ["eventTime"]), None);
    }
}
