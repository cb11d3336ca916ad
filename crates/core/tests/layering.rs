//! The house rules, read from the sources:
//!
//! - The engine's modules form no cycle: each depends only on modules that do not depend
//!   back on it (the crate root, which declares them all, and test code aside). A module
//!   depends on another when its non-test code names it through `super::` or `crate::`.
//!   The same holds among the rooms of `engine/`.
//! - No non-test Rust file, in the core or the binding, is over 900 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The part of a source file that is not its unit tests.
fn non_test(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// The names `code` reaches through `prefix` (`super::{a, b::c}` or `super::a`).
fn named_after(code: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        for (at, _) in line.match_indices(prefix) {
            let rest = &line[at + prefix.len()..];
            let list: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![rest],
            };
            for n in list {
                let n: String = n
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(n);
            }
        }
    }
    names
}

/// `.rs` files of `dir` by module name, without `lib`/`mod` and `tests`.
fn sources(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_some_and(|e| e == "rs")
            && !["lib", "mod", "tests"].contains(&name.as_str())
        {
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crate's modules; a directory module (`engine/`) is one node, its rooms' code
/// counted as its own.
fn crate_graph() -> Graph {
    let mut texts: BTreeMap<String, String> = sources(&src());
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let code: String = sources(&path)
                .values()
                .map(|t| non_test(t).to_string())
                .collect();
            texts.insert(name, code);
        }
    }
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    let mut deps = Graph::new();
    for (name, text) in &texts {
        let code = non_test(text);
        let mut named = BTreeSet::new();
        let mut reached = named_after(code, "crate::");
        if !Path::new(&src().join(name)).is_dir() {
            reached.extend(named_after(code, "super::"));
        }
        for n in reached {
            if modules.contains(&n) && n != *name {
                named.insert(n);
            }
        }
        deps.insert(name.clone(), named);
    }
    deps
}

/// The rooms of one directory module, by what they name through `super::`.
fn rooms_graph(dir: &str) -> Graph {
    let texts = sources(&src().join(dir));
    let rooms: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .map(|(name, text)| {
            let named = named_after(non_test(text), "super::")
                .into_iter()
                .filter(|n| rooms.contains(n) && n != name)
                .collect();
            (name.clone(), named)
        })
        .collect()
}

fn assert_acyclic(deps: &Graph) {
    // Depth-first search for a path back to where it started.
    fn back_to(
        start: &str,
        at: &str,
        deps: &Graph,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in &deps[at] {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if back_to(start, next, deps, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for start in deps.keys() {
        let mut path = vec![start.clone()];
        let mut seen = BTreeSet::new();
        assert!(
            !back_to(start, start, deps, &mut path, &mut seen),
            "a cycle: {} -> {start}",
            path.join(" -> ")
        );
    }
}

#[test]
fn modules_form_no_cycle() {
    let deps = crate_graph();
    assert!(deps.len() > 20, "the sources were read");
    assert!(
        deps["engine"].contains("journal"),
        "a directory's rooms count"
    );
    assert_acyclic(&deps);
}

#[test]
fn the_engines_rooms_form_no_cycle() {
    let deps = rooms_graph("engine");
    assert!(deps["open"].contains("recovery"), "the rooms were read");
    assert_acyclic(&deps);
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut deps = Graph::new();
    deps.insert("a".into(), ["b".to_string()].into());
    deps.insert("b".into(), ["a".to_string()].into());
    assert!(std::panic::catch_unwind(|| assert_acyclic(&deps)).is_err());
}

#[test]
fn no_room_is_over_900_lines() {
    let binding = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src");
    let mut dirs = vec![src(), binding];
    let mut long = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_stem().unwrap() != "tests"
            {
                let lines = non_test(&std::fs::read_to_string(&path).unwrap())
                    .lines()
                    .count();
                if lines > 900 {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "split by concern: {long:?}");
}
