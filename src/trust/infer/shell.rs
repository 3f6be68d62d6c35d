//! Shell scripts as the policy compiler reads them: line continuations joined, commands split
//! at `;`, `&&`, `||`, pipes and `$(…)`, words unquoted, and `${{ env.X }}`, `$VAR` and `${VAR}`
//! replaced by their values where the workflow writes them. A value that cannot be known stays
//! as `«expression»` so the compiler can name it in a warning.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// The marks around a value the workflow does not write down.
pub const UNKNOWN_OPEN: char = '«';
pub const UNKNOWN_CLOSE: char = '»';

/// One simple command: its words after expansion, the line it starts on, and how many
/// subshells deep it runs (`(cd web && npm run build)`: 1), so a `cd` inside one is undone
/// after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub line: usize,
    pub words: Vec<String>,
    pub subshell: usize,
}

/// The `«…»` expressions a word holds (empty when the word is fully known).
pub fn unknowns(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = word;
    while let Some(start) = rest.find(UNKNOWN_OPEN) {
        let after = &rest[start + UNKNOWN_OPEN.len_utf8()..];
        let Some(end) = after.find(UNKNOWN_CLOSE) else {
            break;
        };
        out.push(after[..end].to_string());
        rest = &after[end + UNKNOWN_CLOSE.len_utf8()..];
    }
    out
}

fn unknown(expression: &str) -> String {
    format!("{UNKNOWN_OPEN}{expression}{UNKNOWN_CLOSE}")
}

/// Replaces `${{ … }}` expressions: `env.X` with the env value when it is written down,
/// everything else (`vars.X`, `secrets.X`, step outputs) with an unknown mark.
pub fn expand_expressions<'t>(
    text: &'t str,
    env: &BTreeMap<String, String>,
    depth: usize,
) -> Cow<'t, str> {
    // Most values and scripts hold no expression: nothing to copy.
    if !text.contains("${{") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let inner = rest[start + 3..start + len].trim();
        let value = inner
            .strip_prefix("env.")
            .filter(|name| depth < 3 && name.bytes().all(is_name_byte))
            .and_then(|name| env.get(name))
            .map(|v| expand_expressions(v, env, depth + 1));
        match value {
            Some(v) => out.push_str(&v),
            None => out.push_str(&unknown(inner)),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Logical lines: `\` at the end of a line continues it; each keeps its first line number.
fn logical_lines(script: &str, first_line: usize) -> Vec<(usize, Cow<'_, str>)> {
    let mut out: Vec<(usize, Cow<'_, str>)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (offset, raw) in script.lines().enumerate() {
        let line = first_line + offset;
        let trimmed = raw.trim_end();
        match (pending.take(), trimmed.strip_suffix('\\')) {
            (None, None) => out.push((line, Cow::Borrowed(trimmed))),
            (Some((start, mut text)), None) => {
                text.push_str(trimmed);
                out.push((start, Cow::Owned(text)));
            }
            (held, Some(body)) => {
                let (start, mut text) = held.unwrap_or((line, String::new()));
                text.push_str(body);
                text.push(' ');
                pending = Some((start, text));
            }
        }
    }
    if let Some((start, text)) = pending {
        out.push((start, Cow::Owned(text)));
    }
    out
}

/// Splits a logical line into words and separators, honouring quotes; drops `#` comments.
fn tokens(line: &str) -> Vec<Token> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut word = String::with_capacity(line.len());
    let mut in_word = false;
    let mut quote: Option<u8> = None;
    // The buffer is reused: each word is copied out at its exact length.
    let flush = |word: &mut String, in_word: &mut bool, out: &mut Vec<Token>| {
        if *in_word {
            out.push(Token::Word(word.as_str().into()));
            word.clear();
            *in_word = false;
        }
    };
    // The character after a backslash at `at`, and where the text goes on after it.
    let escaped = |at: usize| {
        let next = line[at + 1..].chars().next();
        (next, at + 1 + next.map_or(0, char::len_utf8))
    };
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if let Some(q) = quote {
            if b == q {
                quote = None;
                at += 1;
            } else if b == b'\\' && q == b'"' {
                let (next, after) = escaped(at);
                word.extend(next);
                at = after;
            } else if b == b'$' && q == b'"' && bytes.get(at + 1) == Some(&b'(') {
                // `"$(cmd)"`: the substitution is a command of its own, in a subshell.
                flush(&mut word, &mut in_word, &mut out);
                out.push(Token::Open);
                quote = None;
                at += 2;
            } else if b == b'$' {
                // Single quotes keep `$` literal: mark it so expansion skips it.
                word.push(if q == b'\'' { '\u{1}' } else { '$' });
                at += 1;
            } else {
                // Up to the next byte that means something inside these quotes (all ASCII, so
                // the run ends on a character boundary).
                let end = bytes[at..]
                    .iter()
                    .position(|&c| c == q || c == b'$' || (q == b'"' && c == b'\\'))
                    .map_or(bytes.len(), |n| at + n);
                word.push_str(&line[at..end]);
                at = end;
            }
            continue;
        }
        match b {
            b'\'' | b'"' => {
                quote = Some(b);
                in_word = true;
                at += 1;
            }
            b'#' if !in_word => break,
            b' ' | b'\t' => {
                flush(&mut word, &mut in_word, &mut out);
                at += 1;
            }
            b';' | b'|' | b'&' | b'(' | b')' | b'`' | b'{' | b'}'
                if !(b == b'{' && word.ends_with('$')
                    || b == b'}' && word.matches("${").count() > word.matches('}').count()) =>
            {
                if b == b'(' && word.ends_with('$') {
                    word.pop();
                }
                flush(&mut word, &mut in_word, &mut out);
                // `( … )` and `$( … )` run in a subshell: a `cd` inside does not last.
                out.push(match b {
                    b'(' => Token::Open,
                    b')' => Token::Close,
                    _ => Token::Separator,
                });
                at += 1;
            }
            b'\\' => {
                let (next, after) = escaped(at);
                if let Some(next) = next {
                    word.push(next);
                    in_word = true;
                }
                at = after;
            }
            b'{' | b'}' => {
                word.push(b as char);
                in_word = true;
                at += 1;
            }
            _ => {
                // A run of plain characters, copied at once.
                let end = bytes[at..]
                    .iter()
                    .position(|c| {
                        matches!(
                            c,
                            b'\''
                                | b'"'
                                | b' '
                                | b'\t'
                                | b';'
                                | b'|'
                                | b'&'
                                | b'('
                                | b')'
                                | b'`'
                                | b'{'
                                | b'}'
                                | b'\\'
                        )
                    })
                    .map_or(bytes.len(), |n| at + n);
                word.push_str(&line[at..end]);
                in_word = true;
                at = end;
            }
        }
    }
    flush(&mut word, &mut in_word, &mut out);
    out
}

