//! The safety net: re-parse the rewritten text and check that its tree equals the input
//! tree with exactly the intended changes applied. A file that fails is refused.

use std::collections::HashMap;

use crate::yaml::{Document, Kind, Node, NodeId, Style};

/// A parsed value, comparable across documents. Mappings compare as sets of entries (YAML
/// mappings are unordered); sequences in order. Plain and quoted scalars differ, because
/// `true` and `"true"` do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Scalar {
        text: String,
        plain: bool,
    },
    Mapping(Vec<(Value, Value)>),
    Sequence(Vec<Value>),
    /// An alias, named by the position of its anchor among the document's anchors.
    Alias(usize),
}

impl Value {
    pub fn plain(text: &str) -> Self {
        Self::Scalar {
            text: text.to_string(),
            plain: true,
        }
    }

    pub fn quoted(text: &str) -> Self {
        Self::Scalar {
            text: text.to_string(),
            plain: false,
        }
    }

    pub fn map(entries: Vec<(&str, Value)>) -> Self {
        Self::Mapping(
            entries
                .into_iter()
                .map(|(k, v)| (Value::plain(k), v))
                .collect(),
        )
    }

    /// The value of a node, as the re-parse would see it.
    pub fn of(node: Node<'_>) -> Self {
        let anchors = anchor_ordinals(node.document());
        convert(node, &anchors, &Changes::default())
    }

    /// Mapping entries in one order (by key; any total order will do), in place.
    fn normalize(&mut self) {
        match self {
            Self::Mapping(entries) => {
                for (k, v) in entries.iter_mut() {
                    k.normalize();
                    v.normalize();
                }
                // Stable: duplicate keys keep their order on both sides.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            Self::Sequence(items) => items.iter_mut().for_each(Value::normalize),
            Self::Scalar { .. } | Self::Alias(_) => {}
        }
    }

    fn normalized(mut self) -> Self {
        self.normalize();
        self
    }
}

/// The intended changes, addressed by node of the input document.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// Mapping entries to drop: (mapping, key node).
    removed: Vec<(NodeId, NodeId)>,
    /// Entries to add to a mapping.
    added: HashMap<NodeId, Vec<(String, Value)>>,
    /// Nodes whose value is replaced.
    replaced: HashMap<NodeId, Value>,
    /// Sequence items to insert before the item at the given index (in the input).
    inserted: HashMap<NodeId, Vec<(usize, Value)>>,
}

impl Changes {
    pub fn remove_entry(&mut self, map: Node<'_>, key: Node<'_>) {
        self.removed.push((map.id(), key.id()));
    }

    pub fn add_entry(&mut self, map: Node<'_>, key: &str, value: Value) {
        self.added
            .entry(map.id())
            .or_default()
            .push((key.to_string(), value));
    }

    pub fn replace(&mut self, node: Node<'_>, value: Value) {
        self.replaced.insert(node.id(), value);
    }

    pub fn insert_item(&mut self, seq: Node<'_>, before: usize, value: Value) {
        self.inserted
            .entry(seq.id())
            .or_default()
            .push((before, value));
    }

    pub fn merge(&mut self, other: Changes) {
        self.removed.extend(other.removed);
        for (k, v) in other.added {
            self.added.entry(k).or_default().extend(v);
        }
        self.replaced.extend(other.replaced);
        for (k, v) in other.inserted {
            self.inserted.entry(k).or_default().extend(v);
        }
    }
}

fn anchor_ordinals(doc: &Document) -> HashMap<NodeId, usize> {
    let mut out = HashMap::new();
    if let Some(root) = doc.root() {
        let mut stack = vec![root];
        let mut order = Vec::new();
        while let Some(node) = stack.pop() {
            if node.is_alias() {
                continue;
            }
            if node.is_anchored() {
                order.push((node.span().start, node.id()));
            }
            for (k, v) in node.entries() {
                stack.push(k);
                stack.push(v);
            }
            stack.extend(node.items());
        }
        order.sort_by_key(|(start, _)| *start);
        out.extend(order.into_iter().enumerate().map(|(i, (_, id))| (id, i)));
    }
    out
}

fn convert(node: Node<'_>, anchors: &HashMap<NodeId, usize>, changes: &Changes) -> Value {
    if let Some(v) = changes.replaced.get(&node.id()) {
        return v.clone();
    }
    if node.is_alias() {
        return Value::Alias(
            anchors
                .get(&node.resolve().id())
                .copied()
                .unwrap_or(usize::MAX),
        );
    }
    match node.kind() {
        Kind::Scalar(text) => Value::Scalar {
            text: text.clone(),
            plain: node.style() == Style::Plain,
        },
        Kind::Mapping(_) => {
            let mut entries: Vec<(Value, Value)> = node
                .entries()
                .filter(|(k, _)| !changes.removed.contains(&(node.id(), k.id())))
                .map(|(k, v)| (convert(k, anchors, changes), convert(v, anchors, changes)))
                .collect();
            if let Some(added) = changes.added.get(&node.id()) {
                entries.extend(added.iter().map(|(k, v)| (Value::plain(k), v.clone())));
            }
            Value::Mapping(entries)
        }
        Kind::Sequence(_) => {
            let mut inserts: Vec<(usize, Value)> = changes
                .inserted
                .get(&node.id())
                .cloned()
                .unwrap_or_default();
            inserts.sort_by_key(|(i, _)| *i);
            let mut items = Vec::new();
            let mut pending = inserts.into_iter().peekable();
            for (i, item) in node.items().enumerate() {
                while let Some((_, v)) = pending.next_if(|(at, _)| *at <= i) {
                    items.push(v);
                }
                items.push(convert(item, anchors, changes));
            }
            items.extend(pending.map(|(_, v)| v));
            Value::Sequence(items)
        }
        Kind::Alias(_) => Value::Alias(usize::MAX),
    }
}

/// Why a rewritten text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Unparsable(String),
    Different,
}

/// Checks `output` against `input` with `changes` applied.
pub fn check(input: &Document, output: &str, changes: &Changes) -> Result<(), Mismatch> {
    let reparsed = Document::parse(output)
        .map_err(|e| Mismatch::Unparsable(format!("line {}: {}", e.line, e.message)))?;
    let expected = input
        .root()
        .map(|r| convert(r, &anchor_ordinals(input), changes).normalized());
    let actual = reparsed
        .root()
        .map(|r| convert(r, &anchor_ordinals(&reparsed), &Changes::default()).normalized());
    if expected == actual {
        Ok(())
    } else {
        Err(Mismatch::Different)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_unintended_and_missing_changes() {
        let input = Document::parse("a: 1\nb: [x, y]\nc: {d: 2}\n").unwrap();
        let root = input.root().unwrap();
        let mut changes = Changes::default();
        let (ckey, _) = root.entry("c").unwrap();
        changes.remove_entry(root, ckey);
        changes.insert_item(root.get("b").unwrap(), 1, Value::plain("new"));
        changes.add_entry(root, "e", Value::quoted("q"));
        assert_eq!(
            check(&input, "e: \"q\"\nb: [x, new, y]\na: 1\n", &changes),
            Ok(())
        );
        assert_eq!(
            check(&input, "e: q\nb: [x, new, y]\na: 1\n", &changes),
            Err(Mismatch::Different)
        );
        assert_eq!(
            check(&input, "e: \"q\"\nb: [new, x, y]\na: 1\n", &changes),
            Err(Mismatch::Different)
        );
        assert!(matches!(
            check(&input, "a: [\n", &changes),
            Err(Mismatch::Unparsable(_))
        ));
    }
}
