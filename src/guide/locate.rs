//! Finds where a guide's rows and keys stand in its YAML text, so that problems found after
//! deserialization can still name a line and column.

/// The 1-based first line of each list item under a top-level `section:`.
pub fn row_lines(text: &str, section: &str) -> Vec<usize> {
    let mut rows = Vec::new();
    let mut inside = false;
    let mut item_indent = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 0 && !trimmed.starts_with("- ") {
            inside = trimmed.strip_prefix(section).is_some_and(|rest| rest.trim_end() == ":");
            item_indent = None;
            continue;
        }
        if inside && (trimmed.starts_with("- ") || trimmed == "-") {
            let expected = *item_indent.get_or_insert(indent);
            if indent == expected {
                rows.push(i + 1);
            }
        }
    }
    rows
}

/// The 1-based line and column of `key:` within a row that starts at `row_line`.
pub fn key_position(text: &str, row_line: usize, key: &str) -> Option<(usize, usize)> {
    let mut lines = text.lines().enumerate().skip(row_line - 1);
    let (first_index, first) = lines.next()?;
    let row_indent = first.len() - first.trim_start().len();
    let check = |index: usize, line: &str| {
        let body = line.trim_start();
        let body_start = line.len() - body.len();
        let (body, offset) = match body.strip_prefix("- ") {
            Some(rest) => (rest.trim_start(), line.len() - rest.trim_start().len()),
            None => (body, body_start),
        };
        let after = body.strip_prefix(key)?;
        after.starts_with(':').then_some((index + 1, offset + 1))
    };
    if let Some(found) = check(first_index, first) {
        return Some(found);
    }
    for (index, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.len() - trimmed.len() <= row_indent {
            return None;
        }
        if let Some(found) = check(index, line) {
            return Some(found);
        }
    }
    None
}
