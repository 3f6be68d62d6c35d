//! Property test of the credential-flow promise over generated env layering: workflow, job
//! and step `env:` keys × a configure step with keys (or none) × `if:` conditions. For every
//! file rewrite changes, each step that used keys gets, in the output, the role the map gives
//! those keys, from a configure step that runs wherever the step does (or keeps its keys
//! untouched); for every finding it leaves, the reason names a credential-flow class. The
//! expected keys per step are computed here from GitHub's precedence rules, independently of
//! the tool's model.

use migrate::rewrite::{self, RewriteOptions, RoleMap, RoleSource};
use migrate::yaml::Document;
use proptest::prelude::*;

/// Which key pair a layer sets (`A`, `B`) or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    None,
    A,
    B,
}

fn keys() -> impl Strategy<Value = Keys> {
    prop_oneof![Just(Keys::None), Just(Keys::A), Just(Keys::B)]
}

#[derive(Debug, Clone)]
struct Consumer {
    env: Keys,
    condition: Option<&'static str>,
    command: &'static str,
}

#[derive(Debug, Clone)]
struct Spec {
    workflow_env: Keys,
    job_env: Keys,
    /// A configure step with these keys as inputs before consumer `at`.
    configure: Option<(Keys, usize)>,
    consumers: Vec<Consumer>,
}

const CONDITIONS: &[&str] = &[
    "github.ref == 'refs/heads/main'",
    "github.event_name == 'push'",
    "${{ always() }}",
];

const COMMANDS: &[&str] = &[
    "aws s3 ls",
    "npx cdk deploy",
    "terraform apply -auto-approve",
    "make test",
];

fn consumer() -> impl Strategy<Value = Consumer> {
    (
        keys(),
        prop::option::of(prop::sample::select(CONDITIONS)),
        prop::sample::select(COMMANDS),
    )
        .prop_map(|(env, condition, command)| Consumer {
            env,
            condition,
            command,
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        keys(),
        keys(),
        prop::option::of((prop_oneof![Just(Keys::A), Just(Keys::B)], 0usize..3)),
        prop::collection::vec(consumer(), 1..4),
    )
        .prop_map(|(workflow_env, job_env, configure, consumers)| Spec {
            workflow_env,
            job_env,
            configure,
            consumers,
        })
}

fn env_block(keys: Keys, indent: &str) -> String {
    let (id, secret) = match keys {
        Keys::None => return String::new(),
        Keys::A => ("A_KEY_ID", "A_SECRET"),
        Keys::B => ("B_KEY_ID", "B_SECRET"),
    };
    format!(
        "{indent}env:\n{indent}  AWS_ACCESS_KEY_ID: ${{{{ secrets.{id} }}}}\n{indent}  AWS_SECRET_ACCESS_KEY: ${{{{ secrets.{secret} }}}}\n"
    )
}

fn render(spec: &Spec) -> String {
    let mut out = String::from("on:\n  push:\n    branches: [main]\n");
    out.push_str(&env_block(spec.workflow_env, ""));
    out.push_str("jobs:\n  deploy:\n    runs-on: ubuntu-latest\n");
    out.push_str(&env_block(spec.job_env, "    "));
    out.push_str("    steps:\n      - uses: actions/checkout@v4\n");
    for (i, c) in spec.consumers.iter().enumerate() {
        if let Some((k, at)) = spec.configure
            && at == i
        {
            let (id, secret) = if k == Keys::A {
                ("A_KEY_ID", "A_SECRET")
            } else {
                ("B_KEY_ID", "B_SECRET")
            };
            out.push_str(&format!(
                "      - name: creds\n        uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{{{ secrets.{id} }}}}\n          aws-secret-access-key: ${{{{ secrets.{secret} }}}}\n          aws-region: us-east-1\n"
            ));
        }
        out.push_str(&format!("      - name: use-{i}\n"));
        if let Some(cond) = c.condition {
            out.push_str(&format!("        if: \"{cond}\"\n"));
        }
        out.push_str(&format!("        run: {}\n", c.command));
        let mut env = env_block(c.env, "        ");
        if env.is_empty() {
            env = "        env:\n          AWS_REGION: us-east-1\n".into();
        } else {
            env.push_str("          AWS_REGION: us-east-1\n");
        }
        out.push_str(&env);
    }
    out
}

/// The keys consumer `i` saw in the input, by GitHub's precedence: workflow env < job env <
/// what a configure step before it exported < step env.
fn expected_keys(spec: &Spec, i: usize) -> Keys {
    let step = spec.consumers[i].env;
    if step != Keys::None {
        return step;
    }
    if let Some((k, at)) = spec.configure
        && at <= i
    {
        return k;
    }
    if spec.job_env != Keys::None {
        return spec.job_env;
    }
    spec.workflow_env
}

const ROLE_A: &str = "arn:aws:iam::111111111111:role/a";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/b";

fn options() -> RewriteOptions {
    let map = RoleMap::from_toml(
        &format!(
            "[roles]\nA_KEY_ID = \"{ROLE_A}\"\nA_SECRET = \"{ROLE_A}\"\nB_KEY_ID = \"{ROLE_B}\"\nB_SECRET = \"{ROLE_B}\"\n"
        ),
        "props",
    )
    .expect("role map");
    RewriteOptions::new(RoleSource::Map(map))
}

/// What step `use-i` sees in the output: its own env keys, else the role (and condition) of
/// the last configure step before it, else job or workflow env keys.
#[derive(Debug, PartialEq)]
enum Seen {
    Keys(String),
    Role(String, Option<String>),
    Nothing,
}

fn seen_in_output(text: &str, i: usize) -> Seen {
    let doc = Document::parse(text).expect("output parses");
    let root = doc.root().expect("root");
    let pair = |env: Option<migrate::yaml::Node<'_>>| {
        env.and_then(|e| e.get_str("AWS_ACCESS_KEY_ID"))
            .map(|v| v.to_string())
    };
    let job = root.get("jobs").and_then(|j| j.get("deploy")).expect("job");
    let mut seen = pair(job.get("env"))
        .or_else(|| pair(root.get("env")))
        .map_or(Seen::Nothing, Seen::Keys);
    for step in job.get("steps").expect("steps").items() {
        if step.get_str("name") == Some(&format!("use-{i}")) {
            if let Some(own) = pair(step.get("env")) {
                return Seen::Keys(own);
            }
            return seen;
        }
        let is_configure = step
            .get_str("uses")
            .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"));
        if is_configure {
            let with = step.get("with").expect("with");
            seen = match with.get_str("role-to-assume") {
                Some(role) => Seen::Role(role.to_string(), step.get_str("if").map(str::to_string)),
                None => Seen::Keys(with.get_str("aws-access-key-id").unwrap_or("").to_string()),
            };
        }
    }
    panic!("use-{i} missing from the output");
}

