//! Renderers of a [`TrustPlan`](super::plan::TrustPlan): Terraform, CloudFormation, JSON.

pub mod cloudformation;
pub mod json;
pub mod role_map;
pub mod terraform;

/// Output choices shared by the renderers.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmitOptions {
    /// The account already has the GitHub provider: look it up instead of creating it
    /// (IAM allows one provider per URL per account).
    pub existing_provider: bool,
}

/// An identifier made of the name's letters and digits, for resource and logical ids.
pub(crate) fn identifier_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}
