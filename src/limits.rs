//! The limits a guide, a grammar and an expression must keep, and the names `--limit` sets
//! them by. Each guards a cost that grows faster than its input, in xdrmap or in a dependency
//! (pest_meta unrolls repetitions recursively, the YAML parser and the diagnostics' position
//! search are quadratic past a size, minijinja runs what it is given). The defaults are far
//! above what a device guide needs; a user who needs more raises one for a run, up to a
//! ceiling past which a known crash lies (pest_meta's stack) or a single file is no longer a
//! guide. Nesting depths are not here: they guard the stack, and no setting makes a deeper
//! nesting safe.

use std::fmt;

/// Every limit, with its default (see [`Limits::NAMES`] for what each bounds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest guide file, in bytes.
    pub guide_bytes: u64,
    /// List items (`- `) in one guide: rows, sources and vocabularies.
    pub guide_items: u64,
    /// The largest grammar file, in bytes.
    pub grammar_bytes: u64,
    /// The largest repetition bound in a grammar (`{n}`, `{n,m}`).
    pub grammar_repeat: u64,
    /// Operators (`~ | ? * + ! &`) in one grammar rule.
    pub grammar_operators: u64,
    /// How many times a rule's repetitions may expand it (each `+` counts 2, each bound its
    /// number, multiplied over the rule).
    pub grammar_expansion: u64,
    /// The longest `expr:`, in bytes.
    pub expr_bytes: u64,
    /// Instructions one expression evaluation may run (minijinja's fuel).
    pub expr_fuel: u64,
    /// Instructions one `doc` template rendering may run, per guide.
    pub template_fuel: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            guide_bytes: 1 << 20,
            guide_items: 2000,
            grammar_bytes: 256 << 10,
            grammar_repeat: 1000,
            grammar_operators: 500,
            grammar_expansion: 100_000,
            expr_bytes: 4096,
            expr_fuel: 100_000,
            template_fuel: 10_000_000,
        }
    }
}

/// One limit: its name, what it bounds, and the highest value it may be set to.
pub struct LimitName {
    /// As `--limit` takes it.
    pub name: &'static str,
    /// What it bounds, in a few words.
    pub bounds: &'static str,
    /// The highest value accepted, and why not more.
    pub ceiling: (u64, &'static str),
    field: fn(&mut Limits) -> &mut u64,
}

impl Limits {
    /// Every limit `--limit` sets.
    pub const NAMES: [LimitName; 9] = [
        LimitName {
            name: "guide-bytes",
            bounds: "size of a guide file (K, M, G suffixes)",
            ceiling: (64 << 20, "the YAML parser is quadratic in nesting"),
            field: |l| &mut l.guide_bytes,
        },
        LimitName {
            name: "guide-items",
            bounds: "list items (`- `) in one guide",
            ceiling: (100_000, "finding each problem's line is quadratic in rows"),
            field: |l| &mut l.guide_items,
        },
        LimitName {
            name: "grammar-bytes",
            bounds: "size of a .pest grammar file (K, M, G suffixes)",
            ceiling: (16 << 20, "pest_meta keeps several copies of a grammar"),
            field: |l| &mut l.grammar_bytes,
        },
        LimitName {
            name: "grammar-repeat",
            bounds: "a repetition bound {n,m} in a grammar",
            ceiling: (10_000, "pest_meta unrolls bounds recursively"),
            field: |l| &mut l.grammar_repeat,
        },
        LimitName {
            name: "grammar-operators",
            bounds: "operators in one grammar rule",
            ceiling: (1000, "pest_meta's checks grow with the cube: 1,000 alternatives take seconds"),
            field: |l| &mut l.grammar_operators,
        },
        LimitName {
            name: "grammar-expansion",
            bounds: "how far a rule's repetitions expand it",
            ceiling: (1_000_000, "pest_meta builds the expanded rule: 1,000,000 take 330 MB, 10,000,000 3 GB"),
            field: |l| &mut l.grammar_expansion,
        },
        LimitName {
            name: "expr-bytes",
            bounds: "length of an expr:",
            ceiling: (32 << 10, "minijinja's compiler recurses once per term"),
            field: |l| &mut l.expr_bytes,
        },
        LimitName {
            name: "expr-fuel",
            bounds: "instructions per expression evaluation",
            ceiling: (u64::MAX, ""),
            field: |l| &mut l.expr_fuel,
        },
        LimitName {
            name: "template-fuel",
            bounds: "instructions per doc template rendering",
            ceiling: (u64::MAX, ""),
            field: |l| &mut l.template_fuel,
        },
    ];

