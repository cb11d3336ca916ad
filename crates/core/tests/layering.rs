//! The engine's modules form no cycle: each depends only on modules that do not depend
//! back on it (the crate root, which declares them all, and test code aside). Read from
//! the sources: a module depends on another when its non-test code names it through
//! `super::` or `crate::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> the modules its non-test code names.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "tests" {
            sources.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let mut deps = BTreeMap::new();
    for (name, text) in &sources {
        let code = match text.find("#[cfg(test)]\nmod tests") {
            Some(at) => &text[..at],
            None => text,
        };
        let mut named = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for prefix in ["super::", "crate::"] {
                for (at, _) in line.match_indices(prefix) {
                    let rest = &line[at + prefix.len()..];
                    // `super::{a, b::c}` or `super::a`.
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(list) => list.split('}').next().unwrap_or("").split(',').collect(),
                        None => vec![rest],
                    };
                    for n in names {
                        let n: String = n
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if modules.contains(&n) && n != *name {
                            named.insert(n);
                        }
                    }
                }
            }
        }
        deps.insert(name.clone(), named);
    }
    deps
}

#[test]
fn modules_form_no_cycle() {
    let deps = dependencies();
    assert!(deps.len() > 20, "the sources were read");
    // Depth-first search for a path back to where it started.
    fn back_to(
        start: &str,
        at: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
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
            !back_to(start, start, &deps, &mut path, &mut seen),
            "a cycle: {} -> {start}",
            path.join(" -> ")
        );
    }
}
