//! A schema violation, as errors carry it and conf words it. A leaf: errors and the
//! schema both use it, and it uses neither.

use std::fmt;

/// One way a document fails the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where, in dot notation (`settings.theme`; empty for the whole store).
    pub key: String,
    /// The last key of `key`: the property a rule about keys (`additionalProperties`)
    /// refuses.
    pub name: String,
    /// Where, as a JSON pointer (`/settings/theme`), as ajv reports it.
    pub instance_path: String,
    /// The schema keyword that failed (`type`, `required`, `enum`, …).
    pub keyword: String,
    pub message: String,
}

impl fmt::Display for Violation {
    /// conf's form: the key as ajv's path (`/`-separated, no leading `/`), and for a rule
    /// about keys the key it refuses beside its level (`o/y`), then ajv's message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self
            .instance_path
            .strip_prefix('/')
            .unwrap_or(&self.instance_path)
            .split('/')
            .map(|part| part.replace("~1", "/").replace("~0", "~"))
            .collect::<Vec<_>>()
            .join("/");
        match self.keyword.as_str() {
            "additionalProperties" | "unevaluatedProperties" => {
                let key = if level.is_empty() {
                    self.name.clone()
                } else {
                    format!("{level}/{}", self.name)
                };
                write!(f, "`{key}` {}", self.message)
            }
            _ => write!(f, "`{level}` {}", self.message),
        }
    }
}

/// Describes violations for an error message.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
