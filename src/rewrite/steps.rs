//! Edits inside jobs: removing key entries from `with:`/`env:`/`secrets:` mappings (block or
//! flow, dropping a mapping that becomes empty), adding `role-to-assume`, bumping an old
//! configure-aws-credentials ref, and inserting a configure-aws-credentials step that looks
//! like its neighbours.

use super::edits::EditSet;
use super::layout;
use super::roles::RoleArn;
use super::verify::{Changes, Value};
use crate::detect::region;
use crate::workflow::{Job, Step, Workflow};
use crate::yaml::{Node, Style};

/// Why an edit inside a job cannot be made safely: the finding is then left to a person,
/// with this as its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditBlocker {
    #[error("two edits would touch the same text")]
    Overlap,
    #[error("the mapping uses YAML anchors or aliases")]
    MappingUsesAnchors,
    #[error("the mapping would become empty")]
    MappingWouldBeEmpty,
    #[error("its layout is too unusual to edit")]
    UnusualLayout,
    #[error("not a mapping")]
    NotAMapping,
    #[error("the `uses:` value has no ref")]
    UsesWithoutRef,
    #[error("the `uses:` value is written in an unusual way")]
    UnusualUses,
    #[error("the job has no steps")]
    NoSteps,
    #[error("its steps (or the job holding them) are shared through a YAML anchor")]
    StepsSharedThroughAnchor,
    #[error("its steps are not a sequence")]
    StepsNotASequence,
    #[error("the step's first line is laid out in an unusual way")]
    UnusualStepStart,
    #[error("the region is not a plain value")]
    RegionNotPlain,
}

/// Edits plus the tree changes they are meant to make.
#[derive(Debug, Default)]
pub struct Plan {
    pub edits: EditSet,
    pub changes: Changes,
}

impl Plan {
    fn push(
        &mut self,
        range: std::ops::Range<usize>,
        text: impl Into<String>,
    ) -> Result<(), EditBlocker> {
        self.edits
            .push(range, text)
            .map_err(|_| EditBlocker::Overlap)
    }
}

/// A new entry to write where the first removed entry was.
pub struct NewEntry<'a> {
    pub key: &'a str,
    /// As written in block context.
    pub block_text: String,
    /// As written in flow context (quoted where needed).
    pub flow_text: String,
    pub value: Value,
}

/// The mapping entry that holds a mapping, so an emptied mapping can go with its key.
#[derive(Clone, Copy)]
pub struct Holder<'d> {
    pub map: Node<'d>,
    pub key: Node<'d>,
}

