//! Limits a guide's text must keep before the YAML parser sees it. A guide is data that may
//! come from anyone: 200 KB of `[` took the YAML parser 28 s (its flow nesting is quadratic),
//! and hundreds of thousands of rows made the diagnostics' position search take minutes.
//! The Citrix guide: 22 KB, 40 rows, flow nesting 2 deep.

use crate::diag::{Code, Diagnostic};
use crate::limits::Limits;

/// How deep `[` and `{` may nest (the YAML parser's stack; not a setting).
pub const MAX_FLOW_NESTING: usize = 32;

/// The first limit the text breaks, with its place.
pub fn check(text: &str, limits: &Limits) -> Option<Diagnostic> {
    if text.len() as u64 > limits.guide_bytes {
        let most = limits.guide_bytes;
        let message = format!("the guide is {} bytes; at most {most} are read (--limit guide-bytes)", text.len());
        return Some(Diagnostic::new(Code::Limit, message).at(1, 1));
    }
    let (mut depth, mut rows) = (0usize, 0usize);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("- ") || trimmed == "-" {
            rows += 1;
            if rows as u64 > limits.guide_items {
                let most = limits.guide_items;
                let message = format!(
                    "the guide has more than {most} list items; split it into several guides (--limit guide-items)"
                );
                return Some(Diagnostic::new(Code::Limit, message).at(i + 1, 1 + line.len() - trimmed.len()));
            }
        }
        let mut quote = None;
        for (col, c) in line.char_indices() {
            match (quote, c) {
                (None, '#') if col == 0 || line[..col].ends_with(' ') => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_NESTING {
                        let message = format!("brackets nest more than {MAX_FLOW_NESTING} deep");
                        return Some(Diagnostic::new(Code::Limit, message).at(i + 1, col + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_past_the_limits_are_refused_with_their_place() {
        let defaults = Limits::default();
        let deep = format!("guide: x\nfields: {}", "[".repeat(200_000));
        let d = check(&deep, &defaults).unwrap();
        assert_eq!((d.code, d.location.line), (Code::Limit, Some(2)));
        let many = format!("fields:\n{}", "  - { token: a }\n".repeat(2001));
        assert!(check(&many, &defaults).unwrap().message.contains("more than 2000 list items"));
        let big = "#".repeat(defaults.guide_bytes as usize + 1);
        assert!(check(&big, &defaults).unwrap().message.contains("bytes; at most"));
        // A user who needs more says so.
        let mut more = Limits::default();
        more.set("guide-items=3000").unwrap();
        more.set("guide-bytes=2M").unwrap();
        assert!(check(&many, &more).is_none() && check(&big, &more).is_none());
    }

    #[test]
    fn the_citrix_guide_keeps_them() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/citrix_loadbalancer/guide.yaml"));
        assert!(check(&text.unwrap(), &Limits::default()).is_none());
        // Brackets in quotes and comments do not count.
        let quoted = "a: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\" # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n";
        assert!(check(quoted, &Limits::default()).is_none());
    }
}
