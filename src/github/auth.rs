//! Finding a GitHub token: GH_TOKEN, GITHUB_TOKEN, then `gh auth token`. Never printed.

use secrecy::SecretString;

use super::error::GitHubError;

pub fn token_from_environment() -> Result<SecretString, GitHubError> {
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        if let Ok(value) = std::env::var(var)
            && !value.trim().is_empty()
        {
            return Ok(SecretString::from(value.trim().to_string()));
        }
    }
    let output = std::process::Command::new("gh")
        .args(["auth", "token"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if token.is_empty() {
                Err(GitHubError::NoToken)
            } else {
                Ok(SecretString::from(token))
            }
        }
        _ => Err(GitHubError::NoToken),
    }
}
