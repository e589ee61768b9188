//! Whether the config file on disk is still one upkeep could load: a refused reload, or an
//! edit since, is shown by `status` until a reload succeeds or the files are fixed, so that
//! the next start does not fail out of the blue.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config;

/// A file's identity and version: inode, size, modification time (s, ns).
type Stamp = Option<(u64, u64, i64, i64)>;

pub struct ConfigState {
    path: PathBuf,
    /// Every file and include directory the last load read, as it was then.
    stamps: Vec<(PathBuf, Stamp)>,
    /// Since when (unix ms) the config on disk is invalid, and how that was found.
    invalid: Option<(i64, &'static str)>,
}

impl ConfigState {
    /// The config at `path` was just loaded from these files and directories.
    pub fn new(path: &Path, sources: &[PathBuf]) -> ConfigState {
        ConfigState {
            path: path.to_path_buf(),
            stamps: stamp(sources),
            invalid: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reload applied the files as they are now.
    pub fn loaded(&mut self, sources: &[PathBuf]) {
        *self = ConfigState::new(&self.path, sources);
    }

    /// A reload found the config invalid (having read `sources`).
    pub fn refused(&mut self, sources: &[PathBuf]) {
        self.stamps = stamp(sources);
        let since = self
            .invalid
            .map_or_else(|| newest_edit(&self.stamps), |(t, _)| t);
        self.invalid = Some((since, "reload refused"));
    }

    /// What `status` says of the config on disk, if it is invalid. Files changed since they
    /// were last read are validated again (not applied): only then is anything parsed.
    pub fn error(&mut self) -> Option<String> {
        let changed = self.stamps.iter().any(|(path, was)| stamp_of(path) != *was);
        if changed {
            let (loaded, sources) = config::load_watched(&self.path);
            self.stamps = stamp(&sources);
            match (loaded, self.invalid) {
                (Ok(_), _) => self.invalid = None,
                (Err(_), None) => {
                    self.invalid = Some((newest_edit(&self.stamps), "changed since it was loaded"));
                }
                (Err(_), Some(_)) => {}
            }
        }
        let (since, why) = self.invalid?;
        let time = crate::schedule::civil::rfc3339(since.div_euclid(1000));
        Some(format!(
            "{} is invalid since {time} ({why}); running the previous config \
             (`upkeep check` says why)",
            self.path.display()
        ))
    }
}

fn stamp(paths: &[PathBuf]) -> Vec<(PathBuf, Stamp)> {
    paths.iter().map(|p| (p.clone(), stamp_of(p))).collect()
}

fn stamp_of(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec()))
}

/// When the newest of these files was last modified (unix ms): when the config on disk
/// became what it is.
fn newest_edit(stamps: &[(PathBuf, Stamp)]) -> i64 {
    stamps
        .iter()
        .filter_map(|(_, s)| s.map(|(_, _, secs, ns)| secs.saturating_mul(1000) + ns / 1_000_000))
        .max()
        .unwrap_or(0)
}
