//! Local checkouts as `migrate trust` needs them (effects: runs `git`, reads files): each
//! repository's OWNER/REPO from its `origin` remote and its default branch from `origin/HEAD`
//! (or what the command line says instead), and the files the policy compiler reads.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::SourceError;
use super::infer::RepoFiles;
use super::plan::Identities;
use super::plan::{self, RepoIdentity, RepoKey};
use super::{RepoIds, Slug};
use crate::scan::ScanReport;

/// What the command line says about the checkouts' repository, so git is not asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckoutHints<'a> {
    /// `--slug`: OWNER/REPO of every scanned file (one checkout only).
    pub slug: Option<&'a str>,
    /// `--repo-ids`: OWNER_ID/REPO_ID of that repository.
    pub repo_ids: Option<&'a str>,
    /// `--default-branch`, instead of origin's HEAD.
    pub default_branch: Option<&'a str>,
}

/// A checkout on disk, read for the policy compiler (task definitions, Terraform backends,
/// scripts a step runs). Paths stay inside the root.
pub struct CheckoutFiles {
    root: PathBuf,
}

impl CheckoutFiles {
    fn inside(&self, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        let escapes = path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        (!escapes).then(|| self.root.join(path))
    }
}

/// Repository files larger than this are not read (a task definition or backend is small).
const MAX_REPO_FILE: u64 = 1 << 20;

impl RepoFiles for CheckoutFiles {
    fn read(&self, relative: &str) -> Option<String> {
        let path = self.inside(relative)?;
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > MAX_REPO_FILE {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Some(path) = self.inside(dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .map(|name| {
                if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                }
            })
            .collect();
        out.sort();
        out
    }
}

/// The files of the checkout at `root` (`None`: files outside any checkout, of which nothing
/// can be read).
pub fn open(root: Option<&Path>) -> Box<dyn RepoFiles> {
    match root {
        Some(root) => Box::new(CheckoutFiles {
            root: display_root(root),
        }),
        None => Box::new(super::infer::NoFiles),
    }
}

/// `git -C DIR ARGS`, trimmed stdout, or None when git fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// A checkout root as a directory to run git in: the empty root (files scanned from inside
/// the checkout) is `.`.
fn display_root(root: &Path) -> PathBuf {
    if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root.to_path_buf()
    }
}

fn default_branch(root: Option<&Path>, given: Option<&str>, warnings: &mut Vec<String>) -> String {
    if let Some(branch) = given {
        return branch.to_string();
    }
    let found = root
        .and_then(|r| {
            git(
                &display_root(r),
                &["symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
            )
        })
        .map(|head| head.strip_prefix("origin/").unwrap_or(&head).to_string());
    found.unwrap_or_else(|| {
        let place = root.map_or("the scanned files".to_string(), |r| display_root(r).display().to_string());
        warnings.push(format!(
            "{place}: default branch unknown (no origin/HEAD); assuming `main` (pass --default-branch)"
        ));
        "main".into()
    })
}

/// The identity of every checkout whose workflows need a role: from `hints` where given,
/// else from git. A file outside any checkout is an error unless `--slug` names its
/// repository.
pub fn identities(
    report: &ScanReport,
    hints: CheckoutHints<'_>,
    warnings: &mut Vec<String>,
) -> Result<Identities, SourceError> {
    let roots: Vec<Option<PathBuf>> = plan::roots_needing_roles(report)
        .into_iter()
        .filter_map(|key| match key {
            RepoKey::Checkout(root) => Some(root),
            RepoKey::GitHub(_) => None,
        })
        .collect();
    let mut out = BTreeMap::new();
    if let Some(slug) = hints.slug {
        if roots.len() > 1 {
            return Err(SourceError::SlugForMany { count: roots.len() });
        }
        let slug = Slug::parse(slug)?;
        let ids = hints.repo_ids.map(RepoIds::parse).transpose()?;
        for root in roots {
            let branch = default_branch(root.as_deref(), hints.default_branch, warnings);
            out.insert(
                RepoKey::Checkout(root),
                RepoIdentity {
                    slug: slug.clone(),
                    ids,
                    default_branch: branch,
                    ..RepoIdentity::default()
                },
            );
        }
        return Ok(out);
    }
    for root in roots {
        let Some(dir) = &root else {
            let path = report
                .files
                .iter()
                .find(|f| plan::repo_root(&f.path).is_none())
                .map_or_else(String::new, |f| f.path.clone());
            return Err(SourceError::NotInCheckout { path });
        };
        let shown = display_root(dir);
        let url = git(&shown, &["config", "--get", "remote.origin.url"]).ok_or_else(|| {
            SourceError::NoOrigin {
                root: shown.display().to_string(),
            }
        })?;
        let slug = Slug::from_remote_url(&url)?;
        let branch = default_branch(Some(dir), hints.default_branch, warnings);
        out.insert(
            RepoKey::Checkout(root),
            RepoIdentity {
                slug,
                default_branch: branch,
                ..RepoIdentity::default()
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_files_stay_inside_the_root() {
        let files = CheckoutFiles {
            root: PathBuf::from("repo"),
        };
        assert_eq!(
            files.inside("infra/task.json"),
            Some(PathBuf::from("repo/infra/task.json"))
        );
        assert_eq!(
            files.inside("./Makefile"),
            Some(PathBuf::from("repo/./Makefile"))
        );
        assert_eq!(files.inside("../secrets"), None);
        assert_eq!(files.inside("/etc/passwd"), None);
    }

    #[test]
    fn an_empty_root_is_the_current_directory() {
        assert_eq!(display_root(Path::new("")), PathBuf::from("."));
        assert_eq!(display_root(Path::new("a/b")), PathBuf::from("a/b"));
    }
}
