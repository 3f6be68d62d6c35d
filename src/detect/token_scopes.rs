//! Which `GITHUB_TOKEN` scopes one job uses (read from its container, services and steps),
//! or, for each step where that cannot be told, why. Pure: the job's parsed text in, scopes out.
//!
//! `rewrite` needs this when it gives a job that ran on the repository's default token
//! scopes its first `permissions:` map: every scope the map leaves out becomes `none`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use crate::expr;
use crate::workflow::{Job, Step, Uses, Workflow, env_entries};
use crate::yaml::Node;

/// A `permissions:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Actions,
    Attestations,
    Checks,
    Contents,
    Deployments,
    Discussions,
    IdToken,
    Issues,
    Models,
    Packages,
    Pages,
    PullRequests,
    RepositoryProjects,
    SecurityEvents,
    Statuses,
}

impl Scope {
    pub const ALL: [Scope; 15] = [
        Scope::Actions,
        Scope::Attestations,
        Scope::Checks,
        Scope::Contents,
        Scope::Deployments,
        Scope::Discussions,
        Scope::IdToken,
        Scope::Issues,
        Scope::Models,
        Scope::Packages,
        Scope::Pages,
        Scope::PullRequests,
        Scope::RepositoryProjects,
        Scope::SecurityEvents,
        Scope::Statuses,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Actions => "actions",
            Scope::Attestations => "attestations",
            Scope::Checks => "checks",
            Scope::Contents => "contents",
            Scope::Deployments => "deployments",
            Scope::Discussions => "discussions",
            Scope::IdToken => "id-token",
            Scope::Issues => "issues",
            Scope::Models => "models",
            Scope::Packages => "packages",
            Scope::Pages => "pages",
            Scope::PullRequests => "pull-requests",
            Scope::RepositoryProjects => "repository-projects",
            Scope::SecurityEvents => "security-events",
            Scope::Statuses => "statuses",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// How much of a scope: `write` includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// A set of scopes, each at the highest access asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeMap<Scope, Access>);

impl Scopes {
    pub fn of(entries: &[(Scope, Access)]) -> Self {
        let mut out = Self::default();
        for &(scope, access) in entries {
            out.grant(scope, access);
        }
        out
    }

    /// Every scope at `access` (`read-all` / `write-all`); `id-token` has no read level.
    pub fn all(access: Access) -> Self {
        let mut out = Self::default();
        for scope in Scope::ALL {
            match (scope, access) {
                (Scope::IdToken, Access::Read) => {}
                _ => out.grant(scope, access),
            }
        }
        out
    }

    /// Raises `scope` to `access` (never lowers it).
    pub fn grant(&mut self, scope: Scope, access: Access) {
        let entry = self.0.entry(scope).or_insert(access);
        *entry = (*entry).max(access);
    }

    pub fn extend(&mut self, other: &Scopes) {
        for (&scope, &access) in &other.0 {
            self.grant(scope, access);
        }
    }

    pub fn get(&self, scope: Scope) -> Option<Access> {
        self.0.get(&scope).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Scope, Access)> + '_ {
        self.0.iter().map(|(&s, &a)| (s, a))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries of `self` that `granted` does not cover.
    pub fn missing_from(&self, granted: &Scopes) -> Scopes {
        Scopes(
            self.0
                .iter()
                .filter(|&(s, a)| granted.get(*s).is_none_or(|g| g < *a))
                .map(|(&s, &a)| (s, a))
                .collect(),
        )
    }

    /// `issues: write, packages: read` style.
    pub fn describe(&self) -> String {
        self.iter()
            .map(|(s, a)| format!("{}: {}", s.as_str(), a.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why the token scopes of a step cannot be told. Each message follows the step's label in
/// `rewrite`'s reasons (`step 3 (Comment): its script runs ...`), so it speaks of the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("{action} is given the GITHUB_TOKEN and migrate does not know which scopes it uses")]
    ActionGivenToken { action: String },
    #[error(
        "the local action {action} may use the GITHUB_TOKEN (`github.token` is readable inside it) and migrate does not know which scopes"
    )]
    LocalActionMayUseToken { action: String },
    #[error(
        "{action} is not known to migrate and may use the GITHUB_TOKEN (many actions default an input to `github.token`)"
    )]
    UnknownAction { action: String },
    #[error("its script runs `{command}`, whose token scopes migrate does not know")]
    UnknownGhCommand { command: String },
    #[error("its script passes the GITHUB_TOKEN to `{program}`, whose scopes migrate cannot tell")]
    ScriptPassesToken { program: String },
    #[error(
        "its env gives the GITHUB_TOKEN to a script that runs `{program}`, whose scopes migrate cannot tell"
    )]
    EnvGivesScriptToken { program: String },
    #[error("its github-script loads code from another file, whose API calls migrate cannot see")]
    ScriptLoadsCode,
    #[error("its github-script picks the API method at run time (`github[...]`)")]
    ClientMemberAtRunTime,
    #[error("its github-script picks the API method at run time (`github.rest[...]`)")]
    RestMethodAtRunTime,
    #[error(
        "its github-script calls the GraphQL API (`github.graphql`), whose scopes migrate cannot derive"
    )]
    GraphQl,
    #[error("its github-script calls `github.{client}` with a route migrate cannot read")]
    UnreadableRoute { client: String },
    #[error(
        "its github-script calls `{verb} {route}`, which has no GITHUB_TOKEN scope in migrate's table"
    )]
    UnknownRoute { verb: String, route: String },
    #[error(
        "its github-script calls `github.rest.{namespace}.{method}`, which has no GITHUB_TOKEN scope in migrate's table"
    )]
    UnknownMethod { namespace: String, method: String },
    #[error("its github-script uses `github.{member}`, which migrate cannot map to token scopes")]
    UnknownClientMember { member: String },
}