#[derive(Debug)]
enum Token {
    Word(String),
    Separator,
    /// A subshell opens (`(`, `$(`): also a separator.
    Open,
    /// A subshell closes (`)`): also a separator.
    Close,
}

/// `$VAR` and `${VAR}` (with `${VAR:-default}`) from the script's own assignments, then env.
/// Shell variables as a script sees them: its own assignments, then the step's env (its
/// `${{ }}` expanded on first read: a script reads a few of the dozens a job may set).
struct Vars<'e> {
    env: &'e BTreeMap<String, String>,
    assigned: BTreeMap<String, String>,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(value) = self.assigned.get(name) {
            return Some(value.as_str().into());
        }
        self.env
            .get(name)
            .map(|v| expand_expressions(v, self.env, 0))
    }
}

fn expand_variables(word: String, vars: &Vars<'_>) -> String {
    // Most words (`npm`, `--recursive`, `./dist`) hold nothing to expand.
    if !word.contains(['$', '\u{1}']) {
        return word;
    }
    let word = word.as_str();
    let mut out = String::with_capacity(word.len());
    let mut chars = word.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '$' {
            out.push(if c == '\u{1}' { '$' } else { c });
            continue;
        }
        let rest = &word[at + 1..];
        let (name, default, used) = if let Some(body) = rest.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    let inner = &body[..end];
                    let (name, default) = match inner.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (inner, None),
                    };
                    (name, default, end + 2)
                }
                None => (body, None, body.len() + 1),
            }
        } else {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&rest[..len], None, len)
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        match vars.get(name).or(default.map(Into::into)) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&unknown(&format!("${name}"))),
        }
        for _ in 0..used {
            chars.next();
        }
    }
    out
}

