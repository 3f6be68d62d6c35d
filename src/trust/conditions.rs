//! IAM's evaluation of a role's trust policy for `sts:AssumeRoleWithWebIdentity`, against the
//! claims a GitHub OIDC token would present. Pure. Semantics as IAM documents them: values
//! listed for one key are ORed, keys and operators are ANDed, `StringLike` knows `*` and `?`,
//! `ForAnyValue:`/`ForAllValues:` compare sets (`ForAllValues` is true when the claim is
//! absent), `…IfExists` is true when it is absent, and an explicit `Deny` wins.

use std::collections::BTreeMap;

use serde_json::Value;

/// The action a web-identity login asks for.
const ASSUME_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// The claims one run presents, by condition key (`token.actions.githubusercontent.com:sub`).
/// Keys are compared case-insensitively, as IAM does; values case-sensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    values: BTreeMap<String, Vec<String>>,
    /// Condition keys whose value cannot be known before the run (`actor`, `run_id`...).
    unknowable: Vec<String>,
}

impl Claims {
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    /// A key the token carries, with a value only the run decides.
    pub fn unknowable(&mut self, key: &str) {
        self.unknowable.push(key.to_ascii_lowercase());
    }

    /// The single value of `key`, if the token carries one.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn get(&self, key: &str) -> Lookup<'_> {
        let key = key.to_ascii_lowercase();
        match self.values.get(&key) {
            Some(values) => Lookup::Present(values),
            None if self.unknowable.contains(&key) => Lookup::Unknowable,
            None => Lookup::Absent,
        }
    }
}

enum Lookup<'a> {
    Present(&'a [String]),
    Absent,
    Unknowable,
}

/// IAM's answer for one set of claims.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", content = "why", rename_all = "kebab-case")]
pub enum Verdict {
    Allowed,
    /// No `Allow` statement matches (or a `Deny` does); says which.
    Denied(String),
    /// The answer depends on something only the run knows (a claim, an operator we do not model).
    Undetermined(String),
}

/// Three-valued outcome of a condition block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Match {
    Yes,
    No(String),
    Unknown(String),
}

/// Evaluates `policy` (the trust policy document, already URL-decoded) for a login through
/// the provider `provider_arn` presenting `claims`.
pub fn evaluate(policy: &str, provider_arn: &str, claims: &Claims) -> Verdict {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Verdict::Undetermined("the trust policy is not valid JSON".into());
    };
    let mut allowed = false;
    let mut unknown: Option<String> = None;
    let mut misses: Vec<String> = Vec::new();
    for statement in statements(&doc) {
        if !applies(statement, provider_arn) {
            continue;
        }
        let deny = statement["Effect"].as_str() == Some("Deny");
        match conditions_match(&statement["Condition"], claims) {
            Match::Yes if deny => {
                return Verdict::Denied("an explicit Deny statement matches".into());
            }
            Match::Yes => allowed = true,
            Match::Unknown(why) if !deny => unknown = Some(why),
            Match::Unknown(why) => {
                return Verdict::Undetermined(format!("a Deny statement may match: {why}"));
            }
            Match::No(why) if !deny => misses.push(why),
            Match::No(_) => {}
        }
    }
    if allowed {
        return Verdict::Allowed;
    }
    if let Some(why) = unknown {
        return Verdict::Undetermined(why);
    }
    if misses.is_empty() {
        return Verdict::Denied(format!(
            "no Allow statement for {ASSUME_ACTION} trusts the provider {provider_arn}"
        ));
    }
    misses.dedup();
    Verdict::Denied(misses.join("; "))
}

