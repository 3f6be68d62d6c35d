//! Located YAML: a read-only node tree with byte spans, built from saphyr's event stream.
//!
//! saphyr's own `MarkedYaml` resolves aliases by cloning subtrees and counts offsets in
//! characters. Here every node keeps its *byte* span in the source, anchors are remembered
//! and aliases stay references to their anchor, so an alias bomb costs one node per alias
//! and the rewriter can refuse to edit anything an alias can see.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as CharSpan};

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// Index of a node inside its [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    /// `{ ... }` or `[ ... ]`.
    Flow,
    /// Indentation-based mapping or sequence.
    Block,
}

#[derive(Debug)]
pub enum Kind {
    Scalar(String),
    Mapping(Vec<(NodeId, NodeId)>),
    Sequence(Vec<NodeId>),
    /// An alias (`*name`); points at the anchored node, unexpanded.
    Alias(NodeId),
}

#[derive(Debug)]
pub struct NodeData {
    pub span: Span,
    pub style: Style,
    pub anchored: bool,
    pub kind: Kind,
}

/// Limits that keep hostile input cheap. Aliases are never expanded, so the node budget is
/// the number of nodes written in the file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_nodes: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 2_000_000,
            max_depth: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    /// 1-based line and column of the problem.
    pub line: usize,
    pub column: usize,
}

/// A parsed YAML stream; only its first document is kept (workflows have one).
#[derive(Debug)]
pub struct Document {
    nodes: Vec<NodeData>,
    root: Option<NodeId>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_with(text, Limits::default())
    }

    pub fn parse_with(text: &str, limits: Limits) -> Result<Self, ParseError> {
        Builder::new(text, limits).run()
    }

    pub fn root(&self) -> Option<Node<'_>> {
        self.root.map(|id| Node { doc: self, id })
    }

    pub fn node(&self, id: NodeId) -> Node<'_> {
        Node { doc: self, id }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn data(&self, id: NodeId) -> &NodeData {
        &self.nodes[id.0 as usize]
    }

    /// Whether `pos` lies strictly inside a scalar (a quoted string running over lines, a
    /// block scalar): a `#` written there would be text, not a comment.
    pub fn inside_scalar(&self, pos: usize) -> bool {
        self.nodes
            .iter()
            .any(|n| matches!(n.kind, Kind::Scalar(_)) && n.span.start < pos && pos < n.span.end)
    }
}

/// A borrowed view of one node.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    doc: &'d Document,
    id: NodeId,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("span", &self.span())
            .finish()
    }
}

impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}

