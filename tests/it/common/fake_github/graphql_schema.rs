//! Checks GraphQL queries against the committed subset of GitHub's public schema
//! (tests/graphql/github-schema-subset.json, written by tests/graphql/extract.py): every
//! selected field and argument must exist on its type, and every type condition must be
//! the type itself or one it can be. A small reader for the query language as migrate
//! writes it (operations, fragments, aliases, inline fragments, arguments with variables,
//! enums and input objects); not a general GraphQL validator.

use std::collections::HashMap;

use serde_json::Value;

pub struct Schema {
    types: HashMap<String, TypeDef>,
}

struct TypeDef {
    /// Field name → (type name, argument names).
    fields: HashMap<String, (String, Vec<String>)>,
    possible: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Punct(char),
    Spread,
    Text,
}

fn tokens(query: &str) -> Vec<Token> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Token::Text);
        } else if c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
            out.push(Token::Spread);
            i += 3;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

impl Schema {
    pub fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/graphql/github-schema-subset.json"
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("schema subset exists"))
                .expect("schema subset is JSON");
        let types = doc["types"]
            .as_object()
            .expect("types")
            .iter()
            .map(|(name, t)| {
                let fields = t["fields"]
                    .as_object()
                    .expect("fields")
                    .iter()
                    .map(|(f, def)| {
                        let args = def["args"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a.as_str().map(str::to_string))
                            .collect();
                        (
                            f.clone(),
                            (def["type"].as_str().unwrap_or_default().to_string(), args),
                        )
                    })
                    .collect();
                let possible = t["possibleTypes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect();
                (name.clone(), TypeDef { fields, possible })
            })
            .collect();
        Self { types }
    }

    /// Every problem with `query`, or none.
    pub fn check(&self, query: &str) -> Result<(), String> {
        let tokens = tokens(query);
        // Fragments first: spreads may come before their definitions.
        let mut fragments: HashMap<String, (String, usize)> = HashMap::new();
        let mut operations = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Name(k) if k == "fragment" => {
                    let (Some(Token::Name(name)), Some(Token::Name(on)), Some(Token::Name(ty))) =
                        (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3))
                    else {
                        return Err("malformed fragment".into());
                    };
                    if on != "on" {
                        return Err(format!("fragment {name}: expected `on`"));
                    }
                    fragments.insert(name.clone(), (ty.clone(), i + 4));
                    i = skip_block(&tokens, i + 4)?;
                }
                Token::Name(k) if k == "query" => {
                    let mut j = i + 1;
                    if let Some(Token::Name(_)) = tokens.get(j) {
                        j += 1;
                    }
                    if tokens.get(j) == Some(&Token::Punct('(')) {
                        j = skip_group(&tokens, j, '(', ')')?;
                    }
                    operations.push(j);
                    i = skip_block(&tokens, j)?;
                }
                Token::Punct('{') => {
                    operations.push(i);
                    i = skip_block(&tokens, i)?;
                }
                other => return Err(format!("unexpected {other:?} at the top level")),
            }
        }
        let mut problems = Vec::new();
        for start in operations {
            self.selection_set(&tokens, start, "Query", &fragments, &mut problems)?;
        }
        for (name, (ty, start)) in &fragments {
            if !self.types.contains_key(ty) {
                problems.push(format!("fragment {name} on unknown type {ty}"));
                continue;
            }
            self.selection_set(&tokens, *start, ty, &fragments, &mut problems)?;
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Checks the selection set opening at `start` against type `ty`; returns the index after it.
    fn selection_set(
        &self,
        tokens: &[Token],
        start: usize,
        ty: &str,
        fragments: &HashMap<String, (String, usize)>,
        problems: &mut Vec<String>,
    ) -> Result<usize, String> {
        if tokens.get(start) != Some(&Token::Punct('{')) {
            return Err(format!("expected a selection set on {ty}"));
        }
        let Some(def) = self.types.get(ty) else {
            problems.push(format!(
                "type {ty} is not in tests/graphql/github-schema-subset.json (add it to extract.py)"
            ));
            return skip_block(tokens, start);
        };
        let mut i = start + 1;
        loop {
            match tokens.get(i) {
                None => return Err("unclosed selection set".into()),
                Some(Token::Punct('}')) => return Ok(i + 1),
                Some(Token::Spread) => match tokens.get(i + 1) {
                    Some(Token::Name(on)) if on == "on" => {
                        let Some(Token::Name(cond)) = tokens.get(i + 2) else {
                            return Err("inline fragment without a type".into());
                        };
                        if cond != ty && !def.possible.contains(cond) {
                            problems.push(format!("{ty} can never be a {cond}"));
                        }
                        i = self.selection_set(tokens, i + 3, cond, fragments, problems)?;
                    }
                    Some(Token::Name(spread)) => {
                        match fragments.get(spread) {
                            Some((cond, _)) if cond != ty && !def.possible.contains(cond) => {
                                problems.push(format!("...{spread}: {ty} can never be a {cond}"))
                            }
                            Some(_) => {}
                            None => problems.push(format!("unknown fragment {spread}")),
                        }
                        i += 2;
                    }
                    _ => return Err("malformed spread".into()),
                },
                Some(Token::Name(first)) => {
                    // `alias: field` or `field`.
                    let (field, mut j) = match (tokens.get(i + 1), tokens.get(i + 2)) {
                        (Some(Token::Punct(':')), Some(Token::Name(real))) => (real.clone(), i + 3),
                        _ => (first.clone(), i + 1),
                    };
                    let known = def.fields.get(&field);
                    if known.is_none() && field != "__typename" {
                        problems.push(format!("{ty} has no field `{field}`"));
                    }
                    if tokens.get(j) == Some(&Token::Punct('(')) {
                        let end = skip_group(tokens, j, '(', ')')?;
                        if let Some((_, args)) = known {
                            for arg in argument_names(&tokens[j + 1..end - 1]) {
                                if !args.contains(&arg) {
                                    problems.push(format!("{ty}.{field} has no argument `{arg}`"));
                                }
                            }
                        }
                        j = end;
                    }
                    if tokens.get(j) == Some(&Token::Punct('{')) {
                        j = match known {
                            Some((inner, _)) => {
                                self.selection_set(tokens, j, inner, fragments, problems)?
                            }
                            None => skip_block(tokens, j)?,
                        };
                    }
                    i = j;
                }
                Some(other) => return Err(format!("unexpected {other:?} in a selection set")),
            }
        }
    }
}