/// A step whose token use cannot be told, and what a person should do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecidable {
    /// "step 3 (Comment)" style label.
    pub step: String,
    pub reason: ScopeError,
}

/// What one job needs from `GITHUB_TOKEN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenNeeds {
    pub scopes: Scopes,
    /// Per scope, what needs it at its access (`github-script calls issues.createComment`),
    /// for the comment written next to it.
    pub reasons: BTreeMap<Scope, String>,
    pub undecidable: Vec<Undecidable>,
}

impl TokenNeeds {
    /// One sentence naming every step whose use cannot be told, or `None` when all can.
    pub fn blocker(&self, job: &str) -> Option<String> {
        let first = self.undecidable.first()?;
        let mut out = format!(
            "job {job} ran with the repository's default token scopes and {}: {}",
            first.step, first.reason
        );
        for more in &self.undecidable[1..] {
            out.push_str(&format!("; {}: {}", more.step, more.reason));
        }
        out.push_str(&format!(
            "; add a `permissions:` map to job {job} listing the scopes it needs, then rerun"
        ));
        Some(out)
    }
}

/// The scopes `job` uses from `GITHUB_TOKEN` (before any `permissions:` is added).
pub fn job_token_needs(workflow: &Workflow<'_>, job: &Job<'_>) -> TokenNeeds {
    let mut cx = JobScan {
        needs: TokenNeeds::default(),
        ghcr_login_with_token: false,
        pushes_images: false,
        checkout_with_other_token: false,
        git_pushes: false,
    };
    if job.id.is_some() {
        cx.images(job.node);
    }
    let inherited_env: Vec<Node<'_>> = [workflow.env(), job.env()].into_iter().flatten().collect();
    for step in job.steps() {
        if let Some(uses) = step.uses() {
            cx.action(&step, &uses);
        }
        if let Some(script) = step.run().and_then(|r| r.as_str()) {
            cx.script(&step, script, &inherited_env);
        }
    }
    if cx.ghcr_login_with_token && cx.pushes_images {
        cx.need(Scope::Packages, Access::Write, "pushes images to ghcr.io");
    }
    if cx.git_pushes && !cx.checkout_with_other_token {
        cx.need(Scope::Contents, Access::Write, "git push");
    }
    cx.needs
}

struct JobScan {
    needs: TokenNeeds,
    ghcr_login_with_token: bool,
    pushes_images: bool,
    checkout_with_other_token: bool,
    git_pushes: bool,
}

impl JobScan {
    /// Raises `scope` to `access`, remembering `why` when it is the first to need that much.
    fn need(&mut self, scope: Scope, access: Access, why: &str) {
        if self.needs.scopes.get(scope).is_none_or(|had| had < access) {
            self.needs
                .reasons
                .insert(scope, why.replace(['\n', '\r'], " "));
        }
        self.needs.scopes.grant(scope, access);
    }

    fn need_all(&mut self, scopes: &Scopes, why: &str) {
        for (scope, access) in scopes.iter() {
            self.need(scope, access, why);
        }
    }

    fn undecidable(&mut self, step: &Step<'_>, reason: ScopeError) {
        self.needs.undecidable.push(Undecidable {
            step: step.label(),
            reason,
        });
    }

    /// `container:` and `services.*` images pulled from ghcr.io: the runner logs in with the
    /// credentials given, which for a private package is usually the token.
    fn images(&mut self, job: Node<'_>) {
        let mut containers: Vec<Node<'_>> = job.get("container").into_iter().collect();
        if let Some(services) = job.get("services") {
            containers.extend(services.entries().map(|(_, v)| v));
        }
        for container in containers {
            let image = if container.is_mapping() {
                container.get_str("image")
            } else {
                container.as_str()
            };
            let Some(image) = image else { continue };
            let password = container
                .get("credentials")
                .and_then(|c| c.get_str("password"));
            if is_ghcr(image) && password.is_none_or(is_default_token) {
                self.need(
                    Scope::Packages,
                    Access::Read,
                    &format!("pulls {}", image.trim()),
                );
            }
        }
    }

