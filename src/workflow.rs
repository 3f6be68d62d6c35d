//! The GitHub Actions vocabulary over a located YAML tree: workflows, composite actions,
//! jobs, steps, `uses:` references and `env:` scopes. Views only: nothing is copied.

use crate::yaml::{Document, Node};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Workflow,
    CompositeAction,
}

/// A workflow file (top-level `jobs`) or a composite action (`runs.using: composite`).
#[derive(Debug, Clone, Copy)]
pub struct Workflow<'d> {
    pub root: Node<'d>,
    pub kind: FileKind,
}

impl<'d> Workflow<'d> {
    pub fn classify(doc: &'d Document) -> Option<Self> {
        let root = doc.root()?;
        if !root.is_mapping() {
            return None;
        }
        if root.get("jobs").is_some() {
            return Some(Self {
                root,
                kind: FileKind::Workflow,
            });
        }
        let runs = root.get("runs")?;
        let using = runs.get_str("using")?;
        using.eq_ignore_ascii_case("composite").then_some(Self {
            root,
            kind: FileKind::CompositeAction,
        })
    }

    pub fn env(&self) -> Option<Node<'d>> {
        match self.kind {
            FileKind::Workflow => self.root.get("env"),
            FileKind::CompositeAction => None,
        }
    }

    pub fn permissions(&self) -> Option<Node<'d>> {
        self.root.get("permissions")
    }

    /// The `on:` node.
    pub fn on(&self) -> Option<Node<'d>> {
        self.root.get("on")
    }

    /// Reusable workflow: `on.workflow_call` (mapping or bare).
    pub fn workflow_call(&self) -> Option<Node<'d>> {
        let on = self.on()?;
        if let Some(name) = on.as_str() {
            return (name == "workflow_call").then_some(on);
        }
        if on.is_sequence() {
            return on.items().find(|i| i.as_str() == Some("workflow_call"));
        }
        on.get("workflow_call")
    }

    /// Jobs in file order. A composite action is one job with no id.
    pub fn jobs(&self) -> Vec<Job<'d>> {
        match self.kind {
            FileKind::Workflow => self
                .root
                .get("jobs")
                .map(|jobs| {
                    jobs.entries()
                        .filter_map(|(k, v)| {
                            Some(Job {
                                id: Some(k.as_str()?),
                                key: Some(k),
                                node: v,
                                composite_steps: None,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            FileKind::CompositeAction => {
                let runs = self.root.get("runs");
                vec![Job {
                    id: None,
                    key: None,
                    node: runs.unwrap_or(self.root),
                    composite_steps: runs.and_then(|r| r.get("steps")),
                }]
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Job<'d> {
    /// `None` for the steps of a composite action.
    pub id: Option<&'d str>,
    pub key: Option<Node<'d>>,
    pub node: Node<'d>,
    composite_steps: Option<Node<'d>>,
}

impl<'d> Job<'d> {
    pub fn steps_node(&self) -> Option<Node<'d>> {
        match self.id {
            None => self.composite_steps,
            Some(_) => self.node.get("steps"),
        }
    }

    pub fn steps(&self) -> Vec<Step<'d>> {
        self.steps_node()
            .map(|s| {
                s.items()
                    .enumerate()
                    .map(|(index, node)| Step { index, node })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn env(&self) -> Option<Node<'d>> {
        self.id.and_then(|_| self.node.get("env"))
    }

    pub fn container_env(&self) -> Option<Node<'d>> {
        self.id
            .and_then(|_| self.node.get("container"))
            .and_then(|c| c.get("env"))
    }

    pub fn permissions(&self) -> Option<Node<'d>> {
        self.id.and_then(|_| self.node.get("permissions"))
    }

    /// `environment: NAME` or `environment: { name: NAME }`.
    pub fn environment(&self) -> Option<Node<'d>> {
        let env = self.id.and_then(|_| self.node.get("environment"))?;
        if env.is_mapping() {
            env.get("name")
        } else {
            Some(env)
        }
    }

    /// A job that calls a reusable workflow (`jobs.<id>.uses`).
    pub fn reusable_call(&self) -> Option<Uses<'d>> {
        let node = self.id.and_then(|_| self.node.get("uses"))?;
        Some(Uses::parse(node.as_str()?, node))
    }

    /// `secrets:` of a reusable-workflow call: `inherit` or a mapping.
    pub fn call_secrets(&self) -> Option<Node<'d>> {
        self.id.and_then(|_| self.node.get("secrets"))
    }

    pub fn label(&self) -> String {
        self.id
            .map_or_else(|| "(composite action)".to_string(), str::to_string)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Step<'d> {
    /// 0-based position in `steps:`.
    pub index: usize,
    pub node: Node<'d>,
}

impl<'d> Step<'d> {
    pub fn name(&self) -> Option<&'d str> {
        self.node.get_str("name")
    }

    pub fn id(&self) -> Option<&'d str> {
        self.node.get_str("id")
    }

    pub fn uses(&self) -> Option<Uses<'d>> {
        let node = self.node.get("uses")?;
        Some(Uses::parse(node.as_str()?, node))
    }

    pub fn with(&self) -> Option<Node<'d>> {
        self.node.get("with")
    }

    pub fn env(&self) -> Option<Node<'d>> {
        self.node.get("env")
    }

    pub fn run(&self) -> Option<Node<'d>> {
        self.node.get("run")
    }

    pub fn condition(&self) -> Option<&'d str> {
        self.node.get_str("if")
    }

    /// "step 3 (Deploy)" style label, 1-based for people.
    pub fn label(&self) -> String {
        match self.name().or_else(|| self.uses().map(|u| u.raw)) {
            Some(name) => format!("step {} ({})", self.index + 1, name),
            None => format!("step {}", self.index + 1),
        }
    }
}

