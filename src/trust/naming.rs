//! Role names: render `--role-name-template` (`{owner}`, `{repo}`, `{stage}`) into a name IAM
//! accepts (`[\w+=,.@-]`, at most 64 characters), truncating with a stable hash suffix.

use super::TrustError;

/// IAM's role-name limit.
pub const MAX_ROLE_NAME: usize = 64;
pub const DEFAULT_TEMPLATE: &str = "gha-{repo}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Owner,
    Repo,
    Stage,
}

/// A parsed, checked role-name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNameTemplate {
    text: String,
    pieces: Vec<Piece>,
}

fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

impl RoleNameTemplate {
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let bad = |reason: String| TrustError::BadTemplate {
            template: text.to_string(),
            reason,
        };
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| bad("an opening `{` is never closed".into()))?;
                pieces.push(match &after[..end] {
                    "owner" => Piece::Owner,
                    "repo" => Piece::Repo,
                    "stage" => Piece::Stage,
                    other => {
                        return Err(bad(format!(
                            "unknown placeholder `{{{other}}}` (known: {{owner}}, {{repo}}, {{stage}})"
                        )));
                    }
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if let Some(c) = literal.chars().find(|&c| !is_iam_name_char(c)) {
                    return Err(bad(format!(
                        "`{c}` is not allowed in an IAM role name (allowed: letters, digits, _+=,.@-)"
                    )));
                }
                pieces.push(Piece::Literal(literal.to_string()));
                rest = &rest[end..];
            }
        }
        let literal_len: usize = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(l) => l.len(),
                _ => 0,
            })
            .sum();
        if !pieces
            .iter()
            .any(|p| matches!(p, Piece::Owner | Piece::Repo))
        {
            return Err(bad(
                "it needs {repo} or {owner}: without one every repository gets the same role name"
                    .into(),
            ));
        }
        // Truncation keeps a prefix and a 9-character hash, so the literals must leave room.
        if literal_len > MAX_ROLE_NAME - 10 {
            return Err(bad(format!(
                "its fixed text alone is {literal_len} characters; IAM role names hold at most {MAX_ROLE_NAME}"
            )));
        }
        Ok(Self {
            text: text.to_string(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The role name for one repository and stage (the stage may be empty: then the
    /// placeholder and the separator before it disappear).
    pub fn render(&self, owner: &str, repo: &str, stage: &str) -> String {
        let mut name = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(l) => name.push_str(l),
                Piece::Owner => name.push_str(&sanitize(owner)),
                Piece::Repo => name.push_str(&sanitize(repo)),
                Piece::Stage if stage.is_empty() => {
                    if name.ends_with(['-', '_', '.']) {
                        name.pop();
                    }
                }
                Piece::Stage => name.push_str(&sanitize(stage)),
            }
        }
        fit(&name)
    }
}

impl Default for RoleNameTemplate {
    fn default() -> Self {
        Self::parse(DEFAULT_TEMPLATE).expect("the default template is valid")
    }
}

/// Replaces characters IAM refuses with `-`.
fn sanitize(value: &str) -> String {
    value
        .chars()
        .map(|c| if is_iam_name_char(c) { c } else { '-' })
        .collect()
}

/// Truncates to 64 characters, ending in `-` plus 8 hex digits of the full name's hash so
/// two long names that share a prefix stay distinct and the result is the same every run.
pub fn fit(name: &str) -> String {
    if name.len() <= MAX_ROLE_NAME {
        return name.to_string();
    }
    let suffix = format!("-{:08x}", fnv1a(name));
    // Names are ASCII after sanitizing, so byte slicing is char slicing.
    format!("{}{suffix}", &name[..MAX_ROLE_NAME - suffix.len()])
}

/// FNV-1a, 32 bits: tiny, stable across platforms and releases (unlike `DefaultHasher`).
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template() {
        let t = RoleNameTemplate::default();
        assert_eq!(t.render("octo-org", "octo-repo", ""), "gha-octo-repo");
        assert_eq!(t.render("octo-org", "octo-repo", "dev"), "gha-octo-repo");
    }

    #[test]
    fn stage_placeholder_and_its_separator() {
        let t = RoleNameTemplate::parse("gha-{owner}-{repo}-{stage}").unwrap();
        assert_eq!(t.render("o", "r", "dev"), "gha-o-r-dev");
        assert_eq!(t.render("o", "r", ""), "gha-o-r");
    }

    #[test]
    fn long_names_are_truncated_with_a_stable_hash() {
        let t = RoleNameTemplate::parse("github-actions-{owner}-{repo}").unwrap();
        let repo = "a-very-long-repository-name-that-goes-on-and-on";
        let a = t.render("octo-org", repo, "");
        let b = t.render("octo-org2", repo, "");
        assert_eq!(a.len(), MAX_ROLE_NAME);
        assert_eq!(a, t.render("octo-org", repo, ""));
        assert_ne!(a, b);
        assert!(a.starts_with("github-actions-octo-org-a-very-long"));
        assert!(a.chars().all(is_iam_name_char));
    }

    #[test]
    fn bad_templates_are_explained() {
        for (template, needle) in [
            ("gha/{repo}", "`/` is not allowed"),
            ("gha-{name}", "unknown placeholder `{name}`"),
            ("gha-{repo", "never closed"),
            ("gha-static", "needs {repo} or {owner}"),
            (&format!("{}{{repo}}", "x".repeat(60)), "at most 64"),
        ] {
            let err = RoleNameTemplate::parse(template).unwrap_err().to_string();
            assert!(err.contains(needle), "{template}: {err}");
        }
    }

    #[test]
    fn placeholder_values_are_sanitized() {
        let t = RoleNameTemplate::parse("gha-{repo}").unwrap();
        assert_eq!(t.render("o", "my repo/x", ""), "gha-my-repo-x");
    }
}
