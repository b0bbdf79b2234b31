//! The registry of stable codes: every diagnostic, reject reason and field error has one, with
//! an explicit number that is never reused for another meaning.
//!
//! The letter says the class: `E` an error in a guide or grammar (nothing is mapped), `W` a
//! warning (the plan still compiles), `R` why a line was rejected, `F` why a field of an event
//! failed its type, `Q` why a QQL query does not compile. Numbers are unique across classes:
//! `E0xx` reading guides, `E1xx` compiling them, `W2xx` grammar lints, `R3xx` rejected
//! lines, `F4xx` field errors, `Q5xx` queries.

use std::fmt;

/// Whether a diagnostic stops the compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Nothing is mapped until it is fixed.
    Error,
    /// Worth fixing; the plan compiles all the same.
    Warning,
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $number:literal, $name:literal;)*) => {
        /// A stable code. `number` and `name` never change once published.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[doc = $doc])* $variant = $number,)*
        }

        impl Code {
            /// Every code, in number order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// A short snake-case name, for metrics labels and logs.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// What the code means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => concat!($($doc),*).trim_ascii(),)*
                }
            }
        }
    };
}

codes! {
    /// A guide or grammar file cannot be read.
    Read = 1, "read";
    /// The YAML is malformed or does not have the guide's shape.
    Yaml = 2, "yaml";
    /// No guide was found where one was expected.
    NoGuide = 3, "no_guide";
    /// Two guides share a name.
    DuplicateGuide = 4, "duplicate_guide";
    /// A row writes a token the data model does not know.
    UnknownToken = 101, "unknown_token";
    /// Two rows write the same token.
    DuplicateToken = 102, "duplicate_token";
    /// A type name is not one of the known types.
    UnknownType = 103, "unknown_type";
    /// A row's type disagrees with its token's type in the model.
    TypeMismatch = 104, "type_mismatch";
    /// A row must say exactly one way to get its value.
    ValueSource = 105, "value_source";
    /// The guide names a grammar that is not loaded.
    UnknownGrammar = 106, "unknown_grammar";
    /// A row reads `@field` that the grammar never produces.
    UnknownGrammarField = 107, "unknown_grammar_field";
    /// A sample value does not pass its row's type.
    BadSample = 108, "bad_sample";
    /// An expression does not compile.
    ExprSyntax = 109, "expr_syntax";
    /// An expression reads a variable that is not a token of the guide.
    ExprUndefined = 110, "expr_undefined";
    /// A row asks for a run-time parameter that does not exist.
    UnknownParam = 111, "unknown_param";
    /// A row asks for a generator that does not exist.
    UnknownGenerator = 112, "unknown_generator";
    /// A transform cannot produce the row's type, or a mapped value is not in the vocabulary.
    Transform = 113, "transform";
    /// An option value is not one of the accepted ones.
    BadOption = 114, "bad_option";
    /// An output name of the guide collides with a token.
    NameCollision = 115, "name_collision";
    /// A grammar file does not load (pest syntax or validation error, no `line` rule).
    Grammar = 116, "grammar";
    /// A guide, grammar or expression is past one of xdrmap's size limits.
    Limit = 117, "limit";
    /// In a grammar, an optional part can swallow what follows it.
    PegSwallow = 201, "peg_swallow";
    /// The line does not fit the grammar.
    Syntax = 301, "syntax";
    /// The grammar gave up on the line at one of its limits (rule calls), not at a mismatch.
    GrammarLimit = 302, "grammar_limit";
    /// The line fits the grammar, but no guide claims it.
    Unclaimed = 303, "unclaimed";
    /// A CEF line whose vendor and product no guide claims.
    UnclaimedCef = 304, "unclaimed_cef";
    /// A network message was longer than `--max-message` (and `--oversize reject`).
    TooLong = 305, "too_long";
    /// A network message was cut off when its connection closed.
    CutOff = 306, "cut_off";
    /// A line was longer than `--max-line`; its start is kept.
    LineTooLong = 307, "line_too_long";
    /// A value is not a time the field can read.
    NotATime = 401, "not_a_time";
    /// A value is not an IP address.
    NotAnIp = 402, "not_an_ip";
    /// A value is not a port (0-65535).
    NotAPort = 403, "not_a_port";
    /// A value is not an unsigned integer.
    NotAnInteger = 404, "not_an_integer";
    /// A value is not one of the token's values.
    NotInVocabulary = 405, "not_in_vocabulary";
    /// A transform could not read the value.
    TransformFailed = 406, "transform_failed";
    /// An expression failed while it was evaluated.
    ExprFailed = 407, "expr_failed";
    /// A time written without its year got the receive time's: the value is written, flagged.
    YearGuessed = 408, "year_guessed";
    /// An address of the other family than an `ipv4`/`ipv6` token's: not an error, it is left
    /// for the sibling token (a sample or constant of the wrong family is refused with it).
    OtherIpFamily = 409, "other_ip_family";
    /// A QQL query does not parse.
    QuerySyntax = 501, "query_syntax";
    /// A QQL clause names a token the data model does not know.
    QueryUnknownToken = 502, "query_unknown_token";
    /// A QQL value cannot be of its token's type (`sourcePort: abc`).
    QueryBadValue = 503, "query_bad_value";
    /// A QQL operator the token's type does not have (a range on a string).
    QueryBadOperator = 504, "query_bad_operator";
}

impl Code {
    /// The code's number.
    pub fn number(self) -> u16 {
        self as u16
    }

    /// The class letter: `E`, `W`, `R`, `F` or `Q`.
    pub fn letter(self) -> char {
        match self.number() {
            0..=199 => 'E',
            200..=299 => 'W',
            300..=399 => 'R',
            400..=499 => 'F',
            _ => 'Q',
        }
    }

    /// How a diagnostic with this code weighs: warnings do not stop a compile.
    pub fn severity(self) -> Severity {
        if self.letter() == 'W' {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    /// `E101`, `W201`, `R301`, `F402`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:03}", self.letter(), self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn no_number_or_name_repeats() {
        let numbers: BTreeSet<u16> = Code::ALL.iter().map(|c| c.number()).collect();
        let names: BTreeSet<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(numbers.len(), Code::ALL.len());
        assert_eq!(names.len(), Code::ALL.len());
        assert!(Code::ALL.windows(2).all(|w| w[0] < w[1]), "ALL is in number order");
        assert!(Code::ALL.iter().all(|c| !c.meaning().is_empty()));
    }

    /// Published codes keep their rendering: users grep for them, metrics are labelled with them.
    #[test]
    fn published_codes_are_stable() {
        let published = [
            (Code::Read, "E001"),
            (Code::Yaml, "E002"),
            (Code::DuplicateGuide, "E004"),
            (Code::UnknownToken, "E101"),
            (Code::Grammar, "E116"),
            (Code::PegSwallow, "W201"),
            (Code::Syntax, "R301"),
            (Code::UnclaimedCef, "R304"),
            (Code::NotAnIp, "F402"),
            (Code::ExprFailed, "F407"),
        ];
        for (code, text) in published {
            assert_eq!(code.to_string(), text);
        }
        assert_eq!(Code::PegSwallow.severity(), Severity::Warning);
        assert_eq!(Code::UnknownToken.severity(), Severity::Error);
    }
}
