//! What ajv says, in the order it says it. conf (and so electron-store) validates with
//! `Ajv2020` and `allErrors`, and joins the messages with `; `: an app that switched
//! reads the same words, in the same order, naming the same items. The validator is the
//! `jsonschema` crate; this module only words and orders what it finds.

use jsonschema::ValidationError;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Keywords ajv runs whatever the value's type, in its order (`RULES.rules[0]` of
/// `Ajv2020`; printed from ajv 8 with `new Ajv2020().RULES`).
const ANY_TYPE: &[&str] = &[
    "$ref",
    "$dynamicRef",
    "const",
    "enum",
    "not",
    "anyOf",
    "oneOf",
    "allOf",
    "if",
    "then",
    "else",
];

/// Then one group per type, each run only for a value of that type, in ajv's order.
/// (`format` is in ajv's number group too; it is only ever used on strings here.)
const TYPE_GROUPS: &[(&str, &[&str])] = &[
    (
        "number",
        &[
            "maximum",
            "minimum",
            "exclusiveMaximum",
            "exclusiveMinimum",
            "multipleOf",
        ],
    ),
    ("string", &["maxLength", "minLength", "pattern", "format"]),
    (
        "array",
        &[
            "maxItems",
            "minItems",
            "prefixItems",
            "additionalItems",
            "items",
            "contains",
            "uniqueItems",
            "maxContains",
            "minContains",
            "unevaluatedItems",
        ],
    ),
    (
        "object",
        &[
            "maxProperties",
            "minProperties",
            "required",
            "propertyNames",
            "additionalProperties",
            "dependencies",
            "properties",
            "patternProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        ],
    ),
];

/// Where ajv runs `keyword` of `holder` among its siblings; lower runs first.
fn rank(keyword: &str, holder: &Map<String, Value>) -> usize {
    let mut order = ANY_TYPE
        .iter()
        .chain(TYPE_GROUPS.iter().flat_map(|(_, keywords)| keywords.iter()));
    match keyword {
        // ajv checks the type before every keyword, except one type whose group of
        // keywords the schema uses: that is reported in the group's place.
        "type" => match holder.get("type") {
            Some(Value::String(name)) => TYPE_GROUPS
                .iter()
                .find(|(group, keywords)| {
                    group == name && keywords.iter().any(|k| holder.contains_key(*k))
                })
                .map_or(0, |(_, keywords)| rank(keywords[0], holder) - 1),
            _ => 0,
        },
        _ => order
            .position(|k| *k == keyword)
            .map_or(usize::MAX, |p| 2 * (p + 1)),
    }
}

fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Where a violation falls in ajv's order, and the schema object holding the keyword
/// that failed. `base` is the schema the validator was compiled from; the paths are the
/// error's evaluation path (through `$ref`s) and instance path, relative to it; `resolve`
/// reads the target of a `$ref`.
///
/// ajv walks depth first: at each level the keywords in `rank` order, the properties of
/// `properties` in the schema's order, the items of an array in index order. The key is
/// that walk's position, so sorting by it (stably) puts violations in ajv's order.
pub fn locate<'s>(
    base: &'s Value,
    evaluation_path: &str,
    instance_path: &str,
    resolve: &dyn Fn(&str) -> Option<&'s Value>,
) -> (Vec<usize>, Option<&'s Value>) {
    let path = tokens(evaluation_path);
    let instance = tokens(instance_path);
    let mut depth = 0;
    let mut schema = base;
    let mut key = Vec::new();
    let mut i = 0;
    while let (Some(keyword), Some(holder)) = (path.get(i), schema.as_object()) {
        key.push(rank(keyword, holder));
        let Some(next_token) = path.get(i + 1) else {
            return (key, Some(schema));
        };
        let child = holder.get(keyword.as_str());
        let mut by_index = |list: Option<&'s Value>, descends: bool| {
            let index: usize = next_token.parse().unwrap_or(usize::MAX);
            key.push(index);
            depth += usize::from(descends);
            i += 1;
            list.and_then(|l| l.get(index))
        };
        let next = match keyword.as_str() {
            "properties" | "patternProperties" | "dependentSchemas" => {
                let map = child.and_then(Value::as_object);
                key.push(
                    map.and_then(|m| m.keys().position(|k| k == next_token))
                        .unwrap_or(usize::MAX),
                );
                depth += usize::from(keyword != "dependentSchemas");
                i += 1;
                map.and_then(|m| m.get(next_token))
            }
            "allOf" | "anyOf" | "oneOf" => by_index(child, false),
            "prefixItems" => by_index(child, true),
            "items" | "additionalItems" if child.is_some_and(Value::is_array) => {
                by_index(child, true)
            }
            "items" | "additionalItems" | "unevaluatedItems" | "contains" => {
                key.push(
                    instance
                        .get(depth)
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                );
                depth += 1;
                child
            }
            // Their keys come in the value's order, which is the validator's too.
            "additionalProperties" | "unevaluatedProperties" => {
                depth += 1;
                child
            }
            "$ref" | "$dynamicRef" => child.and_then(Value::as_str).and_then(resolve),
            _ => child,
        };
        match next {
            Some(next) => schema = next,
            None => break,
        }
        i += 1;
    }
    (key, None)
}

