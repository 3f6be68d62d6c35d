//! `migrate rewrite` on local files (effects: reads them through [`crate::discover`] and, with
//! `--write`, replaces them through [`crate::write`]): every file rewritten in parallel with
//! what a look across all of them finds (`secrets: inherit` links, the local reusable
//! workflows' permissions), other YAML under a walked directory left alone, and each file's
//! texts let go as soon as its part of the output is rendered.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{RewriteError, RewriteOptions, RewriteOutcome, permissions};
use crate::discover::{self, DiscoverError, ReadError};
use crate::write::{self, WriteError};

/// Why a file was not rewritten.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Read { path: String, source: ReadError },
    #[error(transparent)]
    Rewrite(#[from] RewriteError),
}

/// One file's rewrite.
pub struct FileResult {
    pub path: PathBuf,
    /// Without its texts: they are let go once `piece` is rendered.
    pub outcome: Result<RewriteOutcome, FileError>,
    /// With `--write`, for a file that changed: whether it was written.
    pub written: Option<Result<(), WriteError>>,
    pub changed: bool,
    /// The file's part of the output (its diff, or its `--explain` table), rendered next to
    /// the rewrite, in parallel.
    pub piece: String,
}

/// Every file's rewrite, by path, and the paths that could not be walked.
pub struct Rewritten {
    pub files: Vec<FileResult>,
    pub walk_errors: Vec<DiscoverError>,
}

impl Rewritten {
    /// Every error, one message each: walking, then per file reading or rewriting, and
    /// writing.
    pub fn errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = self
            .walk_errors
            .iter()
            .map(|e| format!("{}: {}", e.path.display(), e.message))
            .collect();
        for file in &self.files {
            if let Err(e) = &file.outcome {
                errors.push(e.to_string());
            }
            if let Some(Err(e)) = &file.written {
                errors.push(e.to_string());
            }
        }
        errors
    }

    /// How many findings are left for a person.
    pub fn manual(&self) -> usize {
        self.files
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .map(|o| o.manual.len())
            .sum()
    }
}

/// Rewrites the workflows found under `paths` (writing the changed ones when `write`);
/// `render` gives each rewritten file's part of the output while its texts are at hand.
pub fn rewrite_paths(
    paths: &[PathBuf],
    mut opts: RewriteOptions,
    write: bool,
    render: &(dyn Fn(&Path, &RewriteOutcome) -> String + Sync),
) -> Rewritten {
    let (candidates, walk_errors) = discover::discover(paths);
    let texts: Vec<(&discover::Candidate, Result<String, ReadError>)> = candidates
        .par_iter()
        .map(|c| (c, discover::read_text(&c.path)))
        .collect();
    let readable: Vec<(String, &str)> = texts
        .iter()
        .filter_map(|(c, t)| {
            t.as_ref()
                .ok()
                .map(|t| (c.path.display().to_string(), t.as_str()))
        })
        .collect();
    let linked = crate::scan::cross_file_findings(&readable);
    opts.local_workflows =
        permissions::LocalWorkflows::from_callable_files(readable.iter().cloned());
    let mut files: Vec<FileResult> = texts
        .par_iter()
        .filter_map(|(c, text)| {
            let text = match text {
                Ok(text) => text,
                Err(source) => {
                    return c.explicit.then(|| FileResult {
                        path: c.path.clone(),
                        outcome: Err(FileError::Read {
                            path: c.path.display().to_string(),
                            source: source.clone(),
                        }),
                        written: None,
                        changed: false,
                        piece: String::new(),
                    });
                }
            };
            let shown = c.path.display().to_string();
            let none = crate::scan::FileLinks::default();
            let links = linked.get(&shown).unwrap_or(&none);
            let mut outcome = match super::rewrite_linked(&shown, text, &opts, links) {
                Ok(outcome) => Ok(outcome),
                // Other YAML under a walked directory is not ours to complain about.
                Err(RewriteError::InvalidYaml { .. })
                    if !c.explicit && !looks_like_workflow(&c.path, text) =>
                {
                    return None;
                }
                Err(e) => Err(FileError::from(e)),
            };
            let written = match &outcome {
                Ok(o) if write && o.changed() => {
                    Some(write::replace_file(&c.path, &o.original, &o.text))
                }
                _ => None,
            };
            let (changed, piece) = match &mut outcome {
                Ok(o) => {
                    let piece = render(&c.path, o);
                    let changed = o.changed();
                    // Thousands of files' texts, twice each, need not wait for the output.
                    o.original = String::new();
                    o.text = String::new();
                    (changed, piece)
                }
                Err(_) => (false, String::new()),
            };
            Some(FileResult {
                path: c.path.clone(),
                outcome,
                written,
                changed,
                piece,
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Rewritten { files, walk_errors }
}

/// Whether YAML that does not parse was meant as a workflow or action (so its error is
/// reported), rather than other YAML a walked directory holds.
fn looks_like_workflow(path: &Path, text: &str) -> bool {
    path.components().any(|c| c.as_os_str() == ".github")
        || text.contains("jobs:")
        || text.contains("runs:")
}