const CLASSES: &[&str] = &[
    "distinct-key-pairs",
    "key-only-consumer",
    "token-permissions",
    "role-chaining",
    "key-guard",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn every_rewritten_step_keeps_its_access(spec in spec()) {
        let text = render(&spec);
        let outcome = rewrite::rewrite("props.yml", &text, &options()).expect("no error");
        for m in &outcome.manual {
            prop_assert!(
                CLASSES.iter().any(|c| m.reason.starts_with(c)),
                "reason names no class: {}\n{text}",
                m.reason
            );
        }
        if !outcome.changed() {
            return Ok(());
        }
        for (i, c) in spec.consumers.iter().enumerate() {
            let had = expected_keys(&spec, i);
            let now = seen_in_output(&outcome.text, i);
            let role = match had {
                Keys::None => continue,
                Keys::A => ROLE_A,
                Keys::B => ROLE_B,
            };
            match &now {
                // Left alone (its finding is manual): it keeps its keys.
                Seen::Keys(k) => prop_assert!(
                    k.contains(if had == Keys::A { "A_KEY_ID" } else { "B_KEY_ID" }),
                    "use-{i} had {had:?}, now {now:?}\n{text}\n{}", outcome.text
                ),
                Seen::Role(r, provider_if) => {
                    prop_assert_eq!(r.as_str(), role, "use-{} had {:?}\n{}\n{}", i, had, text, outcome.text);
                    // The provider runs wherever the step runs: unconditional, `always()`
                    // (it runs even after a failure, where an unconditional step would not),
                    // or its condition contains the step's.
                    if let Some(p) = provider_if.as_deref().filter(|p| *p != "always()") {
                        let cond = c.condition.map(|c| c.trim_start_matches("${{ ").trim_end_matches(" }}"));
                        prop_assert!(
                            cond.is_some_and(|c| p.contains(c)),
                            "use-{i} runs if {cond:?} but its provider only if {p}\n{}", outcome.text
                        );
                    }
                }
                Seen::Nothing => prop_assert!(false, "use-{i} lost its credentials\n{text}\n{}", outcome.text),
            }
        }
    }
}