/// What ajv (and so conf and electron-store) says of a failed keyword, so an app that
/// switched from electron-store reads the words it knows: one message per error, or one
/// per key a rule about keys refuses (named beside it). `holder` is the schema object
/// holding the failed keyword (for the types as written, the items `uniqueItems` names).
/// Never quotes the value, which may be a secret.
pub fn messages(
    error: &ValidationError<'_>,
    holder: Option<&Value>,
) -> Vec<(Option<String>, String)> {
    use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
    let one = |message: String| vec![(None, message)];
    let per_key = |names: &[String], message: &str| {
        names
            .iter()
            .map(|name| (Some(name.clone()), message.to_string()))
            .collect()
    };
    match error.kind() {
        Kind::Type { kind } => one(format!(
            "must be {}",
            match (kind, holder.and_then(|h| h.get("type"))) {
                (_, Some(Value::Array(written))) => written
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                (TypeKind::Single(t), _) => t.to_string(),
                (TypeKind::Multiple(set), _) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            }
        )),
        Kind::Enum { .. } => one("must be equal to one of the allowed values".into()),
        Kind::Constant { .. } => one("must be equal to constant".into()),
        Kind::Maximum { limit } => one(format!("must be <= {limit}")),
        Kind::Minimum { limit } => one(format!("must be >= {limit}")),
        Kind::ExclusiveMaximum { limit } => one(format!("must be < {limit}")),
        Kind::ExclusiveMinimum { limit } => one(format!("must be > {limit}")),
        Kind::MultipleOf { multiple_of } => one(format!("must be multiple of {multiple_of}")),
        Kind::MaxLength { limit } => one(format!("must NOT have more than {limit} characters")),
        Kind::MinLength { limit } => one(format!("must NOT have fewer than {limit} characters")),
        Kind::MaxItems { limit } => one(format!("must NOT have more than {limit} items")),
        Kind::AdditionalItems { limit } => one(format!("must NOT have more than {limit} items")),
        Kind::MinItems { limit } => one(format!("must NOT have fewer than {limit} items")),
        Kind::MaxProperties { limit } => one(format!("must NOT have more than {limit} properties")),
        Kind::MinProperties { limit } => {
            one(format!("must NOT have fewer than {limit} properties"))
        }
        Kind::UniqueItems => one(match error.instance().as_array() {
            Some(items) => {
                let item_schema = holder.and_then(|h| h.get("items"));
                let (j, i) = duplicate_items(items, item_schema).unwrap_or_default();
                format!("must NOT have duplicate items (items ## {j} and {i} are identical)")
            }
            None => "must NOT have duplicate items".into(),
        }),
        Kind::Pattern { pattern } => one(format!("must match pattern \"{pattern}\"")),
        Kind::Format { format } => one(format!("must match format \"{format}\"")),
        Kind::Required { property } => one(format!(
            "must have required property '{}'",
            property.as_str().unwrap_or_default()
        )),
        Kind::AdditionalProperties { unexpected } => {
            per_key(unexpected, "must NOT have additional properties")
        }
        Kind::UnevaluatedProperties { unexpected } => {
            per_key(unexpected, "must NOT have unevaluated properties")
        }
        Kind::UnevaluatedItems { .. } => one("must NOT have unevaluated items".into()),
        Kind::AnyOf { .. } => one("must match a schema in anyOf".into()),
        Kind::OneOfNotValid { .. } | Kind::OneOfMultipleValid { .. } => {
            one("must match exactly one schema in oneOf".into())
        }
        Kind::Not { .. } => one("must NOT be valid".into()),
        Kind::FalseSchema => one("boolean schema is false".into()),
        Kind::Contains => one("must contain at least 1 valid item(s)".into()),
        Kind::PropertyNames { .. } => one("property name must be valid".into()),
        // The rest (content, custom keywords, regex limits) as jsonschema words them.
        _ => one(error.masked().to_string()),
    }
}