    /// Sets one limit from `NAME=VALUE`, as `--limit` takes it; sizes may end in K, M or G.
    ///
    /// # Errors
    /// An unknown name, a value that is not a number, zero, or one above the ceiling.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) =
            assignment.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, not '{assignment}'"))?;
        let Some(limit) = Limits::NAMES.iter().find(|l| l.name == name.trim()) else {
            let names: Vec<&str> = Limits::NAMES.iter().map(|l| l.name).collect();
            let hint = crate::diag::did_you_mean(name, names.iter().copied())
                .map_or_else(|| format!("known: {}", names.join(", ")), |n| format!("did you mean '{n}'?"));
            return Err(format!("unknown limit '{name}'; {hint}"));
        };
        let n = parse_count(value).ok_or_else(|| format!("{name}: '{value}' is not a positive number"))?;
        let (ceiling, why) = limit.ceiling;
        if n > ceiling {
            return Err(format!("{name}: at most {ceiling} ({why})"));
        }
        *(limit.field)(self) = n;
        Ok(())
    }

    /// The value of the limit named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<u64> {
        let mut copy = self.clone();
        Limits::NAMES.iter().find(|l| l.name == name).map(|l| *(l.field)(&mut copy))
    }
}

/// A positive count, with an optional K, M or G suffix (powers of 1024).
fn parse_count(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last()? {
        b'K' | b'k' => (&t[..t.len() - 1], 10),
        b'M' | b'm' => (&t[..t.len() - 1], 20),
        b'G' | b'g' => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1 << shift).filter(|&n| n > 0)
}

/// The table `--limit` help and the README show: name, default, ceiling, what it bounds.
impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for limit in &Limits::NAMES {
            let ceiling = match limit.ceiling.0 {
                u64::MAX => "-".to_string(),
                n => n.to_string(),
            };
            let value = self.get(limit.name).unwrap_or_default();
            writeln!(f, "  {:<18} {:>9}  (at most {ceiling:>8})  {}", limit.name, value, limit.bounds)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_takes_names_sizes_and_refuses_the_rest() {
        let mut l = Limits::default();
        l.set("guide-bytes=4M").unwrap();
        l.set("expr-fuel=2000000").unwrap();
        assert_eq!((l.guide_bytes, l.expr_fuel), (4 << 20, 2_000_000));
        assert_eq!(l.get("guide-bytes"), Some(4 << 20));
        assert!(l.set("guide-byte=1").unwrap_err().contains("did you mean 'guide-bytes'?"));
        assert!(l.set("grammar-repeat=100000").unwrap_err().contains("at most 10000"));
        assert!(l.set("expr-fuel=0").unwrap_err().contains("not a positive number"));
        assert!(l.set("expr-fuel").unwrap_err().contains("NAME=VALUE"));
        assert!(l.set("guide-bytes=99999999999G").is_err());
    }

    #[test]
    fn every_limit_has_one_name_and_a_default_below_its_ceiling() {
        let defaults = Limits::default();
        let mut seen = std::collections::BTreeSet::new();
        for limit in &Limits::NAMES {
            assert!(seen.insert(limit.name), "{} twice", limit.name);
            assert!(defaults.get(limit.name).unwrap() <= limit.ceiling.0, "{}", limit.name);
            // Each name sets its own field and no other.
            let mut one = Limits::default();
            one.set(&format!("{}=7", limit.name)).unwrap();
            for other in &Limits::NAMES {
                let expected = if other.name == limit.name { Some(7) } else { defaults.get(other.name) };
                assert_eq!(one.get(other.name), expected, "setting {} changed {}", limit.name, other.name);
            }
        }
    }
}
