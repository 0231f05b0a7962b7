//! Withholding people's names from a chart (anonymous proceedings).
//!
//! Anonymous attribution must hold in every export, so it is done on the
//! model every export is rendered from: the participants list goes, and
//! every known name (participants, conveners, action owners: whatever the
//! caller collects) is replaced wherever it occurs as a whole word in the
//! chart's text, case-insensitively, also in its `@Name_With_Underscores`
//! form. Names the server does not know (a first name alone, a nickname)
//! cannot be recognised and stay as written.
//!
//! When the chart model grows fields that carry names (a board sticky's
//! author, say), [`Redactor::chart`] is the one place to clear them.

use crate::content::{Block, ChartContent, Inline, ListItem, TaskItem};

/// What a withheld name is replaced by.
pub const WITHHELD: &str = "(name withheld)";

/// The names to withhold, prepared for matching.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Lowercased names as char vectors, longest first (so "Ana Lima" is
    /// replaced before "Ana").
    names: Vec<Vec<char>>,
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

impl Redactor {
    /// A redactor for `names` (blank ones and one-letter ones are ignored:
    /// a single letter would eat words).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut out: Vec<Vec<char>> = Vec::new();
        for name in names {
            let name = name.trim();
            if name.chars().count() < 2 {
                continue;
            }
            for form in [name.to_owned(), name.replace(' ', "_")] {
                let chars: Vec<char> = form.chars().map(lower).collect();
                if !out.contains(&chars) {
                    out.push(chars);
                }
            }
        }
        out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Redactor { names: out }
    }

    /// Whether there is nothing to withhold.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `text` with every whole-word occurrence of a name replaced.
    pub fn text(&self, text: &str) -> String {
        if self.names.is_empty() {
            return text.to_owned();
        }
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            let at_word_start = i == 0 || !chars[i - 1].is_alphanumeric();
            let matched = at_word_start
                .then(|| {
                    self.names.iter().find(|name| {
                        let end = i + name.len();
                        end <= chars.len()
                            && chars[i..end]
                                .iter()
                                .zip(name.iter())
                                .all(|(a, b)| lower(*a) == *b)
                            && chars.get(end).is_none_or(|c| !c.is_alphanumeric())
                    })
                })
                .flatten();
            match matched {
                Some(name) => {
                    out.push_str(WITHHELD);
                    i += name.len();
                }
                None => {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        }
        out
    }

    /// Withholds every name in `chart`: its participants list is emptied
    /// and its text redacted.
    pub fn chart(&self, chart: &mut ChartContent) {
        chart.participants.clear();
        for b in &mut chart.blocks {
            self.block(b);
        }
        // The board's authors go with the participants; what people wrote
        // on stickies is redacted like the notes.
        chart.board.map_people(&mut |_: &str| String::new());
        for sticky in &mut chart.board.stickies {
            sticky.text = self.text(&sticky.text);
        }
    }

    fn inlines(&self, inlines: &mut [Inline]) {
        for i in inlines {
            if let Inline::Text { text, .. } = i {
                *text = self.text(text);
            }
        }
    }

    fn block(&self, block: &mut Block) {
        match block {
            Block::Paragraph { inlines } | Block::Heading { inlines, .. } => self.inlines(inlines),
            Block::BulletList { items } | Block::OrderedList { items, .. } => {
                for ListItem { blocks } in items {
                    blocks.iter_mut().for_each(|b| self.block(b));
                }
            }
            Block::TaskList { items } => {
                for TaskItem { blocks, .. } in items {
                    blocks.iter_mut().for_each(|b| self.block(b));
                }
            }
            Block::Blockquote { blocks } => blocks.iter_mut().for_each(|b| self.block(b)),
            Block::CodeBlock { text, .. } | Block::Unknown { text, .. } => {
                *text = self.text(text);
            }
            Block::HorizontalRule => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_any_case() {
        let r = Redactor::new(["Ana Lima", "Bo", " ", "X"]);
        assert_eq!(
            r.text("ana lima said to @Ana_Lima and BO: Bob, boat"),
            "(name withheld) said to @(name withheld) and (name withheld): Bob, boat"
        );
        assert_eq!(r.text("Ana alone"), "Ana alone");
        assert_eq!(Redactor::new([]).text("Ana"), "Ana");
    }
}
