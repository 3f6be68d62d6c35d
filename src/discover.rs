//! Finding and reading candidate files on disk: walks directories, skips what is never a
//! workflow, and reads files with a size cap and UTF-8 and binary checks.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused unread: no real workflow comes close.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    /// Named on the command line: always scanned, even when it looks like other YAML.
    pub explicit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverError {
    pub path: PathBuf,
    pub message: String,
}

/// Expands files and directories into candidate YAML files, in a stable order.
pub fn discover(inputs: &[PathBuf]) -> (Vec<Candidate>, Vec<DiscoverError>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match fs::metadata(input) {
            Err(e) => errors.push(DiscoverError {
                path: input.clone(),
                message: io_message(&e),
            }),
            Ok(meta) if meta.is_file() => found.push(Candidate {
                path: input.clone(),
                explicit: true,
            }),
            Ok(_) => walk(input, &mut found, &mut errors),
        }
    }
    (found, errors)
}

fn walk(root: &Path, found: &mut Vec<Candidate>, errors: &mut Vec<DiscoverError>) {
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.depth() > 0
                && SKIPPED_DIRS.iter().any(|d| e.file_name() == *d))
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() && is_yaml_name(e.path()) => {
                found.push(Candidate {
                    path: e.into_path(),
                    explicit: false,
                });
            }
            Ok(_) => {}
            Err(e) => errors.push(DiscoverError {
                path: e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf),
                message: e.io_error().map_or_else(|| e.to_string(), io_message),
            }),
        }
    }
}

pub fn is_yaml_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Why a file could not be read as workflow text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(String),
    #[error("file is {size} bytes, over the {limit}-byte limit for a workflow")]
    TooLarge { size: u64, limit: u64 },
    #[error("binary file (NUL byte at line {line})")]
    Binary { line: usize },
    #[error("not valid UTF-8 (line {line})")]
    NotUtf8 { line: usize },
}

impl ReadError {
    /// 1-based line the problem was found on, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Binary { line } | Self::NotUtf8 { line } => Some(*line),
            _ => None,
        }
    }
}

/// Reads a file as UTF-8 text, refusing huge, binary and non-UTF-8 files.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let file = fs::File::open(path).map_err(|e| ReadError::Io(io_message(&e)))?;
    let size = file
        .metadata()
        .map_err(|e| ReadError::Io(io_message(&e)))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` bounds the read even if the file grows while we read it.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(io_message(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    decode_text(bytes)
}

/// UTF-8 text from bytes (a leading BOM is dropped), with binary and encoding checks.
pub fn decode_text(bytes: Vec<u8>) -> Result<String, ReadError> {
    let line_of = |at: usize, bytes: &[u8]| memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
    if let Some(at) = memchr::memchr(0, &bytes) {
        return Err(ReadError::Binary {
            line: line_of(at, &bytes),
        });
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..3);
            }
            Ok(text)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(ReadError::NotUtf8 {
                line: line_of(at, e.as_bytes()),
            })
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_binary_and_bad_utf8() {
        assert_eq!(
            decode_text(b"a\nb\0".to_vec()),
            Err(ReadError::Binary { line: 2 })
        );
        assert_eq!(
            decode_text(b"a\n\nb\xff".to_vec()),
            Err(ReadError::NotUtf8 { line: 3 })
        );
        assert_eq!(
            decode_text(b"\xef\xbb\xbfon: push".to_vec()).as_deref(),
            Ok("on: push")
        );
    }
}
