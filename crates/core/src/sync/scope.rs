//! Which keys sync: the subtrees the `sync.keys` patterns name, less every sensitive key
//! (a secret never leaves the device, not even sealed).

use crate::error::Result;
use crate::path::Segment;
use crate::secrets::Pattern;

/// Where a key lies relative to the synced subtrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Neither in a synced subtree nor above one, or sensitive: it never syncs.
    Outside,
    /// On the way to a synced subtree: only the object's members toward it sync.
    Above,
    /// In a synced subtree (at its top or below it), and not sensitive: it syncs whole.
    Inside,
}

/// The synced subtrees of one store. Cheap to ask: a few patterns, each checked
/// segment by segment.
#[derive(Debug, Clone)]
pub struct Scope {
    synced: Vec<Pattern>,
    /// Every key at or below one of these is left out, wherever it lies.
    sensitive: Vec<Pattern>,
}

impl Scope {
    /// The scope of the `sync.keys` patterns (the key-pattern grammar of `sensitiveKeys`
    /// and the renderer policy: dot paths of names and `*`), without `sensitive` keys.
    pub fn new(keys: &[String], sensitive: Vec<Pattern>) -> Result<Scope> {
        let synced = keys
            .iter()
            .map(|k| Pattern::parse_option(k, "sync.keys"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Scope { synced, sensitive })
    }

    /// Where the key at `path` lies. conf's `__internal__` bookkeeping (migration
    /// versions, the store's id) is this device's own and never syncs, whatever the
    /// patterns say.
    pub fn reach(&self, path: &[Segment]) -> Reach {
        let at_or_below = |p: &Pattern| p.len() <= path.len() && p.agrees(path);
        let internal =
            matches!(path.first(), Some(Segment::Key(k)) if k == crate::path::INTERNAL_KEY);
        if internal || self.sensitive.iter().any(at_or_below) {
            Reach::Outside
        } else if self.synced.iter().any(at_or_below) {
            Reach::Inside
        } else if self.synced.iter().any(|p| p.agrees(path)) {
            Reach::Above
        } else {
            Reach::Outside
        }
    }

    /// How many segments of `path` name its synced subtree: the shortest `sync.keys`
    /// pattern at or above it (a merge the schema refuses is held back per subtree). A
    /// key above every subtree is its own.
    pub fn subtree_len(&self, path: &[Segment]) -> usize {
        self.synced
            .iter()
            .filter(|p| p.len() <= path.len() && p.agrees(path))
            .map(Pattern::len)
            .min()
            .unwrap_or(path.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(key: &str) -> Vec<Segment> {
        crate::path::KeyPath::parse(key)
            .unwrap()
            .segments()
            .to_vec()
    }

    #[test]
    fn synced_subtrees_their_ancestors_and_the_sensitive_keys_left_out() {
        let sensitive = vec![Pattern::parse("ai.request.apiKey").unwrap()];
        let scope = Scope::new(
            &[
                "settings".into(),
                "ai.request".into(),
                "workspaces.*.name".into(),
            ],
            sensitive,
        )
        .unwrap();
        let reach = |key: &str| scope.reach(&path(key));
        assert_eq!(scope.reach(&[]), Reach::Above, "the root is above all");
        assert_eq!(reach("settings"), Reach::Inside);
        assert_eq!(reach("settings.editor.fontSize"), Reach::Inside);
        assert_eq!(reach("ai"), Reach::Above);
        assert_eq!(reach("ai.request.model"), Reach::Inside);
        assert_eq!(reach("ai.request.apiKey"), Reach::Outside, "sensitive");
        assert_eq!(reach("ai.request.apiKey.x"), Reach::Outside);
        assert_eq!(reach("ai.other"), Reach::Outside);
        assert_eq!(reach("workspaces"), Reach::Above);
        assert_eq!(reach("workspaces.w1"), Reach::Above);
        assert_eq!(reach("workspaces.w1.name"), Reach::Inside);
        assert_eq!(reach("workspaces.w1.path"), Reach::Outside);
        assert_eq!(reach("profile"), Reach::Outside);
        assert_eq!(reach("settingsX"), Reach::Outside);
    }

    #[test]
    fn patterns_are_checked_by_the_one_grammar() {
        for bad in ["", "a..b", "a[0]", "__proto__", "__internal__.x"] {
            let err = Scope::new(&[bad.into()], vec![]).unwrap_err();
            assert_eq!(err.code(), "INVALID_OPTION", "{bad}");
            assert!(err.to_string().contains("sync.keys"), "{err}");
        }
    }
}
