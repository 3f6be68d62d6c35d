//! Rule `aws-key-literal`: an access key id (`AKIA...`/`ASIA...`) written into the file.

use super::{FileContext, Finding, FindingSpec, Fix, Rule, Severity};
use crate::yaml::{Kind, Node, Span};

pub struct LiteralKey;

impl Rule for LiteralKey {
    fn id(&self) -> &'static str {
        "aws-key-literal"
    }

    fn summary(&self) -> &'static str {
        "an AWS access key id is written in the file"
    }

    fn check(&self, cx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let mut stack: Vec<Node<'_>> = vec![cx.workflow.root];
        while let Some(node) = stack.pop() {
            if node.is_alias() {
                continue;
            }
            match node.kind() {
                Kind::Scalar(value) => {
                    for key in find_access_key_ids(value) {
                        let span = node.span();
                        let start = cx.text[span.start..span.end]
                            .find(key)
                            .map_or(span.start, |at| span.start + at);
                        out.push(cx.finding(FindingSpec {
                            rule: self.id(),
                            severity: Severity::High,
                            span: Span::new(start, start + key.len()),
                            entry: None,
                            job: None,
                            step: None,
                            references: Vec::new(),
                            fix: Fix::Manual,
                            reason:
                                "rotate it first: the key is in the repository's history".into(),
                            message: format!(
                                "access key id {} is written in the file",
                                mask_key_id(key)
                            ),
                        }));
                    }
                }
                Kind::Mapping(_) => {
                    for (k, v) in node.entries() {
                        stack.push(v);
                        stack.push(k);
                    }
                }
                Kind::Sequence(_) => stack.extend(node.items()),
                Kind::Alias(_) => {}
            }
        }
    }
}

/// `AKIA…WXYZ`: enough to recognise a key, never enough to use it.
pub fn mask_key_id(key: &str) -> String {
    if key.len() < 8 || !key.is_ascii() {
        return "****".to_string();
    }
    format!("{}…{}", &key[..4], &key[key.len() - 4..])
}

/// Access key ids in `text`: `AKIA`/`ASIA` + 16 of `[A-Z0-9]`, not inside a longer word.
/// AWS's documentation example keys (ending in `EXAMPLE`) are dummies, not leaks.
pub fn find_access_key_ids(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 20 <= bytes.len() {
        let prefix = &bytes[i..i + 4];
        let at_boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if at_boundary && (prefix == b"AKIA" || prefix == b"ASIA") {
            let body = &bytes[i + 4..i + 20];
            let after_ok = bytes.get(i + 20).is_none_or(|b| !b.is_ascii_alphanumeric());
            if after_ok
                && body
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                let key = &text[i..i + 20];
                if !key.ends_with("EXAMPLE") {
                    out.push(key);
                }
                i += 20;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_masks_keys() {
        let keys = find_access_key_ids("id=AKIAABCDEFGHIJKLWXYZ x ASIA0000111122223333");
        assert_eq!(keys, vec!["AKIAABCDEFGHIJKLWXYZ", "ASIA0000111122223333"]);
        assert_eq!(mask_key_id(keys[0]), "AKIA…WXYZ");
    }

    #[test]
    fn ignores_examples_and_longer_words() {
        assert!(find_access_key_ids("AKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(find_access_key_ids("XAKIAABCDEFGHIJKLWXYZ").is_empty());
        assert!(find_access_key_ids("AKIAABCDEFGHIJKLWXYZ1").is_empty());
        assert!(find_access_key_ids("AKIAabcdefghijklwxyz").is_empty());
    }
}
