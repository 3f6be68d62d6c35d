#!/usr/bin/env python3
"""Extract the GraphQL types `migrate` queries from GitHub's public schema.

The fake GitHub in tests/ checks every GraphQL query it receives against the subset this writes
(tests/graphql/github-schema-subset.json): a field, argument or type condition the real API does
not have fails the test, just as the OpenAPI subset does for REST.

Usage:
    npm pack @octokit/graphql-schema@15.26.1   # from the npm registry
    tar xzf octokit-graphql-schema-15.26.1.tgz
    python3 tests/graphql/extract.py package/schema.json > tests/graphql/github-schema-subset.json
"""
import json
import sys

# Every type a migrate query selects fields of. Keep sorted.
TYPES = [
    "Blob",
    "Enterprise",
    "Environment",
    "EnvironmentConnection",
    "GitObject",
    "Organization",
    "OrganizationConnection",
    "PageInfo",
    "PullRequest",
    "PullRequestChangedFile",
    "PullRequestChangedFileConnection",
    "PullRequestConnection",
    "Query",
    "RateLimit",
    "Ref",
    "Repository",
    "RepositoryConnection",
    "RepositoryOwner",
    "RepositoryTopic",
    "RepositoryTopicConnection",
    "Topic",
    "Tree",
    "TreeEntry",
    "User",
]


def base(type_ref):
    """NON_NULL / LIST wrappers off: the named type."""
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref["name"]


def main(path):
    schema = json.load(open(path))["__schema"]
    by_name = {t["name"]: t for t in schema["types"]}
    out = {}
    for name in TYPES:
        t = by_name[name]
        out[name] = {
            "kind": t["kind"],
            "fields": {
                f["name"]: {"type": base(f["type"]), "args": sorted(a["name"] for a in f["args"])}
                for f in sorted(t.get("fields") or [], key=lambda f: f["name"])
            },
            "possibleTypes": sorted(p["name"] for p in t.get("possibleTypes") or []),
        }
    json.dump({"source": "@octokit/graphql-schema 15.26.1 schema.json", "types": out}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