    fn action(&mut self, step: &Step<'_>, uses: &Uses<'_>) {
        if uses.docker {
            let image = uses.raw.trim().trim_start_matches("docker://");
            if is_ghcr(image) {
                self.need(Scope::Packages, Access::Read, &format!("pulls {image}"));
            }
            return;
        }
        let inputs: Vec<(&str, &str)> = step
            .with()
            .map(|w| {
                w.entries()
                    .filter_map(|(k, v)| Some((k.as_str()?, v.as_str().unwrap_or(""))))
                    .collect()
            })
            .unwrap_or_default();
        let input = |name: &str| {
            inputs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let given_token = inputs.iter().any(|(_, v)| is_default_token(v))
            || env_values(step.env()).any(|(_, v)| is_default_token(v));
        let name = if uses.local {
            uses.path.to_string()
        } else {
            uses.repo.to_ascii_lowercase()
        };
        // configure-aws-credentials (or a mirror, or its own repository's `uses: ./`) reads
        // only the OIDC token.
        if uses.is_configure_aws_credentials() || uses.is_repo_root_action() {
            return;
        }
        if uses.is("actions/checkout") {
            self.need(Scope::Contents, Access::Read, "actions/checkout");
            if input("token").is_some_and(|t| !t.trim().is_empty() && !is_default_token(t)) {
                self.checkout_with_other_token = true;
            }
            return;
        }
        if uses.is("actions/github-script") {
            if input("github-token").is_some_and(|t| !is_default_token(t)) {
                return;
            }
            match github_script_calls(input("script").unwrap_or("")) {
                Ok(calls) => {
                    for (call, scopes) in calls {
                        self.need_all(&scopes, &format!("github-script calls {call}"));
                    }
                }
                Err(reason) => self.undecidable(step, reason),
            }
            return;
        }
        if uses.is("docker/login-action") {
            let to_ghcr = input("registry").is_some_and(is_ghcr);
            if to_ghcr && input("password").is_some_and(is_default_token) {
                self.ghcr_login_with_token = true;
                self.need(
                    Scope::Packages,
                    Access::Read,
                    "docker/login-action to ghcr.io",
                );
            }
            return;
        }
        if uses.is("docker/build-push-action") {
            if input("push").is_some_and(|p| p.trim() != "false") {
                self.pushes_images = true;
            }
            return;
        }
        if let Some(known) = known_token_action(uses) {
            let other_token = known
                .token_inputs
                .iter()
                .filter_map(|i| input(i))
                .any(|t| !t.trim().is_empty() && !is_default_token(t));
            if !other_token {
                self.need_all(&Scopes::of(known.scopes), known.name);
            }
            return;
        }
        if needs_no_token(uses) {
            return;
        }
        let reason = if given_token {
            ScopeError::ActionGivenToken { action: name }
        } else if uses.local {
            ScopeError::LocalActionMayUseToken { action: name }
        } else {
            ScopeError::UnknownAction { action: name }
        };
        self.undecidable(step, reason);
    }

    fn script(&mut self, step: &Step<'_>, script: &str, inherited_env: &[Node<'_>]) {
        let step_env: Vec<(&str, &str)> = env_values(step.env()).collect();
        let token_vars: Vec<&str> = step_env
            .iter()
            .copied()
            .chain(inherited_env.iter().flat_map(|e| env_values(Some(*e))))
            .filter(|(_, v)| is_default_token(v))
            .map(|(k, _)| k)
            .collect();
        // `gh` reads GH_TOKEN, then GITHUB_TOKEN: a personal token there means none of ours.
        let gh_token = ["GH_TOKEN", "GITHUB_TOKEN"].iter().find_map(|name| {
            step_env
                .iter()
                .copied()
                .chain(inherited_env.iter().flat_map(|e| env_values(Some(*e))))
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        });
        let gh_uses_ours = gh_token.is_none_or(is_default_token);
        let given_in_step = step_env.iter().any(|(_, v)| is_default_token(v));
        let mut unexplained: Option<ScopeError> = None;
        for line in &logical_lines(script) {
            let line = line.as_str();
            let lower = line.to_ascii_lowercase();
            let mentions_token = is_default_token(line)
                || token_vars.iter().any(|v| mentions_var(line, v))
                || mentions_var(line, "GITHUB_TOKEN")
                || mentions_var(line, "GH_TOKEN");
            if lower.contains("ghcr.io") && lower.contains("docker") {
                let push = lower.contains("docker push")
                    || (lower.contains("buildx") && lower.contains("--push"));
                let (access, why) = if push {
                    (Access::Write, "docker push to ghcr.io")
                } else {
                    (Access::Read, "docker pulls from ghcr.io")
                };
                self.need(Scope::Packages, access, why);
                continue;
            }
            if lower.contains("docker push") {
                self.pushes_images = true;
            }
            if lower.contains("git push") && !mentions_other_secret(line) {
                self.git_pushes = true;
            }
            let commands = gh_commands(line);
            for command in &commands {
                if !gh_uses_ours {
                    continue;
                }
                match gh_command_scopes(command) {
                    Ok(scopes) => {
                        let shown: Vec<&str> = command.iter().take(2).copied().collect();
                        self.need_all(&scopes, &format!("gh {}", shown.join(" ")));
                    }
                    Err(reason) => {
                        unexplained.get_or_insert(reason);
                    }
                }
            }
            if commands.is_empty() && mentions_token && !is_benign(line) {
                unexplained.get_or_insert_with(|| ScopeError::ScriptPassesToken {
                    program: first_word(line).to_string(),
                });
            }
        }
        if unexplained.is_none() && given_in_step && !token_vars.is_empty() {
            // The token is in the step's env: any program the script runs may read it.
            let lines = logical_lines(script);
            let program = lines
                .iter()
                .find(|l| gh_commands(l).is_empty() && !is_benign(l))
                .map(|l| first_word(l));
            if let Some(program) = program {
                unexplained = Some(ScopeError::EnvGivesScriptToken {
                    program: program.to_string(),
                });
            }
        }
        if let Some(reason) = unexplained {
            self.undecidable(step, reason);
        }
    }
}

