//! GitHub Actions expressions: finds the context references (`secrets.X`, `vars.X`,
//! `env.X`, `inputs.X`, `secrets[...]`) inside `${{ ... }}` blocks of a string.
//!
//! This is a tokenizer, not an evaluator: it only needs to know which named values an
//! expression can read, and where in the string each reference sits.

use std::ops::Range;

/// The context a reference reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    Secrets,
    Vars,
    Env,
    Inputs,
}

impl Context {
    fn from_ident(ident: &str) -> Option<Self> {
        // Context names are case-insensitive in expressions.
        match ident.to_ascii_lowercase().as_str() {
            "secrets" => Some(Self::Secrets),
            "vars" => Some(Self::Vars),
            "env" => Some(Self::Env),
            "inputs" => Some(Self::Inputs),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secrets => "secrets",
            Self::Vars => "vars",
            Self::Env => "env",
            Self::Inputs => "inputs",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `ctx.NAME` or `ctx['NAME']`.
    Named { context: Context, name: String },
    /// `secrets[<expression>]` whose name is computed at run time.
    Dynamic {
        context: Context,
        expression: String,
    },
}

/// A reference and its byte range within the scanned string (the whole `${{ ... }}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub reference: Reference,
    pub expression: Range<usize>,
}

/// An `if:` without its `${{ }}` wrapper (GitHub evaluates both forms the same).
pub fn unwrap_expression(condition: &str) -> String {
    let t = condition.trim();
    match t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
        Some(inner) if !inner.contains("${{") => inner.trim().to_string(),
        _ => t.to_string(),
    }
}

/// The byte ranges of every `${{ ... }}` block in `text` (including the delimiters).
pub fn expression_blocks(text: &str) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&bytes[from..], b"${{") {
        let start = from + found;
        let body = start + 3;
        let end = find_block_end(bytes, body).unwrap_or(bytes.len());
        blocks.push(start..end);
        from = end.max(body);
    }
    blocks
}

/// End of a `${{` block: the first `}}` outside a string literal.
fn find_block_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\'' {
                // '' is an escaped quote inside a string literal.
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                in_string = false;
            }
        } else if b == b'\'' {
            in_string = true;
        } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
            return Some(i + 2);
        }
        i += 1;
    }
    None
}

/// Every context reference in the expressions of `text`.
pub fn references(text: &str) -> Vec<Located> {
    let mut out = Vec::new();
    for block in expression_blocks(text) {
        let inner_start = block.start + 3;
        let terminated = text[..block.end].ends_with("}}") && block.end >= inner_start + 2;
        let inner_end = if terminated { block.end - 2 } else { block.end };
        let inner = &text[inner_start..inner_end.min(text.len())];
        for reference in references_in_expression(inner) {
            out.push(Located {
                reference,
                expression: block.clone(),
            });
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    Dot,
    Open(usize),
    Close(usize),
    Str(String),
    Other,
}

fn tokenize(expr: &str) -> Vec<Token<'_>> {
    let bytes = expr.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            b'[' => {
                tokens.push(Token::Open(i));
                i += 1;
            }
            b']' => {
                tokens.push(Token::Close(i));
                i += 1;
            }
            b'\'' => {
                let mut value = String::new();
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            value.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    let ch_len = utf8_len(bytes[i]);
                    value.push_str(&expr[i..(i + ch_len).min(expr.len())]);
                    i += ch_len;
                }
                tokens.push(Token::Str(value));
            }
            _ if b.is_ascii_alphanumeric() || b == b'_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                {
                    i += 1;
                }
                tokens.push(Token::Ident(&expr[start..i]));
            }
            _ => {
                tokens.push(Token::Other);
                i += utf8_len(b);
            }
        }
    }
    tokens
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// References inside one expression body (the text between `${{` and `}}`).
pub fn references_in_expression(expr: &str) -> Vec<Reference> {
    let tokens = tokenize(expr);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // `a.secrets.X` is a property named secrets, not the context.
        let after_dot = i > 0 && tokens[i - 1] == Token::Dot;
        let context = match &tokens[i] {
            Token::Ident(name) if !after_dot => Context::from_ident(name),
            _ => None,
        };
        let Some(context) = context else {
            i += 1;
            continue;
        };
        match (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
            (Some(Token::Dot), Some(Token::Ident(name)), _) => {
                out.push(Reference::Named {
                    context,
                    name: (*name).to_string(),
                });
                i += 3;
            }
            (Some(Token::Open(_)), Some(Token::Str(name)), Some(Token::Close(_))) => {
                out.push(Reference::Named {
                    context,
                    name: name.clone(),
                });
                i += 4;
            }
            (Some(Token::Open(open)), _, _) => {
                let open = *open;
                let (close, next) = matching_close(&tokens, i + 1);
                let expression = match close {
                    Some(close) => expr[open + 1..close].trim().to_string(),
                    None => expr[open + 1..].trim().to_string(),
                };
                out.push(Reference::Dynamic {
                    context,
                    expression,
                });
                i = next;
            }
            _ => i += 1,
        }
    }
    out
}

