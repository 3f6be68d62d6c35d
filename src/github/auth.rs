//! Finding a GitHub token: GH_TOKEN, GITHUB_TOKEN, then `gh auth token` (with `--hostname`
//! for GitHub Enterprise Server). Never printed.

use secrecy::SecretString;

use super::error::GitHubError;

/// `host`: the web host (`github.com`, `ghe.example.com`), the one `gh` keys its logins by.
pub fn token_from_environment(host: &str) -> Result<SecretString, GitHubError> {
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        if let Ok(value) = std::env::var(var)
            && !value.trim().is_empty()
        {
            return Ok(SecretString::from(value.trim().to_string()));
        }
    }
    let mut gh = std::process::Command::new("gh");
    gh.args(["auth", "token"]);
    if host != "github.com" {
        gh.args(["--hostname", host]);
    }
    let output = gh
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if token.is_empty() {
                Err(GitHubError::NoToken {
                    host: host.to_string(),
                })
            } else {
                Ok(SecretString::from(token))
            }
        }
        _ => Err(GitHubError::NoToken {
            host: host.to_string(),
        }),
    }
}
