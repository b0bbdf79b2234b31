//! The interpreter's ops: a `.pest` expression as pest_meta optimizes it, with rule names
//! resolved to indices, built-ins to what they match, and, where no implicit blanks go
//! between items, one-byte matches fused into byte sets (`("a" | "b")*` is one loop over a
//! 128-bit set, `!(" " | ":") ~ ANY` one test).

use pest_meta::optimizer::OptimizedExpr;

/// What an expression matches, resolved.
pub(super) enum Op {
    Lit(Box<[u8]>),
    Insens(Box<[u8]>),
    Bytes(u8, u8),
    Chars(char, char),
    /// One ASCII byte of the set (bit `b` for byte `b`): a choice of one-byte matches.
    Set(u128),
    /// `set*`, where no blanks go between.
    SetRep(u128),
    /// `!set ~ ANY`: one character that does not start with a byte of the set.
    NotSet(u128),
    Any,
    Soi,
    Eoi,
    Call(u32),
    /// The items, and the sequence calls pest counts for them (one per `~` in the file).
    Seq(Box<[Op]>, u32),
    Choice(Box<[Op]>),
    Opt(Box<Op>),
    Rep(Box<Op>),
    Pos(Box<Op>),
    Neg(Box<Op>),
    SkipUntil(Box<[Box<[u8]>]>),
}

/// `e` as ops: rule names through `index`, one-byte matches fused when `fuse`. `Err` names
/// what the interpreter does not run.
pub(super) fn compile(e: &OptimizedExpr, index: &dyn Fn(&str) -> Option<u32>, fuse: bool) -> Result<Op, String> {
    Compiler { index, fuse }.op(e)
}

struct Compiler<'a> {
    index: &'a dyn Fn(&str) -> Option<u32>,
    fuse: bool,
}

impl Compiler<'_> {
    fn op(&self, e: &OptimizedExpr) -> Result<Op, String> {
        use OptimizedExpr as E;
        let boxed = |e: &E| self.op(e).map(Box::new);
        Ok(match e {
            E::Str(text) => Op::Lit(text.as_bytes().into()),
            E::Insens(text) => Op::Insens(text.as_bytes().into()),
            E::Range(from, to) => {
                let (a, b) = (first_char(from)?, first_char(to)?);
                match a.is_ascii() && b.is_ascii() {
                    true => Op::Bytes(a as u8, b as u8),
                    false => Op::Chars(a, b),
                }
            }
            E::Ident(name) => match (self.index)(name) {
                Some(rule) => Op::Call(rule),
                None => builtin(name)?,
            },
            E::Seq(..) => {
                let items = self.flatten(e)?;
                let calls = items.len() as u32 - 1;
                Op::Seq(self.fuse_items(items), calls)
            }
            E::Choice(..) => {
                let items = self.flatten(e)?;
                let set = items.iter().map(byte_set).try_fold(0, |all, one| one.map(|one| all | one));
                match set {
                    Some(set) => Op::Set(set),
                    None => Op::Choice(items.into()),
                }
            }
            E::Opt(inner) => Op::Opt(boxed(inner)?),
            E::Rep(inner) => {
                let inner = self.op(inner)?;
                match byte_set(&inner).filter(|_| self.fuse) {
                    Some(set) => Op::SetRep(set),
                    None => Op::Rep(Box::new(inner)),
                }
            }
            E::PosPred(inner) => Op::Pos(boxed(inner)?),
            E::NegPred(inner) => Op::Neg(boxed(inner)?),
            E::Skip(strings) => Op::SkipUntil(strings.iter().map(|s| s.as_bytes().into()).collect()),
            E::RestoreOnErr(inner) => self.op(inner)?,
            E::PeekSlice(..) | E::Push(_) => return Err("PUSH, PEEK or POP (the stack)".into()),
        })
    }

    /// The items of a chain of binary sequences (or choices) of the same kind as `e`, in order.
    fn flatten(&self, e: &OptimizedExpr) -> Result<Vec<Op>, String> {
        let same = |x: &OptimizedExpr| std::mem::discriminant(x) == std::mem::discriminant(e);
        let mut stack = vec![e];
        let mut items = Vec::new();
        while let Some(x) = stack.pop() {
            match x {
                OptimizedExpr::Seq(a, b) | OptimizedExpr::Choice(a, b) if same(x) => {
                    stack.push(b);
                    stack.push(a);
                }
                other => items.push(self.op(other)?),
            }
        }
        Ok(items)
    }

    /// `!set ~ ANY` as one [`Op::NotSet`], when fusing.
    fn fuse_items(&self, items: Vec<Op>) -> Box<[Op]> {
        if !self.fuse {
            return items.into();
        }
        let mut out: Vec<Op> = Vec::with_capacity(items.len());
        for item in items {
            let negated = match (out.last(), &item) {
                (Some(Op::Neg(inner)), Op::Any) => byte_set(inner),
                _ => None,
            };
            match (negated, out.last_mut()) {
                (Some(set), Some(last)) => *last = Op::NotSet(set),
                _ => out.push(item),
            }
        }
        out.into()
    }
}