/// The byte offset of the `]` that closes the `[` at token `open`, and the next token index.
fn matching_close(tokens: &[Token<'_>], open: usize) -> (Option<usize>, usize) {
    let mut depth = 0usize;
    for (j, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Open(_) => depth += 1,
            Token::Close(at) => {
                depth -= 1;
                if depth == 0 {
                    return (Some(*at), j + 1);
                }
            }
            _ => {}
        }
    }
    (None, tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(context: Context, name: &str) -> Reference {
        Reference::Named {
            context,
            name: name.into(),
        }
    }

    fn refs(text: &str) -> Vec<Reference> {
        references(text).into_iter().map(|l| l.reference).collect()
    }

    #[test]
    fn plain_and_spaced_references() {
        assert_eq!(
            refs("${{ secrets.AWS_KEY }}"),
            vec![named(Context::Secrets, "AWS_KEY")]
        );
        assert_eq!(refs("${{secrets.X}}"), vec![named(Context::Secrets, "X")]);
        assert_eq!(
            refs("${{ secrets. NAME }}"),
            vec![named(Context::Secrets, "NAME")]
        );
        assert_eq!(
            refs("${{ secrets['A-B'] }}"),
            vec![named(Context::Secrets, "A-B")]
        );
        assert_eq!(
            refs("${{ inputs.aws-access-key-id }}"),
            vec![named(Context::Inputs, "aws-access-key-id")]
        );
    }

    #[test]
    fn several_in_one_string_and_fallbacks() {
        let r = refs("k=${{ secrets.A }} ${{ vars.B || 'x' }} ${{ env.C && secrets.D }}");
        assert_eq!(
            r,
            vec![
                named(Context::Secrets, "A"),
                named(Context::Vars, "B"),
                named(Context::Env, "C"),
                named(Context::Secrets, "D")
            ]
        );
    }

    #[test]
    fn dynamic_names() {
        assert_eq!(
            refs("${{ secrets[matrix.aws_key_secret] }}"),
            vec![Reference::Dynamic {
                context: Context::Secrets,
                expression: "matrix.aws_key_secret".into()
            }]
        );
        assert_eq!(
            refs("${{ secrets[format('AWS_{0}_KEY', inputs.env)] }}"),
            vec![Reference::Dynamic {
                context: Context::Secrets,
                expression: "format('AWS_{0}_KEY', inputs.env)".into()
            }]
        );
    }

    #[test]
    fn properties_named_like_contexts_are_not_contexts() {
        assert!(refs("${{ github.event.inputs.x }}").is_empty());
        assert!(refs("${{ steps.s.outputs.secrets }}").is_empty());
    }

    #[test]
    fn braces_inside_strings_do_not_end_the_block() {
        let text = "${{ format('}}{0}', secrets.A) }} tail";
        assert_eq!(refs(text), vec![named(Context::Secrets, "A")]);
        assert_eq!(expression_blocks(text), vec![0..33]);
    }

    #[test]
    fn unterminated_block_is_tolerated() {
        assert_eq!(refs("${{ secrets.A "), vec![named(Context::Secrets, "A")]);
    }
}
