//! The fake's world: organizations, repositories with a small git object store, pull
//! requests, secrets and OIDC templates. Tests build it and read it back.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

#[derive(Default)]
pub struct World {
    pub orgs: BTreeMap<String, Org>,
    pub repos: BTreeMap<String, Repo>,
    /// GitHub-hosted runners' address ranges (`GET /meta`, `actions`).
    pub actions_ranges: Vec<String>,
    next_id: u64,
    next_sha: u64,
}

#[derive(Default)]
pub struct Org {
    pub id: u64,
    pub secrets: Vec<OrgSecret>,
    /// Organization variables shared with every repository (name → value).
    pub variables: BTreeMap<String, String>,
    pub oidc: Value,
}

pub struct OrgSecret {
    pub name: String,
    pub visibility: String,
    pub selected: Vec<String>,
}

pub struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub state: String,
    pub merged: bool,
    /// RFC 3339, when merged.
    pub merged_at: Option<String>,
    pub labels: Vec<String>,
    /// Paths the pull request changes (against its base when it was opened).
    pub files: Vec<String>,
}

/// A workflow run, as `GET /repos/{owner}/{repo}/actions/runs` lists it.
#[derive(Clone, Debug)]
pub struct Run {
    pub id: u64,
    /// Workflow file (`.github/workflows/deploy.yml`).
    pub path: String,
    pub head_branch: String,
    pub head_sha: String,
    /// `success`, `failure`...
    pub conclusion: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `push`, `pull_request`...
    pub event: String,
    pub jobs: Vec<RunJob>,
}

/// A job of a run, with its log as the runner wrote it.
#[derive(Clone, Debug)]
pub struct RunJob {
    pub id: u64,
    pub name: String,
    pub conclusion: String,
    pub log: String,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    migrate::campaign::time::now()
}

/// `2026-11-25T10:00:00Z`.
pub fn rfc3339(at: i64) -> String {
    migrate::campaign::time::format(at)
}

pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub archived: bool,
    pub fork: bool,
    pub topics: Vec<String>,
    pub default_branch: String,
    pub refs: BTreeMap<String, String>,
    pub commits: HashMap<String, Commit>,
    /// Trees are flat: full path -> file content.
    pub trees: HashMap<String, BTreeMap<String, String>>,
    pub blobs: HashMap<String, String>,
    pub pulls: Vec<Pull>,
    pub secrets: Vec<String>,
    /// Actions variables (name → value).
    pub variables: BTreeMap<String, String>,
    /// Each environment's own variables (environment → name → value).
    pub environment_variables: BTreeMap<String, BTreeMap<String, String>>,
    pub environments: BTreeMap<String, Vec<String>>,
    pub oidc: Value,
    pub runs: Vec<Run>,
    /// Issues (numbers shared with pull requests, as on GitHub).
    pub issues: Vec<Issue>,
    /// Comments on issues and pull requests.
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
}

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    pub issue_number: u64,
    pub body: String,
}

impl Repo {
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn head(&self) -> Option<&String> {
        self.refs.get(&format!("heads/{}", self.default_branch))
    }

    /// Files at the tip of a branch.
    pub fn files_at(&self, branch: &str) -> BTreeMap<String, String> {
        self.refs
            .get(&format!("heads/{branch}"))
            .and_then(|sha| self.commits.get(sha))
            .and_then(|c| self.trees.get(&c.tree))
            .cloned()
            .unwrap_or_default()
    }

    pub fn default_files(&self) -> BTreeMap<String, String> {
        self.files_at(&self.default_branch.clone())
    }
}

impl World {
    pub fn sha(&mut self) -> String {
        self.next_sha += 1;
        format!("{:040x}", 0xa000_0000_0000u64 + self.next_sha)
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        1000 + self.next_id
    }

    pub fn org(&mut self, login: &str) -> &mut Org {
        if !self.orgs.contains_key(login) {
            let id = self.id();
            self.orgs.insert(
                login.to_string(),
                Org {
                    id,
                    secrets: Vec::new(),
                    variables: BTreeMap::new(),
                    oidc: json!({"include_claim_keys": ["repo", "context"]}),
                },
            );
        }
        self.orgs.get_mut(login).expect("just inserted")
    }

