//! Whether the config file on disk is still one upkeep could load: a refused reload, or an
//! edit since, is shown by `status` (and `/healthz`) until a reload succeeds or the file is
//! fixed, so that the next start does not fail out of the blue.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{self, include::expand_pattern};

/// A file's identity and version: inode, size, modification time (s, ns).
type Stamp = Option<(u64, u64, i64, i64)>;

pub struct ConfigState {
    path: PathBuf,
    /// `[supervisor] include` of the file as last read.
    include: Vec<String>,
    /// The files the config is made of (and their directories), as last validated.
    stamps: Vec<(PathBuf, Stamp)>,
    /// Since when (unix ms) the file on disk is invalid, and how that was found.
    invalid: Option<(i64, &'static str)>,
}

impl ConfigState {
    /// The config at `path` was just loaded with these include patterns.
    pub fn new(path: &Path, include: &[String]) -> ConfigState {
        let mut state = ConfigState {
            path: path.to_path_buf(),
            include: include.to_vec(),
            stamps: Vec::new(),
            invalid: None,
        };
        state.stamps = state.stamp();
        state
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reload applied the file as it is now.
    pub fn loaded(&mut self, include: &[String]) {
        *self = ConfigState::new(&self.path, include);
    }

    /// A reload found the file invalid at `unix_ms`.
    pub fn refused(&mut self, unix_ms: i64) {
        self.stamps = self.stamp();
        if self.invalid.is_none() {
            self.invalid = Some((unix_ms, "reload refused"));
        }
    }

    /// What `status` says of the file on disk, if it is invalid. A file changed since it was
    /// last read is validated again (not applied): only then is it parsed.
    pub fn error(&mut self, unix_ms: i64) -> Option<String> {
        let now = self.stamp();
        if now != self.stamps {
            self.stamps = now;
            match config::load(&self.path) {
                Ok(config) => {
                    self.include = config.settings.include;
                    self.stamps = self.stamp();
                    self.invalid = None;
                }
                Err(_) if self.invalid.is_none() => {
                    self.invalid = Some((unix_ms, "changed since it was loaded"));
                }
                Err(_) => {}
            }
        }
        let (since, why) = self.invalid?;
        let rfc = crate::schedule::civil::rfc3339_ms(since);
        let time = rfc.get(11..19).unwrap_or(&rfc);
        Some(format!(
            "{} is invalid since {time} UTC ({why}); running the previous config \
             (`upkeep check` says why)",
            self.path.display()
        ))
    }

    /// The main file, each include pattern's directory (a file added or removed changes
    /// it) and each included file.
    fn stamp(&self) -> Vec<(PathBuf, Stamp)> {
        let mut paths = vec![self.path.clone()];
        let base = self.path.parent().unwrap_or(Path::new("/"));
        for pattern in &self.include {
            if let Some(dir) = base.join(pattern).parent() {
                paths.push(dir.to_path_buf());
            }
            paths.extend(expand_pattern(base, pattern).unwrap_or_default());
        }
        paths
            .into_iter()
            .map(|p| {
                let stamp = std::fs::metadata(&p)
                    .ok()
                    .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec()));
                (p, stamp)
            })
            .collect()
    }
}