impl<'d> Node<'d> {
    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn document(&self) -> &'d Document {
        self.doc
    }

    fn data(&self) -> &'d NodeData {
        self.doc.data(self.id)
    }

    /// The node's own span (for an alias: the `*name` token).
    pub fn span(&self) -> Span {
        self.data().span
    }

    pub fn style(&self) -> Style {
        self.data().style
    }

    pub fn is_anchored(&self) -> bool {
        self.data().anchored
    }

    pub fn is_alias(&self) -> bool {
        matches!(self.data().kind, Kind::Alias(_))
    }

    /// Follows an alias to the anchored node; other nodes return themselves.
    pub fn resolve(self) -> Node<'d> {
        match self.data().kind {
            Kind::Alias(target) => Node {
                doc: self.doc,
                id: target,
            },
            _ => self,
        }
    }

    pub fn kind(&self) -> &'d Kind {
        &self.resolve().data().kind
    }

    pub fn as_str(&self) -> Option<&'d str> {
        match self.kind() {
            Kind::Scalar(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn is_mapping(&self) -> bool {
        matches!(self.kind(), Kind::Mapping(_))
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self.kind(), Kind::Sequence(_))
    }

    /// A plain empty scalar (`key:` with nothing after it) reads as YAML null.
    pub fn is_null(&self) -> bool {
        match self.kind() {
            Kind::Scalar(s) => {
                self.resolve().style() == Style::Plain
                    && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// Mapping entries as (key, value); empty for other kinds. Aliases are followed.
    pub fn entries(&self) -> impl Iterator<Item = (Node<'d>, Node<'d>)> + 'd {
        let doc = self.doc;
        let pairs: &'d [(NodeId, NodeId)] = match self.kind() {
            Kind::Mapping(pairs) => pairs,
            _ => &[],
        };
        pairs
            .iter()
            .map(move |&(k, v)| (Node { doc, id: k }, Node { doc, id: v }))
    }

    /// Sequence items; empty for other kinds. Aliases are followed.
    pub fn items(&self) -> impl Iterator<Item = Node<'d>> + 'd {
        let doc = self.doc;
        let items: &'d [NodeId] = match self.kind() {
            Kind::Sequence(items) => items,
            _ => &[],
        };
        items.iter().map(move |&id| Node { doc, id })
    }

    /// The entry whose key is the scalar `key`.
    pub fn entry(&self, key: &str) -> Option<(Node<'d>, Node<'d>)> {
        self.entries().find(|(k, _)| k.as_str() == Some(key))
    }

    pub fn get(&self, key: &str) -> Option<Node<'d>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// A string value at `key`, when it is a scalar.
    pub fn get_str(&self, key: &str) -> Option<&'d str> {
        self.get(key).and_then(|v| v.as_str())
    }

    /// True when this node or anything below it is anchored or is an alias: the rewriter
    /// must not edit such a subtree, since an edit would show through every alias.
    pub fn touches_anchor(&self) -> bool {
        let mut stack = vec![self.id];
        while let Some(id) = stack.pop() {
            let data = self.doc.data(id);
            if data.anchored {
                return true;
            }
            match &data.kind {
                Kind::Alias(_) => return true,
                Kind::Scalar(_) => {}
                Kind::Sequence(items) => stack.extend(items.iter().copied()),
                Kind::Mapping(pairs) => {
                    for &(k, v) in pairs {
                        stack.push(k);
                        stack.push(v);
                    }
                }
            }
        }
        false
    }
}

impl Node<'_> {
    /// Whether this node, or a node holding it, is anchored or an alias: then adding to it
    /// (a new step in a steps sequence) would show through every alias of that anchor.
    /// Anchors below it (one step's `env: &e`) do not matter to a new sibling.
    pub fn shared_through_anchor(&self) -> bool {
        let Some(root) = self.doc.root() else {
            return true;
        };
        let target = self.span();
        let within = |n: &Node<'_>| n.span().start <= target.start && target.end <= n.span().end;
        let mut current = root;
        loop {
            if current.is_anchored() || current.is_alias() {
                return true;
            }
            if current.id == self.id {
                return false;
            }
            let next = if current.is_mapping() {
                current.entries().map(|(_, v)| v).find(within)
            } else {
                current.items().find(within)
            };
            match next {
                Some(next) => current = next,
                // Not found below the root: do not guess.
                None => return true,
            }
        }
    }
}

/// Maps saphyr's character indices to byte offsets. ASCII text needs no table.
struct ByteOffsets {
    table: Option<Vec<u32>>,
    len: usize,
}

impl ByteOffsets {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| {
            let mut table: Vec<u32> = text.char_indices().map(|(b, _)| b as u32).collect();
            table.push(text.len() as u32);
            table
        });
        Self {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).map_or(self.len, |&b| b as usize),
        }
    }
}

enum Open {
    Mapping {
        id: NodeId,
        pending_key: Option<NodeId>,
    },
    Sequence {
        id: NodeId,
    },
}

