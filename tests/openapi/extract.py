#!/usr/bin/env python3
"""Extract the GitHub REST operations `migrate` uses from GitHub's official OpenAPI description.

The fake GitHub server in tests/ checks every request it receives against the subset this writes
(tests/openapi/github-subset.json): an unknown method+path or a body that does not match the
operation's request schema fails the test.

Usage:
    npm pack @octokit/openapi@23.0.2          # from the npm registry
    tar xzf octokit-openapi-23.0.2.tgz
    python3 tests/openapi/extract.py package/generated/api.github.com.deref.json > tests/openapi/github-subset.json
"""
import json
import sys

# (method, path template) of every REST call migrate makes. Keep sorted by path.
OPERATIONS = [
    ("get", "/app/installations"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/orgs/{org}"),
    ("get", "/orgs/{org}/actions/oidc/customization/sub"),
    ("get", "/orgs/{org}/actions/secrets"),
    ("delete", "/orgs/{org}/actions/secrets/{secret_name}"),
    ("get", "/orgs/{org}/actions/secrets/{secret_name}/repositories"),
    ("get", "/orgs/{org}/installation"),
    ("delete", "/orgs/{org}/actions/secrets/{secret_name}/repositories/{repository_id}"),
    ("get", "/orgs/{org}/repos"),
    ("get", "/meta"),
    ("get", "/rate_limit"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/actions/oidc/customization/sub"),
    ("get", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"),
    ("get", "/repos/{owner}/{repo}/actions/organization-secrets"),
    ("get", "/repos/{owner}/{repo}/actions/organization-variables"),
    ("get", "/repos/{owner}/{repo}/actions/secrets"),
    ("delete", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"),
    ("get", "/repos/{owner}/{repo}/actions/variables"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/environments"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/secrets"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/variables"),
    ("delete", "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}"),
    ("post", "/repos/{owner}/{repo}/git/blobs"),
    ("post", "/repos/{owner}/{repo}/git/commits"),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/trees"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
]


def json_schema(schema):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a type union with null."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("example", "examples", "description", "title", "externalDocs", "x-github", "readOnly", "writeOnly", "deprecated"):
            continue
        out[key] = json_schema(value) if isinstance(value, (dict, list)) else value
    if out.pop("nullable", False):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def main():
    spec = json.load(open(sys.argv[1]))
    operations = []
    for method, path in OPERATIONS:
        op = spec["paths"][path][method]
        parameters = [
            {"name": p["name"], "in": p["in"], "required": p.get("required", False), "schema": json_schema(p.get("schema", {}))}
            for p in op.get("parameters", [])
        ]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        operations.append({
            "method": method.upper(),
            "path": path,
            "operationId": op["operationId"],
            "parameters": parameters,
            "requestBody": json_schema(body) if body else None,
            "requestBodyRequired": op.get("requestBody", {}).get("required", False),
        })
    json.dump({"source": "@octokit/openapi " + spec["info"]["version"] + " api.github.com.deref.json", "operations": operations}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
