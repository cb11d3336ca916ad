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

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(key: &str, name: &str, pointer: &str, keyword: &str, message: &str) -> Violation {
        Violation {
            key: key.into(),
            name: name.into(),
            instance_path: pointer.into(),
            keyword: keyword.into(),
            message: message.into(),
        }
    }

    #[test]
    fn worded_as_conf_words_them() {
        let wrong_type = violation("box.w", "w", "/box/w", "type", "must be string");
        let extra = violation(
            "box.extra",
            "extra",
            "/box",
            "additionalProperties",
            "must NOT have additional properties",
        );
        let top = violation(
            "x",
            "x",
            "",
            "additionalProperties",
            "must NOT have additional properties",
        );
        assert_eq!(wrong_type.to_string(), "`box/w` must be string");
        assert_eq!(
            extra.to_string(),
            "`box/extra` must NOT have additional properties"
        );
        assert_eq!(top.to_string(), "`x` must NOT have additional properties");
        assert_eq!(
            describe(&[wrong_type, extra]),
            "`box/w` must be string; `box/extra` must NOT have additional properties"
        );
    }
}
