//! `migrate scan` end to end: the real binary over the fixtures and the real-world corpus.

use crate::common;

use std::collections::BTreeSet;

use common::{json, migrate, root, stdout, yaml_files};

/// (path, line, rule, fix) as the binary reports them.
fn reported(dirs: &[&str]) -> BTreeSet<(String, u64, String, String)> {
    let output = migrate()
        .arg("scan")
        .args(dirs)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let doc = json(&output);
    assert_eq!(doc["errors"], serde_json::json!([]), "unexpected errors");
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            // `info` findings (not AWS, local-only runs) are marked `info` instead of a fix.
            let fix = if f["severity"] == "info" {
                "info"
            } else {
                f["fix"].as_str().unwrap_or_default()
            };
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default().to_string(),
                fix.to_string(),
            )
        })
        .collect()
}

/// Expectations written in the fixtures as `# expect: RULE FIX` at the end of a line.
fn expected(dirs: &[&str]) -> BTreeSet<(String, u64, String, String)> {
    let mut out = BTreeSet::new();
    for dir in dirs {
        for path in yaml_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&path).expect("fixture is UTF-8");
            let shown = path
                .strip_prefix(root())
                .expect("under root")
                .display()
                .to_string();
            for (i, line) in text.lines().enumerate() {
                if let Some((_, marker)) = line.split_once("# expect: ") {
                    let mut words = marker.split_whitespace();
                    let rule = words.next().expect("rule").to_string();
                    let fix = words.next().expect("fix").to_string();
                    out.insert((shown.clone(), i as u64 + 1, rule, fix));
                }
            }
        }
    }
    out
}

#[test]
fn fixtures_report_exactly_their_expectations() {
    let dirs = [
        "testdata/flow",
        "testdata/rules",
        "testdata/negative",
        "testdata/repos",
    ];
    let expected = expected(&dirs);
    assert!(expected.len() > 20, "fixtures lost their markers");
    assert_eq!(reported(&dirs), expected);
}

/// The real corpus, reviewed file by file against MANIFEST.tsv: one line per finding.
#[test]
fn corpus_findings_snapshot() {
    let output = migrate()
        .args(["scan", "testdata/corpus", "--format", "json"])
        .output()
        .expect("runs");
    let doc = json(&output);
    let mut lines = Vec::new();
    for f in doc["findings"].as_array().expect("findings") {
        let path = f["path"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("testdata/corpus/");
        let secrets: Vec<&str> = f["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        lines.push(format!(
            "{}:{}:{} {} {} {} [{}]",
            &path[..3],
            f["line"],
            f["column"],
            f["rule"].as_str().unwrap_or_default(),
            f["fix"].as_str().unwrap_or_default(),
            f["severity"].as_str().unwrap_or_default(),
            secrets.join(",")
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
    assert_eq!(output.status.code(), Some(10));
}

#[test]
fn corpus_negatives_have_no_findings() {
    let manifest =
        std::fs::read_to_string(root().join("testdata/corpus/MANIFEST.tsv")).expect("manifest");
    let negatives: Vec<String> = manifest
        .lines()
        .filter(|l| l.contains("NEGATIVE"))
        .map(|l| {
            format!(
                "testdata/corpus/{}",
                l.split('\t').next().unwrap_or_default()
            )
        })
        .collect();
    assert!(negatives.len() >= 14);
    let output = migrate()
        .arg("scan")
        .args(&negatives)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let doc = json(&output);
    assert_eq!(doc["summary"]["findings"], 0, "{}", stdout(&output));
    assert_eq!(doc["summary"]["files"], negatives.len());
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn json_carries_sub_claim_facts_per_job() {
    let output = migrate()
        .args([
            "scan",
            "testdata/corpus/046-Lock128-speech-to-text-cdk-deploy.yml",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let doc = json(&output);
    assert_eq!(doc["version"], 1);
    let jobs = doc["files"][0]["jobs"].as_array().expect("jobs");
    let envs: Vec<&str> = jobs
        .iter()
        .filter_map(|j| j["environment"].as_str())
        .collect();
    assert!(
        envs.contains(&"development") && envs.contains(&"production"),
        "{envs:?}"
    );
    let prod = jobs
        .iter()
        .find(|j| j["environment"] == "production")
        .expect("prod job");
    assert_eq!(
        prod["subjects"],
        serde_json::json!([{"kind": "environment", "value": "production"}])
    );
}

#[test]
fn literal_keys_are_masked_everywhere() {
    for format in ["human", "json", "sarif", "github"] {
        let output = migrate()
            .args([
                "scan",
                "testdata/rules/action-inputs-and-scripts.yml",
                "--format",
                format,
            ])
            .output()
            .expect("runs");
        let text = stdout(&output);
        assert!(text.contains("AKIA…DFGH"), "{format}: {text}");
        assert!(
            !text.contains("AKIAQWERTYUIOPASDFGH"),
            "{format} leaks the key: {text}"
        );
    }
}