struct Builder<'t> {
    text: &'t str,
    offsets: ByteOffsets,
    limits: Limits,
    nodes: Vec<NodeData>,
    stack: Vec<Open>,
    anchors: HashMap<usize, NodeId>,
    root: Option<NodeId>,
    /// End of the last token placed in the tree: where a block scalar header search starts.
    last_end: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str, limits: Limits) -> Self {
        Self {
            text,
            offsets: ByteOffsets::new(text),
            limits,
            nodes: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            last_end: 0,
        }
    }

    fn run(mut self) -> Result<Document, ParseError> {
        let parser = Parser::new_from_str(self.text);
        let mut documents = 0usize;
        for event in parser {
            let (event, span) = event.map_err(|e| scan_error(&e))?;
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        // Only the first document matters for workflows and actions.
                        break;
                    }
                }
                Event::Scalar(value, style, anchor, _tag) => {
                    let style = match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::SingleQuoted => Style::SingleQuoted,
                        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                        ScalarStyle::Literal => Style::Literal,
                        ScalarStyle::Folded => Style::Folded,
                    };
                    let span = self.scalar_span(span, style);
                    self.last_end = span.end;
                    let id = self.push(span, style, anchor, Kind::Scalar(value.into_owned()))?;
                    self.attach(id);
                }
                Event::Alias(anchor) => {
                    let Some(&target) = self.anchors.get(&anchor) else {
                        return Err(ParseError {
                            message: "alias to an unknown anchor".into(),
                            line: span.start.line(),
                            column: span.start.col() + 1,
                        });
                    };
                    let start = self.offsets.byte(span.start.index());
                    let end = self.offsets.byte(span.end.index()).max(start);
                    let span = Span::new(start, start + self.text[start..end].trim_end().len());
                    self.last_end = span.end;
                    let id = self.push(span, Style::Plain, 0, Kind::Alias(target))?;
                    self.attach(id);
                }
                Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(ParseError {
                            message: format!(
                                "nesting deeper than {} levels",
                                self.limits.max_depth
                            ),
                            line: span.start.line(),
                            column: span.start.col() + 1,
                        });
                    }
                    let start = self.offsets.byte(span.start.index());
                    let style = if self
                        .text
                        .as_bytes()
                        .get(start)
                        .is_some_and(|&b| b == b'{' || b == b'[')
                    {
                        Style::Flow
                    } else {
                        Style::Block
                    };
                    // saphyr starts an indentless block sequence (`steps:` then `- {...}` at
                    // the key's column) at its first item: a collection that starts where its
                    // "flow" parent does means that parent is the block one around it.
                    if let Some(Open::Mapping { id, .. } | Open::Sequence { id }) =
                        self.stack.last()
                    {
                        let parent = &mut self.nodes[id.0 as usize];
                        if parent.style == Style::Flow && parent.span.start == start {
                            parent.style = Style::Block;
                        }
                    }
                    let kind = if is_map {
                        Kind::Mapping(Vec::new())
                    } else {
                        Kind::Sequence(Vec::new())
                    };
                    self.last_end = start + 1;
                    let id = self.push(Span::new(start, start), style, anchor, kind)?;
                    self.stack.push(if is_map {
                        Open::Mapping {
                            id,
                            pending_key: None,
                        }
                    } else {
                        Open::Sequence { id }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let Some(open) = self.stack.pop() else {
                        continue;
                    };
                    let id = match open {
                        Open::Mapping { id, .. } | Open::Sequence { id } => id,
                    };
                    let end = self.close_end(id, self.offsets.byte(span.start.index()));
                    self.nodes[id.0 as usize].span.end = end;
                    self.last_end = self.last_end.max(end);
                    self.attach(id);
                }
                Event::StreamEnd => break,
                Event::DocumentEnd | Event::StreamStart | Event::Nothing => {}
            }
        }
        Ok(Document {
            nodes: self.nodes,
            root: self.root,
        })
    }

    /// A collection ends where its last child ends (block style) or at its closing bracket
    /// (flow style). saphyr reports block ends at the next token, past trailing comments.
    fn close_end(&self, id: NodeId, end_token: usize) -> usize {
        let data = &self.nodes[id.0 as usize];
        if data.style == Style::Flow {
            // The end event starts at the closing bracket.
            return (end_token + 1).max(data.span.start);
        }
        let last_child = match &data.kind {
            Kind::Mapping(pairs) => pairs.last().map(|&(_, v)| v),
            Kind::Sequence(items) => items.last().copied(),
            _ => None,
        };
        last_child.map_or(data.span.start, |c| self.nodes[c.0 as usize].span.end)
    }

    fn scalar_span(&self, span: CharSpan, style: Style) -> Span {
        let bytes = self.text.as_bytes();
        let mut start = self.offsets.byte(span.start.index());
        let reported_end = self.offsets.byte(span.end.index()).max(start);
        let end = match style {
            // saphyr starts a block scalar at its content; the edit must cover the `|`/`>`
            // header too. It is the first indicator after the previous token.
            Style::Literal | Style::Folded => {
                if let Some(header) = find_block_header(bytes, self.last_end, start) {
                    start = header;
                }
                start
                    + self.text[start..reported_end]
                        .trim_end_matches([' ', '\t', '\r', '\n'])
                        .len()
            }
            Style::DoubleQuoted => closing_quote(bytes, start, b'"').unwrap_or(reported_end),
            Style::SingleQuoted => closing_quote(bytes, start, b'\'').unwrap_or(reported_end),
            _ => {
                start
                    + self.text[start..reported_end]
                        .trim_end_matches([' ', '\t', '\r', '\n'])
                        .len()
            }
        };
        Span::new(start, end)
    }

    fn push(
        &mut self,
        span: Span,
        style: Style,
        anchor: usize,
        kind: Kind,
    ) -> Result<NodeId, ParseError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(ParseError {
                message: format!("more than {} YAML nodes", self.limits.max_nodes),
                line: 0,
                column: 0,
            });
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(NodeData {
            span,
            style,
            anchored: anchor != 0,
            kind,
        });
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        Ok(id)
    }

    fn attach(&mut self, id: NodeId) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(id);
                }
            }
            Some(Open::Sequence { id: seq }) => {
                let seq = *seq;
                if let Kind::Sequence(items) = &mut self.nodes[seq.0 as usize].kind {
                    items.push(id);
                }
            }
            Some(Open::Mapping {
                id: map,
                pending_key,
            }) => match pending_key.take() {
                None => *pending_key = Some(id),
                Some(key) => {
                    let map = *map;
                    if let Kind::Mapping(pairs) = &mut self.nodes[map.0 as usize].kind {
                        pairs.push((key, id));
                    }
                }
            },
        }
    }
}

