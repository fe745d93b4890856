//! Locating the project root and its `.dry/` directory (SPEC §2).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where a project lives: its root directory and the store directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// The project root: effects must stay within it.
    pub root: PathBuf,
    /// The `.dry/` directory (or `DRY_DIR`).
    pub dry_dir: PathBuf,
}

impl Project {
    /// Locates the project of `cwd` (absolute, canonical): the nearest ancestor holding `.dry/`,
    /// else `cwd` itself. `dry_dir` (from `DRY_DIR`) overrides where the store lives.
    pub fn locate(cwd: &Path, dry_dir: Option<OsString>) -> Project {
        let root = cwd
            .ancestors()
            .find(|dir| {
                std::fs::symlink_metadata(dir.join(".dry")).map(|m| m.is_dir()).unwrap_or(false)
            })
            .unwrap_or(cwd)
            .to_path_buf();
        let dry_dir = match dry_dir {
            Some(d) if !d.is_empty() => cwd.join(d),
            _ => root.join(".dry"),
        };
        Project { root, dry_dir }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ancestor_with_dot_dry_is_the_root() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join(".dry")).expect("mkdir");
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        let p = Project::locate(&root.join("a/b"), None);
        assert_eq!(p.root, root);
        assert_eq!(p.dry_dir, root.join(".dry"));
        let other = tempfile::tempdir().expect("tempdir");
        let o = other.path().canonicalize().expect("canonical");
        assert_eq!(Project::locate(&o, None).root, o);
        assert_eq!(Project::locate(&o, Some("/x/y".into())).dry_dir, PathBuf::from("/x/y"));
    }
}
