//! Writing rewritten files in place: atomically (temp file + rename in the same directory),
//! keeping the file's mode and its UTF-8 byte order mark, and refusing when the file changed
//! since it was read.

use std::fs;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: changed on disk since it was read; run again to rewrite the new content")]
    Changed { path: String },
    #[error("{path}: file is read-only; not written (make it writable or rewrite it by hand)")]
    ReadOnly { path: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// The UTF-8 byte order mark, which [`crate::discover::read_text`] drops from the text.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Replaces `path`'s content with `new_text` if it still holds `expected`. `expected` is the
/// text as read: a BOM on disk is not part of it, and stays in front of `new_text`.
pub fn replace_file(path: &Path, expected: &str, new_text: &str) -> Result<(), WriteError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| WriteError::Io {
        path: shown.clone(),
        message: e.to_string(),
    };
    let meta = fs::metadata(path).map_err(io)?;
    if meta.permissions().readonly() {
        return Err(WriteError::ReadOnly { path: shown });
    }
    let current = fs::read(path).map_err(io)?;
    let bom = current.starts_with(BOM) && !expected.starts_with('\u{feff}');
    let body = if bom {
        &current[BOM.len()..]
    } else {
        &current[..]
    };
    if body != expected.as_bytes() {
        return Err(WriteError::Changed { path: shown });
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.migrate-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        if bom {
            file.write_all(BOM)?;
        }
        file.write_all(new_text.as_bytes())?;
        file.sync_all()?;
        fs::set_permissions(&temp, meta.permissions())?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_mode_and_refuses_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.yml");
        fs::write(&path, "a\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&path, "a\n", "b\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "b\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(matches!(
            replace_file(&path, "a\n", "c\n"),
            Err(WriteError::Changed { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o440)).unwrap();
        assert!(matches!(
            replace_file(&path, "b\n", "c\n"),
            Err(WriteError::ReadOnly { .. })
        ));
    }

    #[test]
    fn keeps_the_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.yml");
        fs::write(&path, b"\xef\xbb\xbfa\r\n").unwrap();
        // The text as read has no BOM; the file on disk does, and keeps it.
        replace_file(&path, "a\r\n", "b\r\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"\xef\xbb\xbfb\r\n");
        // Text that kept its BOM (as GitHub serves it) is compared and written as is.
        replace_file(&path, "\u{feff}b\r\n", "\u{feff}c\r\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"\xef\xbb\xbfc\r\n");
        assert!(matches!(
            replace_file(&path, "b\r\n", "d\r\n"),
            Err(WriteError::Changed { .. })
        ));
        fs::write(&path, b"a\n").unwrap();
        replace_file(&path, "a\n", "b\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"b\n", "no BOM is added");
    }
}
