//! Where the REST and GraphQL APIs live for github.com and for GitHub Enterprise Server.

use super::error::GitHubError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base of REST paths (`https://api.github.com`, `https://ghe.example.com/api/v3`).
    pub rest: String,
    /// Base that `/graphql` is appended to (`https://api.github.com`, `https://ghe.example.com/api`).
    pub graphql: String,
    /// The web host, for the OIDC issuer and links (`github.com`, `ghe.example.com`).
    pub host: String,
}

impl Endpoint {
    /// `--github-url`: `https://api.github.com` (the default), a GHES host
    /// (`https://ghe.example.com`, REST at `/api/v3`, GraphQL at `/api/graphql`), or an explicit
    /// `.../api/v3` base.
    pub fn parse(url: &str) -> Result<Self, GitHubError> {
        let url = url.trim().trim_end_matches('/');
        let parsed: http::Uri = url
            .parse()
            .map_err(|_| GitHubError::BadUrl(url.to_string()))?;
        let host = parsed
            .host()
            .ok_or_else(|| GitHubError::BadUrl(url.to_string()))?
            .to_string();
        if parsed.scheme().is_none() {
            return Err(GitHubError::BadUrl(url.to_string()));
        }
        if host == "api.github.com"
            || host.starts_with("api.") && parsed.path().trim_matches('/').is_empty()
        {
            let web = host.trim_start_matches("api.").to_string();
            return Ok(Self {
                rest: url.to_string(),
                graphql: url.to_string(),
                host: web,
            });
        }
        let root = url.strip_suffix("/api/v3").unwrap_or(url);
        Ok(Self {
            rest: format!("{root}/api/v3"),
            graphql: format!("{root}/api"),
            host,
        })
    }

    pub fn is_github_com(&self) -> bool {
        self.host == "github.com"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotcom_and_ghes_layouts() {
        let dotcom = Endpoint::parse("https://api.github.com").unwrap();
        assert_eq!(
            (
                dotcom.rest.as_str(),
                dotcom.graphql.as_str(),
                dotcom.host.as_str()
            ),
            (
                "https://api.github.com",
                "https://api.github.com",
                "github.com"
            )
        );
        let ghes = Endpoint::parse("https://ghe.example.com/").unwrap();
        assert_eq!(ghes.rest, "https://ghe.example.com/api/v3");
        assert_eq!(ghes.graphql, "https://ghe.example.com/api");
        let explicit = Endpoint::parse("http://127.0.0.1:8080/api/v3").unwrap();
        assert_eq!(explicit.rest, "http://127.0.0.1:8080/api/v3");
        assert_eq!(explicit.graphql, "http://127.0.0.1:8080/api");
        assert!(Endpoint::parse("not a url").is_err());
    }
}