/// Removes the entries of `map` whose keys are `remove` (and writes `new` in place of the
/// first). When nothing would be left and there is no new entry, the whole `holder` entry
/// goes instead.
pub fn remove_entries(
    text: &str,
    plan: &mut Plan,
    map: Node<'_>,
    holder: Option<Holder<'_>>,
    remove: &[Node<'_>],
    new: Option<NewEntry<'_>>,
) -> Result<(), EditBlocker> {
    if map.touches_anchor() || map.shared_through_anchor() {
        return Err(EditBlocker::MappingUsesAnchors);
    }
    let entries: Vec<(Node<'_>, Node<'_>)> = map.entries().collect();
    let removed: Vec<bool> = entries.iter().map(|(k, _)| remove.contains(k)).collect();
    if !removed.iter().any(|&r| r) {
        return Ok(());
    }
    if removed.iter().all(|&r| r) && new.is_none() {
        let holder = holder.ok_or(EditBlocker::MappingWouldBeEmpty)?;
        if holder.map.style() == Style::Flow {
            // `- {run: x, env: {...}}`: the entry goes from the flow mapping that holds it,
            // with its separator; a holder left with nothing reads back as `{}`.
            let entries: Vec<(Node<'_>, Node<'_>)> = holder.map.entries().collect();
            let removed: Vec<bool> = entries.iter().map(|(k, _)| *k == holder.key).collect();
            plan.changes.remove_entry(holder.map, holder.key);
            return remove_flow_entries(text, plan, &entries, &removed, None);
        }
        let range = layout::entry_lines(text, holder.key, map).ok_or(EditBlocker::UnusualLayout)?;
        let inner_comments = range.end
            ..layout::extend_over_inner_comments(
                text,
                range.end,
                layout::column(text, holder.key.span().start),
            );
        let (range, replacement) = layout::keep_missing_final_newline(text, range, String::new());
        plan.push(range, replacement)?;
        // A separate cut, so that a line inserted where the entry ended (a job's
        // `permissions:`) lands before the comments, not inside one edit.
        if !inner_comments.is_empty() && (inner_comments.end < text.len() || text.ends_with('\n')) {
            plan.push(inner_comments, String::new())?;
        }
        if holder.map.entries().count() == 1 {
            // `workflow_call:` losing its only key reads back as null, not as `{}`.
            plan.changes.replace(holder.map, Value::plain(""));
        } else {
            plan.changes.remove_entry(holder.map, holder.key);
        }
        return Ok(());
    }
    for (k, _) in entries.iter().filter(|(k, _)| remove.contains(k)) {
        plan.changes.remove_entry(map, *k);
    }
    if let Some(new) = &new {
        plan.changes.add_entry(map, new.key, new.value.clone());
    }
    match map.style() {
        Style::Block => remove_block_entries(text, plan, &entries, &removed, new),
        Style::Flow => remove_flow_entries(text, plan, &entries, &removed, new),
        _ => Err(EditBlocker::NotAMapping),
    }
}

fn remove_block_entries(
    text: &str,
    plan: &mut Plan,
    entries: &[(Node<'_>, Node<'_>)],
    removed: &[bool],
    mut new: Option<NewEntry<'_>>,
) -> Result<(), EditBlocker> {
    // Cuts of whole lines; adjacent ones are joined so an end-of-file fix-up sees them whole.
    let mut cuts: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for ((k, v), _) in entries.iter().zip(removed).filter(|(_, r)| **r) {
        let range = layout::entry_lines(text, *k, *v).ok_or(EditBlocker::UnusualLayout)?;
        let replacement = match new.take() {
            None => String::new(),
            Some(new) => {
                let old = &text[range.clone()];
                let eol = if old.ends_with("\r\n") {
                    "\r\n"
                } else if old.ends_with('\n') {
                    "\n"
                } else {
                    layout::line_ending_at(text, range.start)
                };
                let indent = layout::spaces(layout::column(text, k.span().start));
                format!("{indent}{}: {}{eol}", new.key, new.block_text)
            }
        };
        match cuts.last_mut() {
            Some((last, rep)) if last.end == range.start => {
                last.end = range.end;
                rep.push_str(&replacement);
            }
            _ => cuts.push((range, replacement)),
        }
    }
    for (range, replacement) in cuts {
        let (range, replacement) = layout::keep_missing_final_newline(text, range, replacement);
        plan.push(range, replacement)?;
    }
    Ok(())
}

fn remove_flow_entries(
    text: &str,
    plan: &mut Plan,
    entries: &[(Node<'_>, Node<'_>)],
    removed: &[bool],
    mut new: Option<NewEntry<'_>>,
) -> Result<(), EditBlocker> {
    let n = entries.len();
    let mut i = 0;
    while i < n {
        if !removed[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i + 1 < n && removed[i + 1] {
            i += 1;
        }
        let last = i;
        i += 1;
        let end_of = |j: usize| layout::entry_end(text, entries[j].0, entries[j].1);
        // A new entry takes the place of the first removed run, with the separator
        // (`, ` or a line break and indentation) the file already uses there.
        let (range, replacement) = if last + 1 < n {
            let next = entries[last + 1].0.span().start;
            let separator = &text[end_of(last)..next];
            let range = entries[first].0.span().start..next;
            (
                range,
                new.take()
                    .map(|e| format!("{}: {}{separator}", e.key, e.flow_text)),
            )
        } else if first > 0 {
            let separator = &text[end_of(first - 1)..entries[first].0.span().start];
            (
                end_of(first - 1)..end_of(last),
                new.take()
                    .map(|e| format!("{separator}{}: {}", e.key, e.flow_text)),
            )
        } else {
            (
                entries[first].0.span().start..end_of(last),
                new.take().map(|e| format!("{}: {}", e.key, e.flow_text)),
            )
        };
        let replacement = replacement.unwrap_or_default();
        plan.push(range, replacement)?;
    }
    Ok(())
}

/// Whether a configure-aws-credentials ref predates the versions we keep (`v1`, `v1-node16`,
/// `v2`, `v3`, any tag below v4). Branches and SHA pins stay as they are.
pub fn is_old_ref(git_ref: &str) -> bool {
    let Some(rest) = git_ref.strip_prefix('v') else {
        return false;
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    !digits.is_empty()
        && digits.parse::<u32>().is_ok_and(|major| major < 4)
        && (after.is_empty() || after.starts_with(['.', '-']))
}

/// Rewrites the ref of a `uses:` value in place.
pub fn bump_ref(
    text: &str,
    plan: &mut Plan,
    uses: Node<'_>,
    old_ref: &str,
    new_ref: &str,
    version: Option<&str>,
) -> Result<(), EditBlocker> {
    let span = uses.span();
    let src = &text[span.start..span.end];
    let at = src.rfind('@').ok_or(EditBlocker::UsesWithoutRef)?;
    let ref_start = span.start + at + 1;
    if text.get(ref_start..ref_start + old_ref.len()) != Some(old_ref) {
        return Err(EditBlocker::UnusualUses);
    }
    // A pinned SHA gets its version as a comment, where the value ends the line's content.
    let ref_end = ref_start + old_ref.len();
    let rest_of_line = text[ref_end..].split(['\n', '\r']).next().unwrap_or("");
    let plain_to_end = uses.style() == Style::Plain && ref_end == span.end;
    match version {
        // `uses: x@v1` ends its line: the comment follows the ref.
        Some(v) if plain_to_end && rest_of_line.trim_end_matches([' ', '\t']).is_empty() => {
            plan.push(ref_start..ref_end, format!("{new_ref} # {v}"))?;
        }
        // `- {uses: x@v1, with: {...}}`: more of a flow mapping follows on the line, so the
        // comment goes at the line's end, unless that end lies inside a scalar (where `#`
        // would be text) or the line already has a `#`.
        Some(v)
            if plain_to_end
                && !rest_of_line.contains('#')
                && !uses
                    .document()
                    .inside_scalar(ref_end + rest_of_line.trim_end_matches([' ', '\t']).len()) =>
        {
            plan.push(ref_start..ref_end, new_ref.to_string())?;
            let line_end = ref_end + rest_of_line.trim_end_matches([' ', '\t']).len();
            plan.push(line_end..line_end, format!(" # {v}"))?;
        }
        _ => plan.push(ref_start..ref_end, new_ref.to_string())?,
    }
    let full = uses.as_str().unwrap_or("");
    let new_value = format!(
        "{}@{new_ref}",
        &full[..full.rfind('@').unwrap_or(full.len())]
    );
    plan.changes.replace(
        uses,
        Value::Scalar {
            text: new_value,
            plain: uses.style() == Style::Plain,
        },
    );
    Ok(())
}

/// A region for an inserted step, as source text plus its value.
#[derive(Debug, Clone)]
pub struct Region {
    pub text: String,
    pub value: Value,
    pub origin: String,
}

impl Region {
    /// The region scan found, as the rewriter writes and verifies it.
    pub fn from_source(found: region::RegionSource<'_>) -> Self {
        let value = found
            .node
            .map_or_else(|| Value::plain(&found.text), Value::of);
        Self {
            text: found.text,
            value,
            origin: found.origin,
        }
    }
}

/// What the inserted configure-aws-credentials step says.
pub struct ConfigureStep<'a> {
    pub role: &'a RoleArn,
    pub region: &'a Region,
    pub action_ref: &'a str,
    /// Written as `# vX.Y.Z` after a pinned SHA.
    pub action_version: Option<&'a str>,
    /// `if:` of the steps it serves, so it runs exactly where they do (and needs no token
    /// where they were skipped).
    pub condition: Option<&'a str>,
}

/// A condition as a single-quoted YAML scalar (the one style that needs no escapes but `''`).
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub const STEP_NAME: &str = "Configure AWS credentials (OIDC)";

/// Inserts a configure-aws-credentials step before `before` (above the comments that
/// describe it), with the dash column, content column and `with:` indentation of the file.
/// In a flow sequence (`steps: [{...}, {...}]`) the step is written as a flow mapping.
pub fn insert_configure_step(
    text: &str,
    plan: &mut Plan,
    job: &Job<'_>,
    before: &Step<'_>,
    step: &ConfigureStep<'_>,
    with_indent: usize,
) -> Result<(), EditBlocker> {
    let steps = job.steps_node().ok_or(EditBlocker::NoSteps)?;
    if steps.shared_through_anchor() {
        return Err(EditBlocker::StepsSharedThroughAnchor);
    }
    let uses = format!("aws-actions/configure-aws-credentials@{}", step.action_ref);
    if steps.style() == Style::Flow {
        return insert_flow_step(text, plan, steps, before, step, &uses);
    }
    if steps.style() != Style::Block {
        return Err(EditBlocker::StepsNotASequence);
    }
    let item = before.node.span().start;
    let (dash_line, dash_col, content_col) = block_item_layout(text, item)?;
    let mut at = dash_line;
    // Comment lines right above the step describe it: insert above them.
    while at > 0 {
        let prev = layout::line_start(text, at - 1);
        let prev_text = &text[prev..at];
        let trimmed = prev_text.trim_start_matches(' ');
        if trimmed.starts_with('#') && prev_text.len() - trimmed.len() >= dash_col {
            at = prev;
        } else {
            break;
        }
    }
    let eol = layout::line_ending_at(text, at);
    let separated = before.index > 0 && layout::blank_line_before(text, at);
    let dash = format!(
        "{}-{}",
        layout::spaces(dash_col),
        layout::spaces(content_col - dash_col - 1)
    );
    let body = layout::spaces(content_col);
    let inner = layout::spaces(content_col + with_indent);
    let version_comment = step
        .action_version
        .map(|v| format!(" # {v}"))
        .unwrap_or_default();
    let condition = step
        .condition
        .map(|c| format!("{body}if: {}{eol}", single_quoted(c)))
        .unwrap_or_default();
    let mut block = format!(
        "{dash}name: {STEP_NAME}{eol}{condition}{body}uses: {uses}{version_comment}{eol}{body}with:{eol}{inner}role-to-assume: {}{eol}{inner}aws-region: {}{eol}",
        step.role.as_str(),
        step.region.text
    );
    if separated {
        block.push_str(eol);
    }
    plan.push(at..at, block)?;
    let mut entries = vec![("name", Value::plain(STEP_NAME))];
    if let Some(c) = step.condition {
        entries.push(("if", Value::quoted(c)));
    }
    entries.push(("uses", Value::plain(&uses)));
    entries.push((
        "with",
        Value::map(vec![
            ("role-to-assume", Value::plain(step.role.as_str())),
            ("aws-region", step.region.value.clone()),
        ]),
    ));
    let value = Value::map(entries);
    plan.changes.insert_item(steps, before.index, value);
    Ok(())
}

/// Where the block sequence item whose content starts at `item` begins: the start of the line
/// of its `-`, the `-`'s column and the content's column. The `-` is usually on the content's
/// line (`- run: x`), but may stand alone or with a comment on a line above (`- # deploy`,
/// then the keys), with only comments and blank lines between.
fn block_item_layout(text: &str, item: usize) -> Result<(usize, usize, usize), EditBlocker> {
    let line = layout::line_start(text, item);
    let prefix = &text[line..item];
    if let Some(dash_col) = prefix.find('-') {
        if !prefix[..dash_col].bytes().all(|b| b == b' ')
            || !prefix[dash_col + 1..].bytes().all(|b| b == b' ')
        {
            return Err(EditBlocker::UnusualStepStart);
        }
        return Ok((line, dash_col, prefix.len()));
    }
    if !prefix.bytes().all(|b| b == b' ') {
        return Err(EditBlocker::UnusualStepStart);
    }
    let content_col = prefix.len();
    let mut at = line;
    while at > 0 {
        let prev = layout::line_start(text, at - 1);
        let content = text[prev..at].trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            at = prev;
            continue;
        }
        let dash_col = content.len() - trimmed.len();
        let after_dash = trimmed
            .strip_prefix('-')
            .ok_or(EditBlocker::UnusualStepStart)?;
        let rest = after_dash.trim_start_matches([' ', '\t']);
        let dash_alone = after_dash.is_empty()
            || (after_dash.starts_with([' ', '\t']) && (rest.is_empty() || rest.starts_with('#')));
        if !dash_alone || dash_col >= content_col {
            return Err(EditBlocker::UnusualStepStart);
        }
        return Ok((prev, dash_col, content_col));
    }
    Err(EditBlocker::UnusualStepStart)
}

/// Inserts the step as a flow mapping in front of `before` in a flow sequence of steps.
/// Scalars are double-quoted (flow context forbids `{`, `}` and `,` in plain ones). When the
/// item starts its line, the new step gets a line of its own (with the pinned version as a
/// comment); otherwise it goes on the item's line, without a comment, which would end it.
fn insert_flow_step(
    text: &str,
    plan: &mut Plan,
    steps: Node<'_>,
    before: &Step<'_>,
    step: &ConfigureStep<'_>,
    uses: &str,
) -> Result<(), EditBlocker> {
    let Value::Scalar { text: region, .. } = &step.region.value else {
        return Err(EditBlocker::RegionNotPlain);
    };
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut item = before.node.span().start;
    let condition = step
        .condition
        .map(|c| format!("if: {}, ", quote(c)))
        .unwrap_or_default();
    let mut flow = format!(
        "{{name: {}, {condition}uses: {}, with: {{role-to-assume: {}, aws-region: {}}}}},",
        quote(STEP_NAME),
        quote(uses),
        quote(step.role.as_str()),
        quote(region)
    );
    if layout::starts_line(text, item) {
        let comment = step
            .action_version
            .map(|v| format!(" # {v}"))
            .unwrap_or_default();
        let eol = layout::line_ending_at(text, item);
        let indent = layout::spaces(layout::column(text, item));
        // Above the comment lines that describe the item, at the item's column.
        let line = layout::line_start(text, item);
        let above = layout::start_of_leading_comments(text, line);
        if above < line {
            item = above + indent.len();
            if !text[above..item].bytes().all(|b| b == b' ') {
                item = before.node.span().start;
            }
        }
        flow.push_str(&format!("{comment}{eol}{indent}"));
    } else {
        flow.push(' ');
    }
    plan.push(item..item, flow)?;
    let mut entries = vec![("name", Value::quoted(STEP_NAME))];
    if let Some(c) = step.condition {
        entries.push(("if", Value::quoted(c)));
    }
    entries.push(("uses", Value::quoted(uses)));
    entries.push((
        "with",
        Value::map(vec![
            ("role-to-assume", Value::quoted(step.role.as_str())),
            ("aws-region", Value::quoted(region)),
        ]),
    ));
    let value = Value::map(entries);
    plan.changes.insert_item(steps, before.index, value);
    Ok(())
}

/// The indentation of `with:` entries relative to `with:` in the file's steps, or `unit`.
pub fn with_indent(text: &str, workflow: &Workflow<'_>, unit: usize) -> usize {
    workflow
        .jobs()
        .iter()
        .flat_map(|j| j.steps())
        .find_map(|s| {
            let (key, with) = s.node.entry("with")?;
            let inner = layout::entry_indent(text, with)?;
            inner
                .checked_sub(layout::column(text, key.span().start))
                .filter(|&d| d > 0)
        })
        .unwrap_or(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_refs() {
        for old in ["v1", "v1-node16", "v2", "v3", "v3.0.2", "v0.9", "v3-node20"] {
            assert!(is_old_ref(old), "{old}");
        }
        for keep in [
            "v4",
            "v6",
            "v10",
            "main",
            "0123456789abcdef0123456789abcdef01234567",
            "v4.3.1",
            "vNext",
        ] {
            assert!(!is_old_ref(keep), "{keep}");
        }
    }
}