/// Names directly followed by `:` at the top level of an argument list.
fn argument_names(inside: &[Token]) -> Vec<String> {
    let mut depth = 0;
    let mut out = Vec::new();
    for (k, t) in inside.iter().enumerate() {
        match t {
            Token::Punct('{' | '[') => depth += 1,
            Token::Punct('}' | ']') => depth -= 1,
            Token::Name(n)
                if depth == 0
                    && inside.get(k + 1) == Some(&Token::Punct(':'))
                    && (k == 0 || inside[k - 1] != Token::Punct('$')) =>
            {
                out.push(n.clone())
            }
            _ => {}
        }
    }
    out
}

/// Index after the `{ … }` block opening at `start`.
fn skip_block(tokens: &[Token], start: usize) -> Result<usize, String> {
    skip_group(tokens, start, '{', '}')
}

fn skip_group(tokens: &[Token], start: usize, open: char, close: char) -> Result<usize, String> {
    if tokens.get(start) != Some(&Token::Punct(open)) {
        return Err(format!("expected `{open}`"));
    }
    let mut depth = 0;
    for (k, t) in tokens.iter().enumerate().skip(start) {
        if *t == Token::Punct(open) {
            depth += 1;
        } else if *t == Token::Punct(close) {
            depth -= 1;
            if depth == 0 {
                return Ok(k + 1);
            }
        }
    }
    Err(format!("unclosed `{open}`"))
}