/// An action the token scopes of which its documentation states.
struct KnownTokenAction {
    /// `owner/repo` or `owner/repo/path`, lowercase.
    name: &'static str,
    scopes: &'static [(Scope, Access)],
    /// Inputs that take a token: given another secret, the action uses none of ours.
    token_inputs: &'static [&'static str],
}

const CONTENTS_WRITE: &[(Scope, Access)] = &[(Scope::Contents, Access::Write)];

/// Actions that write with the token, with the scopes their READMEs ask for.
const KNOWN_TOKEN_ACTIONS: &[KnownTokenAction] = &[
    KnownTokenAction {
        name: "actions/create-release",
        scopes: CONTENTS_WRITE,
        token_inputs: &[],
    },
    KnownTokenAction {
        name: "actions/upload-release-asset",
        scopes: CONTENTS_WRITE,
        token_inputs: &[],
    },
    KnownTokenAction {
        name: "softprops/action-gh-release",
        scopes: CONTENTS_WRITE,
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "ncipollo/release-action",
        scopes: CONTENTS_WRITE,
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "release-drafter/release-drafter",
        scopes: &[
            (Scope::Contents, Access::Write),
            (Scope::PullRequests, Access::Write),
        ],
        token_inputs: &[],
    },
    KnownTokenAction {
        name: "peter-evans/create-pull-request",
        scopes: &[
            (Scope::Contents, Access::Write),
            (Scope::PullRequests, Access::Write),
        ],
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "peter-evans/create-or-update-comment",
        scopes: &[
            (Scope::Issues, Access::Write),
            (Scope::PullRequests, Access::Write),
        ],
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "marocchino/sticky-pull-request-comment",
        scopes: &[(Scope::PullRequests, Access::Write)],
        token_inputs: &["github_token", "github-token"],
    },
    KnownTokenAction {
        name: "robburger/terraform-pr-commenter",
        scopes: &[(Scope::PullRequests, Access::Write)],
        token_inputs: &[],
    },
    KnownTokenAction {
        name: "stefanzweifel/git-auto-commit-action",
        scopes: CONTENTS_WRITE,
        token_inputs: &[],
    },
    KnownTokenAction {
        name: "endbug/add-and-commit",
        scopes: CONTENTS_WRITE,
        token_inputs: &["github_token"],
    },
    KnownTokenAction {
        name: "actions/configure-pages",
        scopes: &[(Scope::Pages, Access::Write)],
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "actions/deploy-pages",
        scopes: &[
            (Scope::Pages, Access::Write),
            (Scope::IdToken, Access::Write),
        ],
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "jamesives/github-pages-deploy-action",
        scopes: CONTENTS_WRITE,
        token_inputs: &["token", "ssh-key"],
    },
    KnownTokenAction {
        name: "peaceiris/actions-gh-pages",
        scopes: CONTENTS_WRITE,
        token_inputs: &["deploy_key", "personal_token"],
    },
    KnownTokenAction {
        name: "github/codeql-action/upload-sarif",
        scopes: &[
            (Scope::SecurityEvents, Access::Write),
            (Scope::Actions, Access::Read),
        ],
        token_inputs: &["token"],
    },
    KnownTokenAction {
        name: "ossf/scorecard-action",
        scopes: &[
            (Scope::SecurityEvents, Access::Write),
            (Scope::Actions, Access::Read),
            (Scope::IdToken, Access::Write),
        ],
        token_inputs: &["repo_token"],
    },
];

fn known_token_action(uses: &Uses<'_>) -> Option<&'static KnownTokenAction> {
    if uses.local {
        return None;
    }
    let full = if uses.path.is_empty() {
        uses.repo.to_ascii_lowercase()
    } else {
        format!("{}/{}", uses.repo, uses.path.trim_end_matches('/')).to_ascii_lowercase()
    };
    KNOWN_TOKEN_ACTIONS.iter().find(|k| k.name == full)
}

/// Actions that need no token scope: toolchain setup, caches and artifacts (which use the
/// runtime token, not `GITHUB_TOKEN`), AWS actions, Docker build tooling, and actions that only
/// take other credentials. A `*` suffix matches any rest of the `owner/repo` name. Setup
/// actions that default a token input to `github.token` use it only to download public
/// releases, which needs no scope.
const NO_TOKEN_ACTIONS: &[&str] = &[
    "actions/setup-*",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
    "actions/upload-pages-artifact",
    "aws-actions/*",
    "docker/setup-*",
    "docker/metadata-action",
    "hashicorp/setup-*",
    "azure/setup-*",
    "pnpm/action-setup",
    "ruby/setup-ruby",
    "shivammathur/setup-php",
    "dtolnay/rust-toolchain",
    "actions-rs/toolchain",
    "swatinem/rust-cache",
    "taiki-e/install-action",
    "jdx/mise-action",
    "unfor19/install-aws-cli-action",
    "step-security/harden-runner",
    "codecov/codecov-action",
    "hadolint/hadolint-action",
    "rlespinasse/github-slug-action",
    "aszc/change-string-case-action",
    "nick-invision/retry",
    "nick-fields/retry",
    "jakejarvis/s3-sync-action",
    "reggionick/s3-deploy",
    "chetan/invalidate-cloudfront-action",
    "einaregilsson/beanstalk-deploy",
    "serverless/github-action",
    "appleboy/ssh-action",
    "appleboy/lambda-action",
    "tokorom/action-slack-incoming-webhook",
    "sarisia/actions-status-discord",
    "slackapi/slack-github-action",
];

fn needs_no_token(uses: &Uses<'_>) -> bool {
    if uses.local {
        return false;
    }
    let repo = uses.repo.to_ascii_lowercase();
    NO_TOKEN_ACTIONS
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => repo.starts_with(prefix),
            None => repo == *pattern,
        })
}

