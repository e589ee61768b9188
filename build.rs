//! Build facts for `upkeep --version`: the target triple and the commit. Only inputs that
//! two clones of one commit share, so that release builds are reproducible.

use std::path::Path;
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=UPKEEP_TARGET={target}");
    println!("cargo:rerun-if-env-changed=UPKEEP_COMMIT");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    // UPKEEP_COMMIT wins (a packager building from a source tarball knows it); else git,
    // but only when this crate is the top of the repository, not a tarball unpacked
    // inside someone else's.
    let commit = std::env::var("UPKEEP_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git_commit(Path::new(&manifest)))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=UPKEEP_COMMIT={commit}");
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string())
}

fn git_commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the ref it points to (a commit).
    for file in ["HEAD", "packed-refs"] {
        watch(dir, file);
    }
    if let Some(head_ref) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(dir, &head_ref);
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// A missing file would make cargo rerun this script on every build: only existing ones.
fn watch(dir: &Path, git_file: &str) {
    if let Some(path) = git(dir, &["rev-parse", "--git-path", git_file]) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