/// The ASCII bytes `op` matches when it matches exactly one of them, else `None`.
fn byte_set(op: &Op) -> Option<u128> {
    let bit = |b: u8| 1u128 << b;
    match op {
        Op::Set(set) => Some(*set),
        Op::Bytes(a, b) if a <= b => Some((*a..=*b).fold(0, |set, c| set | bit(c))),
        Op::Lit(text) if text.len() == 1 && text[0].is_ascii() => Some(bit(text[0])),
        Op::Insens(text) if text.len() == 1 && text[0].is_ascii() => {
            Some(bit(text[0].to_ascii_lowercase()) | bit(text[0].to_ascii_uppercase()))
        }
        _ => None,
    }
}

fn first_char(text: &str) -> Result<char, String> {
    text.chars().next().ok_or_else(|| "an empty character range".into())
}

/// pest_vm's built-in rules, as ops.
fn builtin(name: &str) -> Result<Op, String> {
    let range = |a: u8, b: u8| Op::Bytes(a, b);
    let any_of = |ops: Vec<Op>| Op::Set(ops.iter().filter_map(byte_set).fold(0, |a, b| a | b));
    Ok(match name {
        "ANY" => Op::Any,
        "SOI" => Op::Soi,
        "EOI" => Op::Eoi,
        "ASCII_DIGIT" => range(b'0', b'9'),
        "ASCII_NONZERO_DIGIT" => range(b'1', b'9'),
        "ASCII_BIN_DIGIT" => range(b'0', b'1'),
        "ASCII_OCT_DIGIT" => range(b'0', b'7'),
        "ASCII_HEX_DIGIT" => any_of(vec![range(b'0', b'9'), range(b'a', b'f'), range(b'A', b'F')]),
        "ASCII_ALPHA_LOWER" => range(b'a', b'z'),
        "ASCII_ALPHA_UPPER" => range(b'A', b'Z'),
        "ASCII_ALPHA" => any_of(vec![range(b'a', b'z'), range(b'A', b'Z')]),
        "ASCII_ALPHANUMERIC" => any_of(vec![range(b'a', b'z'), range(b'A', b'Z'), range(b'0', b'9')]),
        "ASCII" => range(0, 0x7f),
        "NEWLINE" => {
            Op::Choice(vec![Op::Lit(b"\n"[..].into()), Op::Lit(b"\r\n"[..].into()), Op::Lit(b"\r"[..].into())].into())
        }
        "PEEK" | "PEEK_ALL" | "POP" | "POP_ALL" | "DROP" => return Err(format!("{name} (the stack)")),
        // Unicode properties (pest's `by_name` gives closures that are not `Send`).
        _ => return Err(format!("the built-in rule {name}")),
    })
}