/// The simple commands of a script, expanded. `env` holds the step's env values as written.
pub fn commands(script: &str, first_line: usize, env: &BTreeMap<String, String>) -> Vec<Command> {
    let mut vars = Vars {
        env,
        assigned: BTreeMap::new(),
    };
    let script = expand_expressions(script, env, 0);
    let mut out = Vec::new();
    let mut subshell = 0;
    for (line, text) in logical_lines(&script, first_line) {
        let mut current: Vec<String> = Vec::new();
        let mut at_start = true;
        let finish = |current: &mut Vec<String>, out: &mut Vec<Command>, subshell: usize| {
            if !current.is_empty() {
                out.push(Command {
                    line,
                    words: std::mem::take(current),
                    subshell,
                });
            }
        };
        for token in tokens(&text) {
            match token {
                Token::Separator | Token::Open | Token::Close => {
                    finish(&mut current, &mut out, subshell);
                    at_start = true;
                    match token {
                        Token::Open => subshell += 1,
                        Token::Close => subshell = subshell.saturating_sub(1),
                        _ => {}
                    }
                }
                Token::Word(word) => {
                    let assignment = word.split_once('=').filter(|(name, _)| {
                        !name.is_empty()
                            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                    if at_start && (word == "export" || word == "local") {
                        continue;
                    }
                    if let (true, Some((name, value))) = (at_start, assignment) {
                        let value = expand_variables(value.to_string(), &vars);
                        vars.assigned.insert(name.to_string(), value);
                        continue;
                    }
                    at_start = false;
                    current.push(expand_variables(word, &vars));
                }
            }
        }
        finish(&mut current, &mut out, subshell);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str, env: &[(&str, &str)]) -> Vec<(usize, String)> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        commands(script, 10, &env)
            .into_iter()
            .map(|c| (c.line, c.words.join(" ")))
            .collect()
    }

    #[test]
    fn continuations_quotes_and_separators() {
        let got = words(
            "aws s3 sync \\\n  ./dist \"s3://$BUCKET/site\" --delete && echo done # hi\nID=$(aws sts get-caller-identity)\n",
            &[("BUCKET", "my-site")],
        );
        assert_eq!(
            got,
            vec![
                (
                    10,
                    "aws s3 sync ./dist s3://my-site/site --delete".to_string()
                ),
                (10, "echo done".to_string()),
                (12, "aws sts get-caller-identity".to_string()),
            ]
        );
    }

    #[test]
    fn quoting_escapes_and_braces() {
        let got = words(
            "echo 'a\\b $HOME' \"x\\\"y\" c\\ d résumé#1 ${BUCKET}/k {a,b} 'é$' # gone\n",
            &[("BUCKET", "bkt")],
        );
        assert_eq!(
            got,
            vec![
                (10, "echo a\\b $HOME x\"y c d résumé#1 bkt/k".to_string()),
                // A brace group is a command list of its own.
                (10, "a,b".to_string()),
                (10, "é$".to_string()),
            ]
        );
    }

    #[test]
    fn subshells_are_counted() {
        let env = BTreeMap::new();
        let depths: Vec<(String, usize)> = commands(
            "(cd web && npm run build)\nID=$(aws sts get-caller-identity)\nnpm run deploy\n",
            1,
            &env,
        )
        .into_iter()
        .map(|c| (c.words.join(" "), c.subshell))
        .collect();
        assert_eq!(
            depths,
            [
                ("cd web".to_string(), 1),
                ("npm run build".to_string(), 1),
                ("aws sts get-caller-identity".to_string(), 1),
                ("npm run deploy".to_string(), 0),
            ]
        );
    }

    #[test]
    fn expressions_and_variables() {
        let got = words(
            "FN=api-${{ env.STAGE }}\naws lambda update-function-code --function-name $FN --zip-file x\naws s3 cp a s3://${{ vars.BUCKET }}/ '$LITERAL'\n",
            &[("STAGE", "prod")],
        );
        assert_eq!(
            got[0].1,
            "aws lambda update-function-code --function-name api-prod --zip-file x"
        );
        assert_eq!(got[1].1, "aws s3 cp a s3://«vars.BUCKET»/ $LITERAL");
        assert_eq!(unknowns(&got[1].1), vec!["vars.BUCKET".to_string()]);
        assert_eq!(words("echo $NOPE", &[])[0].1, "echo «$NOPE»");
        assert_eq!(words("echo ${R:-eu-west-1}", &[])[0].1, "echo eu-west-1");
    }
}
