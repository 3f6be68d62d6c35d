//! The source tree's shape, checked: every module opens with a `//!` line saying what it is
//! for, and no two files import each other, directly or round a longer loop (a module and its
//! own submodules aside), so each file can be read with what it uses and nothing that uses it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`campaign::cleanup::execute`; `""` for
/// the crate root).
fn modules() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let root = stack[0].clone();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.insert(module_path(&root, &path), path);
            }
        }
    }
    out
}

fn module_path(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without its comments and its `#[cfg(test)]` module: doc links and
/// tests are not imports.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    // A line is cut at its first `//` (a URL in a string loses its tail: no import hides there).
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a file refers to through `crate::`, `super::` and `self::` paths, each resolved
/// to the longest module path it names.
fn imports(module: &str, text: &str, known: &BTreeSet<&str>) -> BTreeSet<String> {
    // `self::` is the module itself and each `super::` one level up, whether the module is a
    // file (`x/y.rs`) or a directory (`x/y/mod.rs`).
    let here: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    let mut out = BTreeSet::new();
    let code = code(text);
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (at, _) in code.match_indices("::") {
        // The path this `::` starts: walk back over `super::super::` or to `crate`/`self`.
        let mut start = at;
        while start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b':') {
            start -= 1;
        }
        if at != start + code[start..].find("::").unwrap_or(0) {
            continue; // not the first `::` of its path
        }
        let mut end = at;
        while end < bytes.len() && (is_ident(bytes[end]) || bytes[end] == b':') {
            end += 1;
        }
        let segments: Vec<&str> = code[start..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        let (base, rest): (Vec<&str>, &[&str]) = match segments.first() {
            Some(&"crate") => (Vec::new(), &segments[1..]),
            Some(&"self") => (here.clone(), &segments[1..]),
            Some(&"super") => {
                let ups = segments.iter().take_while(|s| **s == "super").count();
                let keep = here.len().saturating_sub(ups);
                (here[..keep].to_vec(), &segments[ups..])
            }
            _ => continue,
        };
        let full: Vec<&str> = base.into_iter().chain(rest.iter().copied()).collect();
        for len in (1..=full.len()).rev() {
            let candidate = full[..len].join("::");
            if known.contains(candidate.as_str()) {
                let related = candidate == module
                    || module.starts_with(&format!("{candidate}::"))
                    || candidate.starts_with(&format!("{module}::"));
                if !related && !module.is_empty() {
                    out.insert(candidate);
                }
                break;
            }
        }
    }
    out
}

/// The import loops among `graph`'s modules (strongly connected components of two or more).
fn loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on its reverse.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(node.to_string()) {
            return;
        }
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, seen, order);
        }
        order.push(node.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for node in graph.keys() {
        visit(node, graph, &mut seen, &mut order);
    }
    let mut reverse: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in graph {
        for to in tos {
            reverse.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for node in order.iter().rev() {
        let mut component = Vec::new();
        visit(node, &reverse, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

/// Loops that are the policy compiler's recursion, not tangled layers: a script runs a package
/// script or make target (`runners`), which is compiled as a script again (`known`); and
/// `aws cloudformation deploy` (`cli`) is compiled as the deploy action that does the same
/// (`known`). Any other loop fails the test.
const RECURSION: &[&[&str]] = &[&[
    "trust::infer::cli",
    "trust::infer::known",
    "trust::infer::runners",
]];

#[test]
fn every_module_opens_with_a_doc_line() {
    let missing: Vec<String> = modules()
        .values()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.starts_with("//! ")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` line: {missing:?}"
    );
}

#[test]
fn no_two_files_import_each_other() {
    let modules = modules();
    let known: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            (module.clone(), imports(module, &text, &known))
        })
        .collect();
    let found: Vec<Vec<String>> = loops(&graph)
        .into_iter()
        .filter(|component| {
            !RECURSION.contains(
                &component
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
            )
        })
        .collect();
    let shown: Vec<String> = found
        .iter()
        .map(|component| {
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| component.contains(to))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            edges.join(", ")
        })
        .collect();
    assert!(found.is_empty(), "import loops: {shown:#?}");
}

#[test]
fn a_loop_is_found_and_a_submodule_is_not_one() {
    let known: BTreeSet<&str> = ["a", "b", "a::inner"].into_iter().collect();
    let a = imports("a", "use crate::b::Thing;\nuse self::inner::X;", &known);
    let b = imports("b", "fn f() { crate::a::g() }", &known);
    let inner = imports("a::inner", "use super::Y; // crate::b in a comment", &known);
    assert_eq!(a, BTreeSet::from(["b".to_string()]));
    assert_eq!(b, BTreeSet::from(["a".to_string()]));
    assert!(inner.is_empty());
    let graph = BTreeMap::from([
        ("a".to_string(), a),
        ("b".to_string(), b),
        ("a::inner".to_string(), inner),
    ]);
    assert_eq!(loops(&graph), vec![vec!["a".to_string(), "b".to_string()]]);
}
