//! The data model: the Qualys Context XDR tokens a guide may write, each with its type and
//! meaning (`mappings/model/xdr.yaml`, built into the binary). Guides are checked against it;
//! queries and enrichment look tokens up in it.

use crate::value::Type;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The text of the built-in model.
pub const MODEL_TEXT: &str = include_str!("../mappings/model/xdr.yaml");

/// A token as the model file (or a guide's `tokens:` section) writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// One of [`Type::NAMES`].
    #[serde(rename = "type")]
    pub ty: String,
    /// The vocabulary of an `enum`.
    #[serde(default)]
    pub values: Vec<String>,
    /// What the token means.
    #[serde(default)]
    pub description: Option<String>,
}

/// The model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    tokens: BTreeMap<String, TokenSpec>,
}

/// One token of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenDef {
    /// The type of its values.
    pub ty: Type,
    /// What it means.
    pub description: Option<String>,
}

/// The tokens guides may write, by name.
#[derive(Clone, Debug, Default)]
pub struct Model {
    tokens: BTreeMap<String, TokenDef>,
}

impl Model {
    /// The model built into the binary (parsed once; a test holds it valid).
    pub fn builtin() -> &'static Model {
        static BUILTIN: once_cell::sync::Lazy<Model> =
            once_cell::sync::Lazy::new(|| Model::parse(MODEL_TEXT).expect("the built-in model is valid (tested)"));
        &BUILTIN
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// What is wrong with it: malformed YAML, or a token with an unknown type.
    pub fn parse(text: &str) -> Result<Model, String> {
        let spec: ModelSpec = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut tokens = BTreeMap::new();
        for (name, token) in spec.tokens {
            let ty = Type::from_name(&token.ty, &token.values)
                .ok_or_else(|| format!("token '{name}' has unknown type '{}'", token.ty))?;
            tokens.insert(name, TokenDef { ty, description: token.description });
        }
        Ok(Model { tokens })
    }

    /// The token named `name`.
    pub fn get(&self, name: &str) -> Option<&TokenDef> {
        self.tokens.get(name)
    }

    /// Every token, by name.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, &TokenDef)> {
        self.tokens.iter().map(|(name, def)| (name.as_str(), def))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_is_valid_and_typed() {
        let model = Model::parse(MODEL_TEXT).unwrap();
        assert_eq!(model.get("eventTime").map(|t| &t.ty), Some(&Type::Timestamp));
        assert_eq!(model.get("sourcePort").map(|t| &t.ty), Some(&Type::Port));
        assert!(model.tokens().count() >= 32, "every token of the Citrix guide");
        assert!(model.tokens().all(|(_, t)| t.description.as_deref().is_some_and(|d| !d.is_empty())));
        assert!(Model::parse("tokens:\n  x: { type: colour }\n").unwrap_err().contains("unknown type 'colour'"));
    }
}