    /// Adds a repository whose default branch holds `files`.
    pub fn repo(&mut self, owner: &str, name: &str, files: &[(&str, &str)]) -> &mut Repo {
        self.org(owner);
        let id = self.id();
        let tree_sha = self.sha();
        let commit_sha = self.sha();
        let tree: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let mut repo = Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            archived: false,
            fork: false,
            topics: Vec::new(),
            default_branch: "main".to_string(),
            refs: BTreeMap::new(),
            commits: HashMap::new(),
            trees: HashMap::new(),
            blobs: HashMap::new(),
            pulls: Vec::new(),
            secrets: Vec::new(),
            variables: BTreeMap::new(),
            environment_variables: BTreeMap::new(),
            environments: BTreeMap::new(),
            oidc: json!({"use_default": true}),
            runs: Vec::new(),
            issues: Vec::new(),
            comments: Vec::new(),
        };
        repo.trees.insert(tree_sha.clone(), tree);
        repo.commits.insert(
            commit_sha.clone(),
            Commit {
                tree: tree_sha,
                parents: Vec::new(),
                message: "initial".into(),
            },
        );
        repo.refs.insert("heads/main".into(), commit_sha);
        let slug = repo.slug();
        self.repos.insert(slug.clone(), repo);
        self.repos.get_mut(&slug).expect("just inserted")
    }

    /// A commit holding the default branch's files with `files` replaced, whose parent is
    /// the default branch's tip. No ref moves; returns its sha.
    fn commit_on_default(&mut self, slug: &str, files: &[(&str, &str)], message: &str) -> String {
        let tree_sha = self.sha();
        let commit_sha = self.sha();
        let repo = self.repos.get_mut(slug).expect("repo exists");
        let mut tree = repo.default_files();
        for (p, t) in files {
            tree.insert(p.to_string(), t.to_string());
        }
        let parents = repo.head().cloned().into_iter().collect();
        repo.trees.insert(tree_sha.clone(), tree);
        repo.commits.insert(
            commit_sha.clone(),
            Commit {
                tree: tree_sha,
                parents,
                message: message.into(),
            },
        );
        commit_sha
    }

    /// Commits `files` on top of the default branch (a push by someone else).
    pub fn push(&mut self, slug: &str, files: &[(&str, &str)]) -> String {
        let commit_sha = self.commit_on_default(slug, files, "push");
        let repo = self.repos.get_mut(slug).expect("repo exists");
        let branch = format!("heads/{}", repo.default_branch);
        repo.refs.insert(branch, commit_sha.clone());
        commit_sha
    }

    /// Merges an open pull request into its base (fast-forward to the head's tree).
    pub fn merge(&mut self, slug: &str, number: u64) {
        let new_sha = self.sha();
        let repo = self.repos.get_mut(slug).expect("repo exists");
        let pull = repo
            .pulls
            .iter()
            .find(|p| p.number == number)
            .expect("pull exists")
            .clone();
        let head_sha = repo
            .refs
            .get(&format!("heads/{}", pull.head))
            .expect("head branch")
            .clone();
        let tree = repo
            .commits
            .get(&head_sha)
            .expect("head commit")
            .tree
            .clone();
        let base_ref = format!("heads/{}", pull.base);
        let base_sha = repo
            .refs
            .get(&base_ref)
            .cloned()
            .into_iter()
            .collect::<Vec<_>>();
        let mut parents = base_sha;
        parents.push(head_sha);
        repo.commits.insert(
            new_sha.clone(),
            Commit {
                tree,
                parents,
                message: format!("Merge #{number}"),
            },
        );
        repo.refs.insert(base_ref, new_sha);
        let p = repo
            .pulls
            .iter_mut()
            .find(|p| p.number == number)
            .expect("pull exists");
        p.merged = true;
        p.state = "closed".into();
        // A minute ago: the world is set up before anything the test then does.
        p.merged_at = Some(rfc3339(now() - 60));
    }

    /// Records a workflow run of `path` on the default branch's tip, `age` seconds ago.
    pub fn run(&mut self, slug: &str, path: &str, conclusion: &str, age: i64) -> u64 {
        let id = self.id();
        let repo = self.repos.get_mut(slug).expect("repo exists");
        let run = Run {
            id,
            path: path.to_string(),
            head_branch: repo.default_branch.clone(),
            head_sha: repo.head().cloned().unwrap_or_default(),
            conclusion: conclusion.to_string(),
            created_at: now() - age,
            event: "push".to_string(),
            jobs: Vec::new(),
        };
        repo.runs.push(run);
        id
    }

    /// A failed run of `path`, `(branch, event, conclusion)`, `age` seconds ago, whose jobs
    /// are `(name, conclusion, log)`; `startup_failure` runs have no jobs.
    pub fn failed_run(
        &mut self,
        slug: &str,
        path: &str,
        (branch, event, conclusion): (&str, &str, &str),
        age: i64,
        jobs: &[(&str, &str, &str)],
    ) -> u64 {
        let id = self.id();
        let jobs = jobs
            .iter()
            .map(|(name, conclusion, log)| RunJob {
                id: self.id(),
                name: name.to_string(),
                conclusion: conclusion.to_string(),
                log: log.to_string(),
            })
            .collect();
        let repo = self.repos.get_mut(slug).expect("repo exists");
        let head_sha = repo.head().cloned().unwrap_or_default();
        repo.runs.push(Run {
            id,
            path: path.to_string(),
            head_branch: branch.to_string(),
            head_sha,
            conclusion: conclusion.to_string(),
            created_at: now() - age,
            event: event.to_string(),
            jobs,
        });
        id
    }
}

impl World {
    /// Pushes `files` on a new branch off the default branch and opens a pull request from it
    /// (what `rewrite --pr` does); returns its number.
    pub fn open_pull(&mut self, slug: &str, branch: &str, files: &[(&str, &str)]) -> u64 {
        let commit_sha = self.commit_on_default(slug, files, "migrate to OIDC");
        let repo = self.repos.get_mut(slug).expect("repo exists");
        repo.refs.insert(format!("heads/{branch}"), commit_sha);
        let number = repo.pulls.len() as u64 + 1;
        let base = repo.default_branch.clone();
        repo.pulls.push(Pull {
            number,
            head: branch.to_string(),
            base,
            title: "Use OIDC instead of static AWS keys".into(),
            body: String::new(),
            draft: false,
            state: "open".into(),
            merged: false,
            merged_at: None,
            labels: Vec::new(),
            files: files.iter().map(|(path, _)| path.to_string()).collect(),
        });
        number
    }
}
