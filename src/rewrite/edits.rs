//! Text edits as (byte range, replacement) pairs: collected per file, checked for overlaps,
//! and applied in one pass so that every byte outside an edited range is copied unchanged.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Two edits that would touch the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

#[derive(Debug, Default, Clone)]
pub struct EditSet {
    edits: Vec<Edit>,
}

impl EditSet {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// Adds an edit unless it overlaps one already here. Insertions (empty ranges) at the
    /// same offset are allowed and keep the order they were added in; an insertion strictly
    /// inside a replaced range is an overlap.
    pub fn push(&mut self, range: Range<usize>, text: impl Into<String>) -> Result<(), Overlap> {
        if let Some(other) = self.edits.iter().find(|e| overlaps(&e.range, &range)) {
            return Err(Overlap {
                first: other.range.clone(),
                second: range,
            });
        }
        self.edits.push(Edit {
            range,
            text: text.into(),
        });
        Ok(())
    }

    /// Adds every edit of `other`, or none of them.
    pub fn merge(&mut self, other: &EditSet) -> Result<(), Overlap> {
        let mut merged = self.clone();
        for e in &other.edits {
            merged.push(e.range.clone(), e.text.clone())?;
        }
        *self = merged;
        Ok(())
    }

    /// The edited text. Ranges must lie on char boundaries of `text` (they come from spans).
    pub fn apply(&self, text: &str) -> String {
        let mut order: Vec<(usize, &Edit)> = self.edits.iter().enumerate().collect();
        order.sort_by_key(|(seq, e)| (e.range.start, e.range.end, *seq));
        let mut out = String::with_capacity(
            text.len() + self.edits.iter().map(|e| e.text.len()).sum::<usize>(),
        );
        let mut cursor = 0;
        for (_, edit) in order {
            out.push_str(&text[cursor..edit.range.start]);
            out.push_str(&edit.text);
            cursor = edit.range.end;
        }
        out.push_str(&text[cursor..]);
        out
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return false;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_offset_order_and_keeps_the_rest() {
        let mut edits = EditSet::default();
        edits.push(6..11, "there").unwrap();
        edits.push(0..0, ">> ").unwrap();
        edits.push(0..0, "[x] ").unwrap();
        edits.push(5..6, "_").unwrap();
        assert_eq!(edits.apply("hello world!"), ">> [x] hello_there!");
    }

    #[test]
    fn rejects_overlaps() {
        let mut edits = EditSet::default();
        edits.push(2..6, "").unwrap();
        assert!(edits.push(5..8, "").is_err());
        assert!(edits.push(3..3, "x").is_err());
        assert!(edits.push(6..6, "ok").is_ok());
        assert!(edits.push(2..2, "ok").is_ok());
        let mut other = EditSet::default();
        other.push(9..10, "a").unwrap();
        other.push(4..5, "b").unwrap();
        assert!(edits.merge(&other).is_err());
        assert_eq!(edits.len(), 3, "a failed merge adds nothing");
    }
}