/// A parsed `uses:` value.
#[derive(Debug, Clone, Copy)]
pub struct Uses<'d> {
    pub raw: &'d str,
    pub node: Node<'d>,
    /// `owner/repo` (lowercased compare) for remote actions; empty for local and docker.
    pub repo: &'d str,
    /// Path inside the repo (`""` for the root action).
    pub path: &'d str,
    pub git_ref: Option<&'d str>,
    pub local: bool,
    pub docker: bool,
}

impl<'d> Uses<'d> {
    pub fn parse(raw: &'d str, node: Node<'d>) -> Self {
        let trimmed = raw.trim();
        if trimmed.starts_with("docker://") {
            return Self {
                raw,
                node,
                repo: "",
                path: "",
                git_ref: None,
                local: false,
                docker: true,
            };
        }
        if trimmed.starts_with("./") || trimmed == "." {
            return Self {
                raw,
                node,
                repo: "",
                path: trimmed,
                git_ref: None,
                local: true,
                docker: false,
            };
        }
        let (target, git_ref) = match trimmed.split_once('@') {
            Some((t, r)) => (t, Some(r)),
            None => (trimmed, None),
        };
        let mut parts = target.splitn(3, '/');
        let owner = parts.next().unwrap_or("");
        let name = parts.next().unwrap_or("");
        let repo = &target[..(owner.len() + 1 + name.len()).min(target.len())];
        let path = parts.next().unwrap_or("");
        Self {
            raw,
            node,
            repo,
            path,
            git_ref,
            local: false,
            docker: false,
        }
    }

    /// The repository name without its owner (`configure-aws-credentials`).
    pub fn repo_name(&self) -> &'d str {
        self.repo.rsplit('/').next().unwrap_or("")
    }

    /// `aws-actions/configure-aws-credentials` or a mirror of it under another owner.
    pub fn is_configure_aws_credentials(&self) -> bool {
        !self.local
            && self.path.is_empty()
            && self
                .repo_name()
                .eq_ignore_ascii_case("configure-aws-credentials")
    }

    /// The repo-root action `uses: ./`, which is configure-aws-credentials in its own repo.
    pub fn is_repo_root_action(&self) -> bool {
        self.local && matches!(self.path.trim_end_matches('/'), "." | "")
    }

    /// Whether this names `owner/repo` (case-insensitive).
    pub fn is(&self, repo: &str) -> bool {
        !self.local && self.repo.eq_ignore_ascii_case(repo)
    }
}

/// Entries of an `env:` mapping as (name, value node).
pub fn env_entries<'d>(env: Option<Node<'d>>) -> Vec<(Node<'d>, Node<'d>)> {
    env.map(|e| e.entries().collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uses_forms() {
        let doc = Document::parse("a: x\n").unwrap();
        let n = doc.root().unwrap();
        let u = Uses::parse("aws-actions/configure-aws-credentials@v1-node16", n);
        assert!(u.is_configure_aws_credentials());
        assert_eq!(u.git_ref, Some("v1-node16"));
        let u = Uses::parse("my-org/configure-aws-credentials@0123abc", n);
        assert!(u.is_configure_aws_credentials());
        let u = Uses::parse("org/repo/.github/workflows/x.yml@main", n);
        assert_eq!((u.repo, u.path), ("org/repo", ".github/workflows/x.yml"));
        assert!(Uses::parse("./", n).is_repo_root_action());
        assert!(!Uses::parse("./.github/actions/x", n).is_repo_root_action());
    }

    #[test]
    fn classifies_files() {
        let wf = Document::parse("on: push\njobs:\n  a:\n    runs-on: x\n").unwrap();
        assert_eq!(
            Workflow::classify(&wf).map(|w| w.kind),
            Some(FileKind::Workflow)
        );
        let ca = Document::parse("runs:\n  using: composite\n  steps: []\n").unwrap();
        assert_eq!(
            Workflow::classify(&ca).map(|w| w.kind),
            Some(FileKind::CompositeAction)
        );
        let other = Document::parse("services:\n  db:\n    image: x\n").unwrap();
        assert!(Workflow::classify(&other).is_none());
    }
}