/// The two items ajv names in its `uniqueItems` message, `(j, i)` as it prints them. ajv
/// scans from the end: with item types known to be scalars it remembers each item's last
/// index and stops at the first repeat (so `j` is the later index); otherwise it compares
/// each item with every earlier one (so `j` is the earlier index). Items of another type
/// than the schema allows are skipped in the first scan, as ajv skips them.
fn duplicate_items(items: &[Value], item_schema: Option<&Value>) -> Option<(usize, usize)> {
    let types: Vec<&str> = match item_schema.and_then(|s| s.get("type")) {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let scalars = !types.is_empty() && !types.iter().any(|t| *t == "object" || *t == "array");
    if scalars {
        let mut last: HashMap<String, usize> = HashMap::new();
        for i in (0..items.len()).rev() {
            let item = &items[i];
            if !types.iter().any(|t| is_type(item, t)) {
                continue;
            }
            if let Some(&j) = last.get(&scalar_key(item)) {
                return Some((j, i));
            }
            last.insert(scalar_key(item), i);
        }
        return None;
    }
    (0..items.len()).rev().find_map(|i| {
        (0..i)
            .rev()
            .find(|&j| same(&items[i], &items[j]))
            .map(|j| (j, i))
    })
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value
            .as_f64()
            .is_some_and(|n| n.fract() == 0.0 && n.is_finite()),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    }
}

/// Scalars are the same item when their type and value are (numbers by value: `1` is `1.0`).
fn scalar_key(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("n:{:?}", n.as_f64().map(|f| f + 0.0)),
        other => format!("{other}"),
    }
}

/// JSON equality as ajv's `fast-deep-equal` sees it: numbers by value, objects by their
/// keys in any order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(v: Value) -> Vec<Value> {
        v.as_array().unwrap().clone()
    }

    #[test]
    fn duplicates_are_named_as_ajv_names_them() {
        let integers = json!({ "type": "integer" });
        // Scalar scan from the end: the later index first.
        assert_eq!(
            duplicate_items(&list(json!([1, 1, 2, "a"])), Some(&integers)),
            Some((1, 0))
        );
        assert_eq!(
            duplicate_items(&list(json!([2, 1, 2])), Some(&integers)),
            Some((2, 0))
        );
        assert_eq!(
            duplicate_items(&list(json!([1.0, 1])), Some(&integers)),
            Some((1, 0))
        );
        // Items of a type the schema does not allow are not compared.
        assert_eq!(
            duplicate_items(&list(json!(["a", "a", 1])), Some(&integers)),
            None
        );
        let mixed = json!({ "type": ["string", "number"] });
        assert_eq!(
            duplicate_items(&list(json!(["1", 1, "1", true])), Some(&mixed)),
            Some((2, 0))
        );
        // Any items: every pair, the earlier index first.
        assert_eq!(
            duplicate_items(&list(json!([1, "1", {"a": [1]}, 1, {"a": [1.0]}])), None),
            Some((2, 4))
        );
        assert_eq!(
            duplicate_items(&list(json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])), None),
            Some((0, 1))
        );
        assert_eq!(duplicate_items(&list(json!([[1], [2]])), None), None);
    }

    #[test]
    fn keywords_rank_in_ajv_order() {
        let holder = |v: Value| v.as_object().unwrap().clone();
        let array =
            holder(json!({ "type": "array", "uniqueItems": true, "maxItems": 3, "items": {} }));
        assert!(rank("maxItems", &array) < rank("items", &array));
        assert!(rank("items", &array) < rank("uniqueItems", &array));
        // One type with its group's keywords: reported in the group, after `enum`.
        let string = holder(json!({ "type": "string", "enum": ["a"], "minLength": 2 }));
        assert!(rank("enum", &string) < rank("type", &string));
        assert!(rank("type", &string) < rank("minLength", &string));
        // Otherwise the type comes first.
        let plain = holder(json!({ "type": "string", "enum": ["a"] }));
        assert!(rank("type", &plain) < rank("enum", &plain));
        let integer = holder(json!({ "type": "integer", "minimum": 5 }));
        assert!(rank("type", &integer) < rank("minimum", &integer));
    }

    #[test]
    fn a_violation_is_located_along_ajv_walk() {
        let schema = json!({
            "type": "object",
            "properties": {
                "b": { "type": "array", "items": { "$ref": "#/$defs/flag" } },
                "a": { "type": "string" }
            },
            "required": ["z"],
            "$defs": { "flag": { "type": "boolean" } }
        });
        let resolve = |r: &str| schema.pointer(r.strip_prefix('#').unwrap_or(r));
        let (item, holder) = locate(&schema, "/properties/b/items/$ref/type", "/b/3", &resolve);
        assert_eq!(holder, Some(&json!({ "type": "boolean" })));
        let (later_item, _) = locate(&schema, "/properties/b/items/$ref/type", "/b/10", &resolve);
        let (a, _) = locate(&schema, "/properties/a/type", "/a", &resolve);
        let (required, _) = locate(&schema, "/required", "", &resolve);
        assert!(required < item, "required runs before properties");
        assert!(item < later_item, "items in index order, 3 before 10");
        assert!(item < a, "properties in the schema's order: b before a");
    }
}