/// The values the policy's `Allow` statements accept for `key` (positive string operators
/// only), for "the closest value allowed" in reports.
pub fn allowed_values(policy: &str, provider_arn: &str, key: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for statement in statements(&doc) {
        if statement["Effect"].as_str() != Some("Allow") || !applies(statement, provider_arn) {
            continue;
        }
        let Some(block) = statement["Condition"].as_object() else {
            continue;
        };
        for (operator, keys) in block {
            let Some(op) = Operator::parse(operator) else {
                continue;
            };
            if op.negated || op.base == Base::Null {
                continue;
            }
            for (k, values) in keys.as_object().into_iter().flatten() {
                if k.eq_ignore_ascii_case(key) {
                    out.extend(strings(values));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The candidate nearest to `presented` (fewest character edits), to show next to a denial.
pub fn closest<'a>(presented: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .min_by_key(|c| edit_distance(presented, c))
        .map(String::as_str)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(list) => list.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// Whether a statement is about web-identity logins through this provider.
fn applies(statement: &Value, provider_arn: &str) -> bool {
    let action = strings(&statement["Action"])
        .iter()
        .any(|a| like(&a.to_ascii_lowercase(), &ASSUME_ACTION.to_ascii_lowercase()));
    let principal = match &statement["Principal"] {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .get("Federated")
            .map(strings)
            .unwrap_or_default()
            .iter()
            .any(|p| p == provider_arn || p == "*"),
        _ => false,
    };
    action && principal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Equals,
    EqualsIgnoreCase,
    Like,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetMode {
    Single,
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone, Copy)]
struct Operator {
    base: Base,
    negated: bool,
    set: SetMode,
    if_exists: bool,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetMode::AnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetMode::AllValues, rest)
        } else {
            (SetMode::Single, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (base, negated) = match rest {
            "StringEquals" => (Base::Equals, false),
            "StringNotEquals" => (Base::Equals, true),
            "StringEqualsIgnoreCase" => (Base::EqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Base::EqualsIgnoreCase, true),
            "StringLike" => (Base::Like, false),
            "StringNotLike" => (Base::Like, true),
            "Null" => (Base::Null, false),
            _ => return None,
        };
        Some(Self {
            base,
            negated,
            set,
            if_exists,
        })
    }

    /// Whether one request value matches one of the policy's values (before negation).
    fn matches_any(&self, value: &str, allowed: &[String]) -> bool {
        allowed.iter().any(|a| match self.base {
            Base::Equals => a == value,
            Base::EqualsIgnoreCase => a.eq_ignore_ascii_case(value),
            Base::Like => like(a, value),
            Base::Null => false,
        })
    }

    fn test(&self, present: Option<&[String]>, allowed: &[String]) -> bool {
        if self.base == Base::Null {
            let wants_absent = allowed.iter().any(|a| a == "true");
            return wants_absent == present.is_none();
        }
        let hit = |v: &String| self.matches_any(v, allowed) != self.negated;
        match (self.set, present) {
            (SetMode::AllValues, None) => true,
            (SetMode::AllValues, Some(values)) => values.iter().all(hit),
            (SetMode::AnyValue, None) => false,
            (SetMode::AnyValue, Some(values)) => values.iter().any(hit),
            (SetMode::Single, None) => self.if_exists || self.negated,
            (SetMode::Single, Some(values)) => values.iter().any(hit),
        }
    }
}

fn conditions_match(block: &Value, claims: &Claims) -> Match {
    let Some(block) = block.as_object() else {
        return Match::Yes;
    };
    let mut unknown = None;
    for (operator, keys) in block {
        let Some(op) = Operator::parse(operator) else {
            unknown = Some(format!(
                "the condition operator `{operator}` is not evaluated here"
            ));
            continue;
        };
        for (key, values) in keys.as_object().into_iter().flatten() {
            let allowed = strings(values);
            let present = match claims.get(key) {
                Lookup::Present(values) => Some(values),
                Lookup::Absent => None,
                Lookup::Unknowable => {
                    unknown = Some(format!("`{key}` is only known when the job runs"));
                    continue;
                }
            };
            if !op.test(present, &allowed) {
                let shown = present.map_or("(absent)".to_string(), |v| v.join(", "));
                return Match::No(format!("{operator} {key} is not satisfied by `{shown}`"));
            }
        }
    }
    unknown.map_or(Match::Yes, Match::Unknown)
}

/// IAM's `StringLike`: `*` matches any run of characters (including `/` and `:`), `?` one.
pub fn like(pattern: &str, text: &str) -> bool {
    crate::glob::glob_match(pattern, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    const SUB: &str = "token.actions.githubusercontent.com:sub";
    const AUD: &str = "token.actions.githubusercontent.com:aud";

    fn policy(condition: Value) -> String {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]})
        .to_string()
    }

    fn claims(sub: &str, aud: &str) -> Claims {
        let mut c = Claims::default();
        c.set(SUB, sub);
        c.set(AUD, aud);
        c
    }

    #[test]
    fn values_are_ored_and_keys_anded() {
        let p = policy(json!({
            "StringEquals": {AUD: "sts.amazonaws.com"},
            "StringLike": {SUB: ["repo:o/r:ref:refs/heads/main", "repo:o/r:environment:prod"]},
        }));
        let ok = claims("repo:o/r:environment:prod", "sts.amazonaws.com");
        assert_eq!(evaluate(&p, PROVIDER, &ok), Verdict::Allowed);
        let wrong_aud = claims("repo:o/r:environment:prod", "https://github.com/o");
        assert!(
            matches!(evaluate(&p, PROVIDER, &wrong_aud), Verdict::Denied(why) if why.contains(":aud"))
        );
        let pr = claims("repo:o/r:pull_request", "sts.amazonaws.com");
        assert!(matches!(evaluate(&p, PROVIDER, &pr), Verdict::Denied(_)));
        let other_provider =
            "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token";
        assert!(
            matches!(evaluate(&p, other_provider, &ok), Verdict::Denied(why) if why.contains("provider"))
        );
    }

    #[test]
    fn like_knows_star_and_question_mark() {
        assert!(like("repo:o/r:*", "repo:o/r:ref:refs/heads/a/b"));
        assert!(like(
            "repo:o/r:ref:refs/tags/v?",
            "repo:o/r:ref:refs/tags/v1"
        ));
        assert!(!like(
            "repo:o/r:ref:refs/tags/v?",
            "repo:o/r:ref:refs/tags/v10"
        ));
        assert!(!like(
            "repo:o/r:ref:refs/heads/main",
            "repo:o/r:ref:refs/heads/main2"
        ));
        // StringEquals never treats `*` as a wildcard.
        let p = policy(json!({"StringEquals": {SUB: "repo:o/r:*"}}));
        assert!(matches!(
            evaluate(&p, PROVIDER, &claims("repo:o/r:pull_request", "x")),
            Verdict::Denied(_)
        ));
    }

    #[test]
    fn set_operators_and_absent_claims() {
        // ForAllValues passes when the claim is absent: the trap the action's README warns of.
        let p = policy(json!({"ForAllValues:StringEquals": {
            "token.actions.githubusercontent.com:environment": "prod"}}));
        assert_eq!(evaluate(&p, PROVIDER, &claims("s", "a")), Verdict::Allowed);
        let p = policy(json!({"ForAnyValue:StringEquals": {
            "token.actions.githubusercontent.com:environment": "prod"}}));
        assert!(matches!(
            evaluate(&p, PROVIDER, &claims("s", "a")),
            Verdict::Denied(_)
        ));
        let p = policy(json!({"StringEqualsIfExists": {
            "token.actions.githubusercontent.com:environment": "prod"}}));
        assert_eq!(evaluate(&p, PROVIDER, &claims("s", "a")), Verdict::Allowed);
        let p = policy(json!({"StringNotEquals": {SUB: "repo:o/r:pull_request"}}));
        assert!(matches!(
            evaluate(&p, PROVIDER, &claims("repo:o/r:pull_request", "a")),
            Verdict::Denied(_)
        ));
    }

    #[test]
    fn deny_wins_and_unknowns_are_said() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
             "Action": ["sts:AssumeRoleWithWebIdentity"],
             "Condition": {"StringLike": {SUB: "repo:o/r:*"}}},
            {"Effect": "Deny", "Principal": {"Federated": PROVIDER},
             "Action": "sts:*",
             "Condition": {"StringEquals": {SUB: "repo:o/r:pull_request"}}},
        ]})
        .to_string();
        assert_eq!(
            evaluate(&doc, PROVIDER, &claims("repo:o/r:ref:refs/heads/x", "a")),
            Verdict::Allowed
        );
        assert!(matches!(
            evaluate(&doc, PROVIDER, &claims("repo:o/r:pull_request", "a")),
            Verdict::Denied(why) if why.contains("Deny")
        ));
        let p = policy(
            json!({"StringEquals": {"token.actions.githubusercontent.com:actor": "octocat"}}),
        );
        let mut c = claims("s", "a");
        c.unknowable("token.actions.githubusercontent.com:actor");
        assert!(matches!(
            evaluate(&p, PROVIDER, &c),
            Verdict::Undetermined(_)
        ));
    }

    #[test]
    fn closest_allowed_value() {
        let p =
            policy(json!({"StringLike": {SUB: ["repo:o/r:ref:refs/heads/main", "repo:o/x:*"]}}));
        let allowed = allowed_values(&p, PROVIDER, SUB);
        assert_eq!(
            closest("repo:o/r:ref:refs/heads/dev", &allowed),
            Some("repo:o/r:ref:refs/heads/main")
        );
    }
}