/// The `|` or `>` that opens a block scalar whose content starts at `content`, skipping
/// comments between the previous token and the header.
fn find_block_header(bytes: &[u8], from: usize, content: usize) -> Option<usize> {
    let mut i = from;
    while i < content {
        match bytes[i] {
            b'|' | b'>' => return Some(i),
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                while i < content && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One past the quote that closes a quoted scalar opening at `start`.
fn closing_quote(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if quote == b'"' && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn scan_error(e: &ScanError) -> ParseError {
    let mark = e.marker();
    ParseError {
        message: e.info().to_string(),
        line: mark.line(),
        column: mark.col() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice<'a>(text: &'a str, node: Node<'_>) -> &'a str {
        let s = node.span();
        &text[s.start..s.end]
    }

    #[test]
    fn spans_are_bytes_even_after_multibyte_text() {
        let text = "name: 🚀 déploy\nkey: \"value\"\n";
        let doc = Document::parse(text).unwrap();
        let root = doc.root().unwrap();
        assert_eq!(slice(text, root.get("name").unwrap()), "🚀 déploy");
        assert_eq!(slice(text, root.get("key").unwrap()), "\"value\"");
        assert_eq!(root.get_str("key"), Some("value"));
    }

    #[test]
    fn block_scalar_span_stops_at_its_content() {
        let text = "a: >-\n  folded\n  text\nb: 1\n";
        let doc = Document::parse(text).unwrap();
        let a = doc.root().unwrap().get("a").unwrap();
        assert_eq!(slice(text, a), ">-\n  folded\n  text");
    }

    #[test]
    fn block_mapping_span_ends_at_last_value() {
        let text = "jobs:\n  a:\n    x: 1\n    y: 2   # c\n\n# trailing\nz: 3\n";
        let doc = Document::parse(text).unwrap();
        let a = doc.root().unwrap().get("jobs").unwrap().get("a").unwrap();
        assert_eq!(slice(text, a), "x: 1\n    y: 2");
    }

    #[test]
    fn flow_mapping_span_covers_braces() {
        let text = "with: { a: 1, b: \"x\" }  # c\n";
        let doc = Document::parse(text).unwrap();
        let with = doc.root().unwrap().get("with").unwrap();
        assert_eq!(with.style(), Style::Flow);
        assert_eq!(slice(text, with), "{ a: 1, b: \"x\" }");
    }

    #[test]
    fn aliases_are_not_expanded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..30 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            text.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let doc = Document::parse(&text).unwrap();
        assert!(doc.len() < 1_000);
        let l29 = doc.root().unwrap().get("l29").unwrap();
        assert!(l29.touches_anchor());
        assert_eq!(l29.items().next().unwrap().resolve().items().count(), 9);
    }

    #[test]
    fn shared_through_anchor_looks_at_the_node_and_its_holders() {
        let text = "a:\n  s: &s\n    - x\n  t:\n    - y\n    - &z z\nb: *s\n";
        let doc = Document::parse(text).unwrap();
        let root = doc.root().unwrap();
        let a = root.get("a").unwrap();
        assert!(a.get("s").unwrap().shared_through_anchor());
        assert!(
            !a.get("t").unwrap().shared_through_anchor(),
            "an anchor below"
        );
        assert!(root.get("b").unwrap().shared_through_anchor());
        assert!(!a.shared_through_anchor());
    }

    #[test]
    fn inside_scalar_sees_strings_over_lines() {
        let text = "a: {b: \"x\n  y\", c: 1}\nd: |\n  run\n  more\n";
        let doc = Document::parse(text).unwrap();
        let first_line_end = text.find('\n').unwrap();
        assert!(doc.inside_scalar(first_line_end), "in the quoted string");
        let c_line_end = text.find("1}").unwrap() + 2;
        assert!(!doc.inside_scalar(c_line_end));
        assert!(
            doc.inside_scalar(text.find("run").unwrap() + 3),
            "in the block scalar"
        );
    }

    #[test]
    fn an_indentless_sequence_of_flow_mappings_is_block() {
        let text = "steps:\n- {a: 1}\n\n- [b, c]\nnext: {d: [e]}\n";
        let doc = Document::parse(text).unwrap();
        let root = doc.root().unwrap();
        let steps = root.get("steps").unwrap();
        assert_eq!(steps.style(), Style::Block);
        assert_eq!(slice(text, steps), "{a: 1}\n\n- [b, c]");
        assert_eq!(steps.items().next().unwrap().style(), Style::Flow);
        assert!(root.span().end <= text.len());
        let next = root.get("next").unwrap();
        assert_eq!(next.style(), Style::Flow);
        assert_eq!(next.get("d").unwrap().style(), Style::Flow);
        let text = "- [a]\n- [b]\n";
        let doc = Document::parse(text).unwrap();
        assert_eq!(doc.root().unwrap().style(), Style::Block);
        assert_eq!(slice(text, doc.root().unwrap()), "- [a]\n- [b]");
    }

    #[test]
    fn invalid_yaml_reports_line() {
        let err = Document::parse("a: 1\nb: [\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn spans_are_bytes_after_a_bom_and_a_directive() {
        for text in [
            "\u{feff}on: push\njobs: { a: 1 }\n",
            "%YAML 1.2\n---\non: push\njobs: { a: 1 }\n...\n",
            "\u{feff}%YAML 1.2\r\n---\r\non: push\r\njobs: { a: 1 }\r\n...\r\n",
        ] {
            let doc = Document::parse(text).unwrap();
            let root = doc.root().unwrap();
            assert_eq!(root.get_str("on"), Some("push"), "{text:?}");
            assert_eq!(slice(text, root.get("on").unwrap()), "push", "{text:?}");
            assert_eq!(
                slice(text, root.get("jobs").unwrap()),
                "{ a: 1 }",
                "{text:?}"
            );
        }
    }

    #[test]
    fn on_key_is_a_string() {
        let doc = Document::parse("on: push\n").unwrap();
        assert_eq!(doc.root().unwrap().get_str("on"), Some("push"));
    }
}