/// The generated table: `namespace.method` → (verb, route, scope, access).
struct RestMethod {
    verb: &'static str,
    route: &'static str,
    /// `None` for `metadata`, which every token can read.
    scope: Option<Scope>,
    access: Access,
}

const REST_SCOPES_TSV: &str = include_str!("../../data/github-rest-scopes.tsv");

fn rest_methods() -> &'static HashMap<&'static str, RestMethod> {
    static TABLE: OnceLock<HashMap<&'static str, RestMethod>> = OnceLock::new();
    TABLE.get_or_init(|| {
        REST_SCOPES_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut cols = l.split('\t');
                let method = cols.next()?;
                let verb = cols.next()?;
                let route = cols.next()?;
                let scope = cols.next()?;
                let access = match cols.next()? {
                    "write" => Access::Write,
                    _ => Access::Read,
                };
                Some((
                    method,
                    RestMethod {
                        verb,
                        route,
                        scope: Scope::parse(scope),
                        access,
                    },
                ))
            })
            .collect()
    })
}

/// The namespaces of the table (`issues`, `repos`, ...), for the pre-`rest` spelling
/// `github.issues.createComment` of github-script v4 and older.
fn is_rest_namespace(name: &str) -> bool {
    rest_methods()
        .keys()
        .any(|k| k.split_once('.').is_some_and(|(ns, _)| ns == name))
}

/// The scopes an `actions/github-script` script uses through the `github` client, or why
/// they cannot be told.
pub fn github_script_scopes(script: &str) -> Result<Scopes, ScopeError> {
    let mut scopes = Scopes::default();
    for (_, needed) in github_script_calls(script)? {
        scopes.extend(&needed);
    }
    Ok(scopes)
}

/// Each client call of a github-script script (`issues.createComment`, `POST /repos/...`)
/// with the scopes it needs.
fn github_script_calls(script: &str) -> Result<Vec<(String, Scopes)>, ScopeError> {
    // `${{ github.event... }}` is an expression GitHub substitutes, not a client call.
    let mut code = script.to_string();
    for range in expr::expression_blocks(script).into_iter().rev() {
        code.replace_range(range.clone(), &" ".repeat(range.len()));
    }
    if code.contains("require(") || code.contains("import(") {
        return Err(ScopeError::ScriptLoadsCode);
    }
    let mut calls: Vec<(String, Scopes)> = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(found) = code[at..].find("github") {
        let start = at + found;
        at = start + "github".len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
        {
            continue;
        }
        let after = code[at..].trim_start();
        if after.starts_with('[') {
            return Err(ScopeError::ClientMemberAtRunTime);
        }
        let Some(chain) = after.strip_prefix('.') else {
            continue;
        };
        let members = member_chain(chain);
        let Some(&first) = members.first() else {
            continue;
        };
        let consumed = members.last().map_or(0, |m| {
            m.as_ptr() as usize + m.len() - chain.as_ptr() as usize
        });
        if first != "com" && chain[consumed..].trim_start().starts_with('[') {
            return Err(ScopeError::RestMethodAtRunTime);
        }
        match first {
            // `https://github.com/...` in a string.
            "com" => {}
            "graphql" => {
                return Err(ScopeError::GraphQl);
            }
            "request" | "paginate" => {
                let call = &chain[first.len()..];
                match route_literal(call) {
                    Some((verb, route)) => {
                        let needed = route_scopes(&verb, &route)?;
                        calls.push((format!("{verb} {route}"), needed));
                    }
                    // `github.paginate(github.rest.x.y, ...)`: the method is read below.
                    None if first == "paginate"
                        && call
                            .trim_start()
                            .trim_start_matches('(')
                            .trim_start()
                            .starts_with("github.") => {}
                    None => {
                        return Err(ScopeError::UnreadableRoute {
                            client: first.to_string(),
                        });
                    }
                }
            }
            "rest" => {
                if members.len() < 3 {
                    return Err(ScopeError::RestMethodAtRunTime);
                }
                let needed = method_scopes(members[1], members[2])?;
                calls.push((format!("{}.{}", members[1], members[2]), needed));
            }
            ns if is_rest_namespace(ns) && members.len() >= 2 => {
                let needed = method_scopes(ns, members[1])?;
                calls.push((format!("{ns}.{}", members[1]), needed));
            }
            other => {
                return Err(ScopeError::UnknownClientMember {
                    member: other.to_string(),
                });
            }
        }
    }
    Ok(calls)
}

