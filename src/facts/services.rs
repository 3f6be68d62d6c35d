//! Which AWS services a job calls (pure): `aws <service>` commands in its `run:` scripts, the
//! deploy tools that drive CloudFormation, and the AWS actions it uses. Named as IAM names
//! them in a key's last use (`GetAccessKeyLastUsed`'s `ServiceName`), so `status` can suggest
//! the keys a repository's secrets probably hold.

use std::collections::BTreeSet;

use crate::workflow::Job;

/// Services a job calls, IAM's names, sorted.
pub fn job_services(job: &Job<'_>) -> Vec<String> {
    let mut out = BTreeSet::new();
    for step in job.steps() {
        if let Some(script) = step.run().and_then(|r| r.as_str()) {
            out.extend(script_services(script));
        }
        if let Some(uses) = step.uses() {
            out.extend(action_service(&uses.repo.to_ascii_lowercase()).map(str::to_string));
        }
    }
    out.into_iter().collect()
}

/// Actions known to call one AWS service.
fn action_service(repo: &str) -> Option<&'static str> {
    Some(match repo {
        "aws-actions/amazon-ecr-login" => "ecr",
        "aws-actions/amazon-ecs-deploy-task-definition" => "ecs",
        "aws-actions/aws-cloudformation-github-deploy" => "cloudformation",
        "aws-actions/aws-codebuild-run-build" => "codebuild",
        "aws-actions/aws-lambda-deploy" | "appleboy/lambda-action" => "lambda",
        "aws-actions/aws-secretsmanager-get-secrets" => "secretsmanager",
        "jakejarvis/s3-sync-action" | "shallwefootball/s3-upload-action" => "s3",
        "chetan/invalidate-cloudfront-action" => "cloudfront",
        _ => return None,
    })
}

/// AWS CLI global options that take a value (`aws --region eu-west-1 s3 ls`): the word after
/// one is its value, not the service. The policy compiler reads commands with the same list.
pub const AWS_CLI_VALUE_OPTIONS: &[&str] = &[
    "--region",
    "--profile",
    "--output",
    "--endpoint-url",
    "--query",
    "--ca-bundle",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--color",
    "--cli-binary-format",
];

/// Services the commands of a shell script call.
pub fn script_services(script: &str) -> BTreeSet<String> {
    /// The commands below; a line without any of them calls no service (most lines).
    const COMMANDS: &[&str] = &["aws", "cdk", "sam", "serverless", "sls", "copilot"];
    let mut out = BTreeSet::new();
    for line in script.lines() {
        if !COMMANDS.iter().any(|c| line.contains(c)) {
            continue;
        }
        // Commands start a line or follow a separator; `$(…)` and backticks open one too.
        let spaced = line
            .replace("&&", " ; ")
            .replace("||", " ; ")
            .replace(['|', ';', '(', ')', '`'], " ; ");
        let words: Vec<&str> = spaced.split_whitespace().collect();
        let mut at_command = true;
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            if word == ";" {
                at_command = true;
                i += 1;
                continue;
            }
            if at_command && matches!(word, "sudo" | "exec" | "time" | "npx" | "command") {
                i += 1;
                continue;
            }
            if at_command {
                match word {
                    "aws" => {
                        if let Some(service) = cli_service(&words[i + 1..]) {
                            out.insert(service);
                        }
                    }
                    // Deploy tools that work through CloudFormation stacks.
                    "cdk" | "sam" | "serverless" | "sls" | "copilot"
                        if words.get(i + 1).is_some_and(|w| w.starts_with("deploy")) =>
                    {
                        out.insert("cloudformation".to_string());
                    }
                    _ => {}
                }
            }
            at_command = false;
            i += 1;
        }
    }
    out
}

/// The service word after `aws` and its global options, as IAM names it.
fn cli_service(rest: &[&str]) -> Option<String> {
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        if word.starts_with("--") {
            i += if AWS_CLI_VALUE_OPTIONS.contains(word) && !word.contains('=') {
                2
            } else {
                1
            };
            continue;
        }
        if !word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || word.is_empty()
        {
            return None;
        }
        return Some(iam_name(word).to_string());
    }
    None
}

/// The AWS CLI's command name → IAM's service prefix, where they differ.
fn iam_name(cli: &str) -> &str {
    match cli {
        "s3api" | "s3control" => "s3",
        "deploy" => "codedeploy",
        "elbv2" | "elb" => "elasticloadbalancing",
        "stepfunctions" => "states",
        "configservice" => "config",
        "emr" => "elasticmapreduce",
        "opensearch" => "es",
        "sesv2" => "ses",
        "ecr-public" => "ecr-public",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_in_scripts() {
        let script = "set -e\n\
            aws s3 sync ./dist s3://bucket --delete\n\
            aws --region eu-west-1 ecs update-service --cluster c --service s\n\
            ID=$(aws sts get-caller-identity --query Account --output text)\n\
            echo aws lambda is not a command here && sudo aws s3api put-object --bucket b\n\
            npx cdk deploy --all\n\
            sls deploy --stage prod\n\
            aws --output=json elbv2 describe-load-balancers | jq .\n\
            aws $SERVICE list\n\
            aws --cli-binary-format raw-in-base64-out lambda invoke --function-name f out\n";
        assert_eq!(
            script_services(script).into_iter().collect::<Vec<_>>(),
            vec![
                "cloudformation",
                "ecs",
                "elasticloadbalancing",
                "lambda",
                "s3",
                "sts"
            ]
        );
    }
}