/// `a.b.c(...)` → `["a", "b", "c"]`.
fn member_chain(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(&rest[..end]);
        match rest[end..].strip_prefix('.') {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// `("POST /repos/{owner}/{repo}/...", ...)` → ("POST", route); a route without a verb is GET.
fn route_literal(call: &str) -> Option<(String, String)> {
    let inner = call.trim_start().strip_prefix('(')?.trim_start();
    let quote = inner
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let body = &inner[1..];
    let literal = &body[..body.find(quote)?];
    if quote == '`' && literal.contains("${") {
        return None;
    }
    let (verb, route) = match literal.trim().split_once(' ') {
        Some((verb, route)) => (verb.to_ascii_uppercase(), route.trim().to_string()),
        None => ("GET".to_string(), literal.trim().to_string()),
    };
    Some((verb, route))
}

fn route_scopes(verb: &str, route: &str) -> Result<Scopes, ScopeError> {
    let route = route.split('?').next().unwrap_or(route);
    let found = rest_methods()
        .values()
        .find(|m| m.verb == verb && m.route == route)
        .ok_or_else(|| ScopeError::UnknownRoute {
            verb: verb.to_string(),
            route: route.to_string(),
        })?;
    Ok(found
        .scope
        .map_or_else(Scopes::default, |s| Scopes::of(&[(s, found.access)])))
}

fn method_scopes(namespace: &str, method: &str) -> Result<Scopes, ScopeError> {
    let found = rest_methods()
        .get(format!("{namespace}.{method}").as_str())
        .ok_or_else(|| ScopeError::UnknownMethod {
            namespace: namespace.to_string(),
            method: method.to_string(),
        })?;
    Ok(found
        .scope
        .map_or_else(Scopes::default, |s| Scopes::of(&[(s, found.access)])))
}

/// One `gh` invocation: the words after `gh`.
type GhCommand<'t> = Vec<&'t str>;

/// The `gh` invocations on one line: `gh` as a command word (line start, after `|`, `;`,
/// `&&`, `||`, `$(`, a backquote or `then`/`do`).
fn gh_commands(line: &str) -> Vec<GhCommand<'_>> {
    let mut out = Vec::new();
    for segment in line.split(['|', ';', '&', '`', '(']) {
        let mut words = segment.split_whitespace().peekable();
        while words.peek().is_some_and(|w| {
            matches!(*w, "then" | "do" | "else" | "sudo" | "exec" | "$" | "!") || w.contains('=')
        }) {
            words.next();
        }
        if words.next() == Some("gh") {
            out.push(words.take_while(|w| !w.starts_with('#')).collect());
        }
    }
    out
}

/// `gh SUBCOMMAND ACTION`: the scopes of the subcommands migrate knows; anything else
/// (`gh api`, `gh secret`, extensions) cannot be told.
fn gh_command_scopes(command: &[&str]) -> Result<Scopes, ScopeError> {
    use Access::{Read, Write};
    let words: Vec<&str> = command
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    let (sub, action) = (
        words.first().copied().unwrap_or(""),
        words.get(1).copied().unwrap_or(""),
    );
    let scopes: &[(Scope, Access)] = match (sub, action) {
        ("release", "create" | "upload" | "edit" | "delete" | "delete-asset") => {
            &[(Scope::Contents, Write)]
        }
        ("release", "list" | "view" | "download") => &[(Scope::Contents, Read)],
        ("pr", "merge") => &[(Scope::Contents, Write), (Scope::PullRequests, Write)],
        (
            "pr",
            "create" | "comment" | "edit" | "close" | "reopen" | "ready" | "review" | "lock"
            | "unlock",
        ) => &[(Scope::PullRequests, Write)],
        ("pr", "list" | "view" | "diff" | "status") => &[(Scope::PullRequests, Read)],
        ("pr", "checks") => &[
            (Scope::PullRequests, Read),
            (Scope::Checks, Read),
            (Scope::Statuses, Read),
        ],
        (
            "issue",
            "create" | "comment" | "edit" | "close" | "reopen" | "delete" | "lock" | "unlock",
        ) => &[(Scope::Issues, Write)],
        ("issue", "list" | "view" | "status") => &[(Scope::Issues, Read)],
        ("label", "create" | "edit" | "delete" | "clone") => &[(Scope::Issues, Write)],
        ("label", "list") => &[(Scope::Issues, Read)],
        ("run", "list" | "view" | "download" | "watch") => &[(Scope::Actions, Read)],
        ("run", "rerun" | "cancel" | "delete") => &[(Scope::Actions, Write)],
        ("workflow", "run" | "enable" | "disable") => &[(Scope::Actions, Write)],
        ("workflow", "list" | "view") => &[(Scope::Actions, Read)],
        ("cache", "list") => &[(Scope::Actions, Read)],
        ("cache", "delete") => &[(Scope::Actions, Write)],
        ("repo", "view") => &[],
        ("repo", "clone") => &[(Scope::Contents, Read)],
        _ => {
            let word =
                |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let command = if word(action) && sub != "api" {
                format!("gh {sub} {action}")
            } else {
                format!("gh {sub}")
            };
            return Err(ScopeError::UnknownGhCommand { command });
        }
    };
    Ok(Scopes::of(scopes))
}

/// The script's commands, one per line, with `\` continuations joined and comments dropped.
fn logical_lines(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in script.lines() {
        let line = raw.trim();
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let done = std::mem::take(&mut current);
        let done = done.trim();
        if !done.is_empty() && !done.starts_with('#') {
            out.push(done.to_string());
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Shell lines that cannot send the token anywhere: output, assignments, control flow.
fn is_benign(line: &str) -> bool {
    let word = first_word(line);
    matches!(
        word,
        "echo"
            | "printf"
            | "cd"
            | "set"
            | "if"
            | "then"
            | "else"
            | "elif"
            | "fi"
            | "for"
            | "do"
            | "done"
            | "while"
            | "case"
            | "esac"
            | "exit"
            | "true"
            | "false"
            | "mkdir"
            | "ls"
            | "pwd"
            | "["
            | "[["
            | "}"
            | "{"
    ) || (word.contains('=') && !word.starts_with('-') && !line.contains("$("))
        || (word == "export" && !line.contains("$("))
}

fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// `$NAME`, `${NAME}` or `$env:NAME` in a shell line.
fn mentions_var(line: &str, name: &str) -> bool {
    // Called for every script line and token variable: no allocation on the way.
    line.match_indices(name).any(|(i, _)| {
        let before = &line[..i];
        let after = &line[i + name.len()..];
        let ends_word = || {
            !after
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        (before.ends_with('$') || before.ends_with("$env:")) && ends_word()
            || before.ends_with("${") && after.starts_with('}')
    })
}

/// A value that reads the job's own token: `${{ github.token }}` or `${{ secrets.GITHUB_TOKEN }}`.
pub fn is_default_token(value: &str) -> bool {
    if !value.contains("${{") {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    expr::expression_blocks(value).into_iter().any(|r| {
        let inner = &lower[r];
        inner.contains("github.token") || inner.contains("secrets.github_token")
    })
}

/// A value that reads a secret other than the job's token (a personal access token).
fn mentions_other_secret(value: &str) -> bool {
    if !value.contains("${{") {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    expr::expression_blocks(value).into_iter().any(|r| {
        lower[r]
            .match_indices("secrets.")
            .any(|(i, _)| !lower[i..].starts_with("secrets.github_token"))
    })
}

fn is_ghcr(image: &str) -> bool {
    image.trim().to_ascii_lowercase().starts_with("ghcr.io/") || image.trim() == "ghcr.io"
}

fn env_values<'d>(env: Option<Node<'d>>) -> impl Iterator<Item = (&'d str, &'d str)> {
    env_entries(env)
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?, v.as_str().unwrap_or(""))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Document;

    #[test]
    fn variable_mentions() {
        for line in [
            "curl -H \"Authorization: token $GH_TOKEN\" x",
            "curl -H \"token ${GH_TOKEN}\" x",
            "echo ${GH_TOKEN}x",
            "Invoke-RestMethod -Headers @{a=$env:GH_TOKEN}",
        ] {
            assert!(mentions_var(line, "GH_TOKEN"), "{line}");
        }
        for line in ["echo $GH_TOKEN_FILE", "echo GH_TOKEN", "echo ${GH_TOKEN_X}"] {
            assert!(!mentions_var(line, "GH_TOKEN"), "{line}");
        }
    }

    fn needs(text: &str) -> TokenNeeds {
        let doc = Document::parse(text).expect("valid YAML");
        let workflow = Workflow::classify(&doc).expect("a workflow");
        let job = workflow.jobs()[0];
        job_token_needs(&workflow, &job)
    }

    fn steps(body: &str) -> String {
        format!("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n{body}")
    }

    #[test]
    fn the_generated_table_maps_octokit_methods_to_scopes() {
        assert_eq!(
            method_scopes("issues", "createComment"),
            Ok(Scopes::of(&[(Scope::Issues, Access::Write)]))
        );
        assert_eq!(
            method_scopes("pulls", "get"),
            Ok(Scopes::of(&[(Scope::PullRequests, Access::Read)]))
        );
        assert_eq!(method_scopes("repos", "get"), Ok(Scopes::default()));
        assert!(method_scopes("orgs", "list").is_err());
    }

    #[test]
    fn github_script_reads_rest_calls_requests_and_old_spellings() {
        let script = "const r = await github.rest.repos.createRelease({});\n\
                      await github.request('POST /repos/{owner}/{repo}/statuses/{sha}', {});\n\
                      await github.checks.create({});\n\
                      const all = await github.paginate(github.rest.issues.listComments, {});\n\
                      core.info(`see https://github.com/${context.repo.owner}`);";
        assert_eq!(
            github_script_scopes(script),
            Ok(Scopes::of(&[
                (Scope::Contents, Access::Write),
                (Scope::Statuses, Access::Write),
                (Scope::Checks, Access::Write),
                (Scope::Issues, Access::Read),
            ]))
        );
    }

    #[test]
    fn github_script_that_cannot_be_read_says_why() {
        for (script, why) in [
            (
                "await github.graphql(`query { viewer { login } }`)",
                "GraphQL",
            ),
            ("await github.rest.issues[method]({})", "run time"),
            ("await github.rest.orgs.list()", "github.rest.orgs.list"),
            (
                "await github.request(route, {})",
                "route migrate cannot read",
            ),
            ("require('./comment.js')(github, context)", "another file"),
        ] {
            let err = github_script_scopes(script).expect_err(script).to_string();
            assert!(err.contains(why), "{script}: {err}");
        }
    }

    #[test]
    fn expressions_in_a_script_are_not_client_calls() {
        assert_eq!(
            github_script_scopes("const n = ${{ github.event.number }};"),
            Ok(Scopes::default())
        );
    }

    #[test]
    fn ghcr_images_need_packages_read() {
        let text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    container: ghcr.io/acme/ci:1\n    services:\n      db:\n        image: postgres:16\n    steps:\n      - run: make\n";
        assert_eq!(
            needs(text).scopes,
            Scopes::of(&[(Scope::Packages, Access::Read)])
        );
        let private_creds = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    container:\n      image: ghcr.io/acme/ci:1\n      credentials:\n        username: bot\n        password: ${{ secrets.GHCR_PAT }}\n    steps:\n      - run: make\n";
        assert!(needs(private_creds).scopes.is_empty());
    }

    #[test]
    fn git_push_after_checkout_needs_contents_write_unless_another_token_pushes() {
        let push =
            steps("      - uses: actions/checkout@v4\n      - run: git push origin HEAD:main\n");
        assert_eq!(
            needs(&push).scopes,
            Scopes::of(&[(Scope::Contents, Access::Write)])
        );
        let pat = steps(
            "      - uses: actions/checkout@v4\n        with:\n          token: ${{ secrets.BOT_PAT }}\n      - run: git push\n",
        );
        assert_eq!(
            needs(&pat).scopes,
            Scopes::of(&[(Scope::Contents, Access::Read)])
        );
    }

    #[test]
    fn gh_subcommands_are_known_or_undecidable() {
        let known = steps(
            "      - run: |\n          gh pr comment 1 --body hi && gh release view v1\n        env:\n          GH_TOKEN: ${{ github.token }}\n",
        );
        let found = needs(&known);
        assert!(found.undecidable.is_empty(), "{found:?}");
        assert_eq!(
            found.scopes,
            Scopes::of(&[
                (Scope::PullRequests, Access::Write),
                (Scope::Contents, Access::Read)
            ])
        );
        let unknown = steps(
            "      - run: gh secret set X --body y\n        env:\n          GH_TOKEN: ${{ github.token }}\n",
        );
        let found = needs(&unknown);
        assert_eq!(found.undecidable.len(), 1);
        assert!(
            found.undecidable[0]
                .reason
                .to_string()
                .contains("`gh secret set`"),
            "{found:?}"
        );
        let pat = steps(
            "      - run: gh api repos/o/r\n        env:\n          GH_TOKEN: ${{ secrets.BOT_PAT }}\n",
        );
        assert_eq!(needs(&pat), TokenNeeds::default());
    }

    #[test]
    fn the_token_given_to_an_unknown_program_is_undecidable() {
        let text = steps(
            "      - run: npx semantic-release\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n",
        );
        let found = needs(&text);
        assert_eq!(found.undecidable.len(), 1, "{found:?}");
        assert!(
            found.undecidable[0].reason.to_string().contains("`npx`"),
            "{found:?}"
        );
        assert_eq!(found.undecidable[0].step, "step 1");
    }

    #[test]
    fn actions_known_to_need_no_token_need_nothing_and_unknown_ones_are_undecidable() {
        let known = steps(
            "      - uses: actions/setup-node@v4\n      - uses: aws-actions/amazon-ecr-login@v2\n      - uses: docker/setup-buildx-action@v3\n      - uses: my-org/configure-aws-credentials@v4\n",
        );
        assert_eq!(needs(&known), TokenNeeds::default());
        let unknown = steps("      - name: Lint\n        uses: someone/lint-action@v1\n");
        let found = needs(&unknown);
        assert_eq!(found.undecidable.len(), 1);
        assert_eq!(found.undecidable[0].step, "step 1 (Lint)");
        let blocker = found.blocker("j").expect("a blocker");
        assert!(
            blocker.starts_with("job j ran with the repository's default token scopes and step 1 (Lint): someone/lint-action is not known"),
            "{blocker}"
        );
    }

    #[test]
    fn known_token_actions_get_their_documented_scopes_unless_given_another_token() {
        let ours = steps("      - uses: peter-evans/create-pull-request@v7\n");
        assert_eq!(
            needs(&ours).scopes,
            Scopes::of(&[
                (Scope::Contents, Access::Write),
                (Scope::PullRequests, Access::Write)
            ])
        );
        let pat = steps(
            "      - uses: peter-evans/create-pull-request@v7\n        with:\n          token: ${{ secrets.BOT_PAT }}\n",
        );
        assert!(needs(&pat).scopes.is_empty());
    }

    #[test]
    fn missing_from_compares_access_levels() {
        let wanted = Scopes::of(&[
            (Scope::Issues, Access::Write),
            (Scope::Contents, Access::Read),
        ]);
        let granted = Scopes::of(&[
            (Scope::Issues, Access::Read),
            (Scope::Contents, Access::Write),
        ]);
        assert_eq!(wanted.missing_from(&granted).describe(), "issues: write");
    }
}
