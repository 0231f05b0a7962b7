//! Reading a chart's Yjs document into [`ChartContent`].
//!
//! Documents arrive from arbitrary Yjs clients, so this reader is defensive:
//! it never panics, accepts attribute values as strings or typed values,
//! accepts both TipTap (`bulletList`) and ProseMirror-basic (`bullet_list`)
//! node names, and reduces anything it does not recognise to plain text
//! instead of dropping it.

use yrs::types::array::ArrayIter;
use yrs::types::text::{Diff, YChange};
use yrs::{Any, Doc, Map, Out, ReadTxn, Transact, Xml, XmlElementRef};

use crate::board::{read_board, BoardLimits};
use crate::content::{Block, ChartContent, Inline, ListItem, Marks, TaskItem};

/// Name of the root `Y.XmlFragment` holding the notes.
pub const NOTES: &str = "notes";
/// Name of the root `Y.Map` holding chart metadata.
pub const META: &str = "meta";
/// Key of the participants `Y.Array` inside [`META`].
pub const PARTICIPANTS: &str = "participants";

/// Deeper nesting than this is flattened to text (protects the stack from
/// hostile documents).
const MAX_DEPTH: usize = 32;

/// Reads the chart held by `doc`, with the default board limits. Opens a
/// read transaction, so it must not be called while the same thread holds a
/// write transaction on `doc`.
pub fn read_chart(doc: &Doc) -> ChartContent {
    read_chart_with(doc, &BoardLimits::default())
}

/// [`read_chart`] with the server's configured board limits.
pub fn read_chart_with(doc: &Doc, limits: &BoardLimits) -> ChartContent {
    let txn = doc.transact();
    read_chart_txn_with(&txn, limits)
}

/// Reads the chart through an existing transaction (default board limits).
pub fn read_chart_txn<T: ReadTxn>(txn: &T) -> ChartContent {
    read_chart_txn_with(txn, &BoardLimits::default())
}

/// Reads the chart through an existing transaction.
pub fn read_chart_txn_with<T: ReadTxn>(txn: &T, limits: &BoardLimits) -> ChartContent {
    let blocks = match txn.get_xml_fragment(NOTES) {
        Some(notes) => read_blocks(txn, notes.as_ref(), 0),
        None => Vec::new(),
    };
    ChartContent {
        blocks,
        participants: read_participants(txn),
        board: read_board(txn, limits),
    }
}

fn children<'a, T: ReadTxn>(txn: &'a T, branch: &'a yrs::branch::Branch) -> ArrayIter<&'a T, T> {
    ArrayIter::from_ref(branch, txn)
}

fn read_participants<T: ReadTxn>(txn: &T) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let Some(meta) = txn.get_map(META) else {
        return names;
    };
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !names.iter().any(|n| n == s) {
            names.push(s.to_string());
        }
    };
    match meta.get(txn, PARTICIPANTS) {
        Some(Out::YArray(arr)) => {
            for v in children(txn, arr.as_ref()) {
                match v {
                    Out::Any(Any::String(s)) => push(&s),
                    Out::YText(t) => push(&text_of_runs(&diff_runs(txn, &t))),
                    Out::YXmlText(t) => push(&text_of_runs(&diff_runs(txn, &t))),
                    _ => {}
                }
            }
        }
        Some(Out::Any(Any::Array(items))) => {
            for v in items.iter() {
                if let Any::String(s) = v {
                    push(s);
                }
            }
        }
        Some(Out::Any(Any::String(s))) => push(&s),
        _ => {}
    }
    names
}

/// Text runs of a `Y.Text`/`Y.XmlText`: (text, formatting attributes).
fn diff_runs<T: ReadTxn, X: yrs::Text>(txn: &T, text: &X) -> Vec<Diff<YChange>> {
    text.diff(txn, YChange::identity)
}

fn text_of_runs(runs: &[Diff<YChange>]) -> String {
    let mut s = String::new();
    for d in runs {
        if let Out::Any(Any::String(t)) = &d.insert {
            s.push_str(t);
        }
    }
    s
}

fn tag_of(el: &XmlElementRef) -> String {
    el.try_tag().map(|t| t.to_string()).unwrap_or_default()
}

/// Canonical node kind: accepts TipTap camelCase and ProseMirror snake_case.
fn kind(tag: &str) -> &str {
    match tag {
        "paragraph" => "paragraph",
        "heading" => "heading",
        "bulletList" | "bullet_list" => "bulletList",
        "orderedList" | "ordered_list" => "orderedList",
        "listItem" | "list_item" => "listItem",
        "taskList" | "task_list" => "taskList",
        "taskItem" | "task_item" => "taskItem",
        "blockquote" => "blockquote",
        "codeBlock" | "code_block" => "codeBlock",
        "horizontalRule" | "horizontal_rule" => "horizontalRule",
        "hardBreak" | "hard_break" => "hardBreak",
        _ => "",
    }
}

fn read_blocks<T: ReadTxn>(txn: &T, branch: &yrs::branch::Branch, depth: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    // Loose inline content directly inside a block container is gathered into
    // a paragraph so that it keeps its position.
    let mut loose: Vec<Inline> = Vec::new();
    for child in children(txn, branch) {
        match child {
            Out::YXmlElement(el) => {
                let tag = tag_of(&el);
                if kind(&tag) == "hardBreak" {
                    loose.push(Inline::HardBreak);
                    continue;
                }
                flush_loose(&mut loose, &mut blocks);
                blocks.push(read_block(txn, &el, &tag, depth));
            }
            Out::YXmlText(t) => push_runs(&mut loose, diff_runs(txn, &t), depth),
            Out::YText(t) => push_runs(&mut loose, diff_runs(txn, &t), depth),
            other => {
                let text = out_text(txn, &other, depth);
                push_text(&mut loose, text, Marks::default());
            }
        }
    }
    flush_loose(&mut loose, &mut blocks);
    blocks
}

fn flush_loose(loose: &mut Vec<Inline>, blocks: &mut Vec<Block>) {
    if !loose.is_empty() {
        blocks.push(Block::Paragraph {
            inlines: std::mem::take(loose),
        });
    }
}

fn read_block<T: ReadTxn>(txn: &T, el: &XmlElementRef, tag: &str, depth: usize) -> Block {
    let branch: &yrs::branch::Branch = el.as_ref();
    if depth >= MAX_DEPTH {
        return Block::Unknown {
            name: tag.to_string(),
            text: element_text(txn, el, depth),
        };
    }
    let d = depth + 1;
    match kind(tag) {
        "paragraph" => Block::Paragraph {
            inlines: read_inlines(txn, branch, d),
        },
        "heading" => Block::Heading {
            level: attr_int(txn, el, "level").unwrap_or(1).clamp(1, 6) as u8,
            inlines: read_inlines(txn, branch, d),
        },
        "bulletList" => Block::BulletList {
            items: read_list_items(txn, branch, d),
        },
        "orderedList" => Block::OrderedList {
            start: attr_int(txn, el, "start")
                .unwrap_or(1)
                .clamp(0, i64::from(u32::MAX)) as u32,
            items: read_list_items(txn, branch, d),
        },
        "taskList" => Block::TaskList {
            items: read_task_items(txn, branch, d),
        },
        // A list item outside a list: keep it as a one-item list.
        "listItem" => Block::BulletList {
            items: vec![ListItem {
                blocks: read_blocks(txn, branch, d),
            }],
        },
        "taskItem" => Block::TaskList {
            items: vec![read_task_item(txn, el, d)],
        },
        "blockquote" => Block::Blockquote {
            blocks: read_blocks(txn, branch, d),
        },
        "codeBlock" => Block::CodeBlock {
            language: attr_string(txn, el, "language").filter(|l| !l.trim().is_empty()),
            text: element_text(txn, el, d),
        },
        "horizontalRule" => Block::HorizontalRule,
        _ => Block::Unknown {
            name: tag.to_string(),
            text: element_text(txn, el, d),
        },
    }
}

fn read_list_items<T: ReadTxn>(
    txn: &T,
    branch: &yrs::branch::Branch,
    depth: usize,
) -> Vec<ListItem> {
    let mut items = Vec::new();
    for child in children(txn, branch) {
        match child {
            Out::YXmlElement(el) if matches!(kind(&tag_of(&el)), "listItem" | "taskItem") => {
                items.push(ListItem {
                    blocks: read_blocks(txn, el.as_ref(), depth + 1),
                });
            }
            Out::YXmlElement(el) => {
                // Not an item: wrap whatever it is in one.
                let tag = tag_of(&el);
                items.push(ListItem {
                    blocks: vec![read_block(txn, &el, &tag, depth + 1)],
                });
            }
            other => {
                let text = out_text(txn, &other, depth);
                if !text.is_empty() {
                    items.push(ListItem {
                        blocks: vec![Block::Paragraph {
                            inlines: vec![Inline::Text {
                                text,
                                marks: Marks::default(),
                            }],
                        }],
                    });
                }
            }
        }
    }
    items
}

fn read_task_item<T: ReadTxn>(txn: &T, el: &XmlElementRef, depth: usize) -> TaskItem {
    TaskItem {
        done: attr_bool(txn, el, "checked"),
        id: attr_string(txn, el, ACTION_ID).filter(|id| valid_action_id(id)),
        blocks: read_blocks(txn, el.as_ref(), depth + 1),
    }
}

fn read_task_items<T: ReadTxn>(
    txn: &T,
    branch: &yrs::branch::Branch,
    depth: usize,
) -> Vec<TaskItem> {
    let mut items = Vec::new();
    for child in children(txn, branch) {
        match child {
            Out::YXmlElement(el) if matches!(kind(&tag_of(&el)), "listItem" | "taskItem") => {
                items.push(read_task_item(txn, &el, depth));
            }
            Out::YXmlElement(el) => {
                let tag = tag_of(&el);
                items.push(TaskItem {
                    done: false,
                    id: None,
                    blocks: vec![read_block(txn, &el, &tag, depth + 1)],
                });
            }
            other => {
                let text = out_text(txn, &other, depth);
                if !text.is_empty() {
                    items.push(TaskItem {
                        done: false,
                        id: None,
                        blocks: vec![Block::Paragraph {
                            inlines: vec![Inline::Text {
                                text,
                                marks: Marks::default(),
                            }],
                        }],
                    });
                }
            }
        }
    }
    items
}

/// Inline content of a textblock. Nested block elements are flattened into
/// it (separated by a hard break) rather than dropped.
fn read_inlines<T: ReadTxn>(txn: &T, branch: &yrs::branch::Branch, depth: usize) -> Vec<Inline> {
    let mut out = Vec::new();
    for child in children(txn, branch) {
        match child {
            Out::YXmlText(t) => push_runs(&mut out, diff_runs(txn, &t), depth),
            Out::YText(t) => push_runs(&mut out, diff_runs(txn, &t), depth),
            Out::YXmlElement(el) => {
                let tag = tag_of(&el);
                if kind(&tag) == "hardBreak" {
                    out.push(Inline::HardBreak);
                } else {
                    let text = element_text(txn, &el, depth);
                    push_text(&mut out, text, Marks::default());
                }
            }
            other => {
                let text = out_text(txn, &other, depth);
                push_text(&mut out, text, Marks::default());
            }
        }
    }
    out
}

fn push_text(out: &mut Vec<Inline>, text: String, marks: Marks) {
    if text.is_empty() {
        return;
    }
    if let Some(Inline::Text {
        text: prev,
        marks: prev_marks,
    }) = out.last_mut()
    {
        if *prev_marks == marks {
            prev.push_str(&text);
            return;
        }
    }
    out.push(Inline::Text { text, marks });
}

fn push_runs(out: &mut Vec<Inline>, runs: Vec<Diff<YChange>>, depth: usize) {
    for run in runs {
        let marks = run
            .attributes
            .as_deref()
            .map(marks_from_attrs)
            .unwrap_or_default();
        let text = match &run.insert {
            Out::Any(Any::String(s)) => s.to_string(),
            // Embeds (images, mentions, nested types): keep any text they carry.
            Out::Any(any) => any_text(any, depth),
            _ => String::new(),
        };
        push_text(out, text, marks);
    }
}

/// Marks from y-prosemirror text attributes. y-prosemirror stores each mark
/// as `name -> attrs object` and may suffix overlapping marks with `--hash`;
/// `null`/`false` means "not set".
fn marks_from_attrs(attrs: &yrs::types::Attrs) -> Marks {
    let mut marks = Marks::default();
    let mut keys: Vec<_> = attrs.keys().collect();
    keys.sort(); // deterministic choice when several link marks exist
    for key in keys {
        let value = &attrs[key];
        if matches!(value, Any::Null | Any::Undefined | Any::Bool(false)) {
            continue;
        }
        let name = key.split("--").next().unwrap_or_default();
        match name {
            "bold" | "strong" | "b" => marks.bold = true,
            "italic" | "em" | "i" => marks.italic = true,
            "strike" | "strikethrough" | "s" => marks.strike = true,
            "code" => marks.code = true,
            "highlight" | "mark" => marks.highlight = true,
            "link" if marks.link.is_none() => {
                marks.link = match value {
                    Any::Map(m) => match m.get("href") {
                        Some(Any::String(h)) => Some(h.to_string()),
                        _ => None,
                    },
                    Any::String(h) => Some(h.to_string()),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    marks
}

fn attr_out<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> Option<Any> {
    match el.get_attribute(txn, name)? {
        Out::Any(a) => Some(a),
        Out::YText(t) => Some(Any::String(text_of_runs(&diff_runs(txn, &t)).into())),
        _ => None,
    }
}

/// The `taskItem` attribute that names an action item for votes.
pub const ACTION_ID: &str = "actionId";

/// An action id as votes may name it: 1 to 64 characters of `A-Z a-z 0-9
/// - _`. Anything else is ignored (the item then has no identity).
pub fn valid_action_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn attr_string<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> Option<String> {
    match attr_out(txn, el, name)? {
        Any::String(s) => Some(s.to_string()),
        Any::Number(n) => Some(n.to_string()),
        Any::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn attr_int<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> Option<i64> {
    match attr_out(txn, el, name)? {
        Any::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Any::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

fn attr_bool<T: ReadTxn>(txn: &T, el: &XmlElementRef, name: &str) -> bool {
    match attr_out(txn, el, name) {
        Some(Any::Bool(b)) => b,
        Some(Any::String(s)) => {
            let s = s.trim();
            s.eq_ignore_ascii_case("true") || s == "1" || s.eq_ignore_ascii_case("checked")
        }
        Some(Any::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

fn any_text(any: &Any, depth: usize) -> String {
    match any {
        Any::String(s) => s.to_string(),
        Any::Number(n) => n.to_string(),
        Any::Array(items) if depth < MAX_DEPTH => items
            .iter()
            .map(|a| any_text(a, depth + 1))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn out_text<T: ReadTxn>(txn: &T, out: &Out, depth: usize) -> String {
    match out {
        Out::Any(a) => any_text(a, depth),
        Out::YText(t) => text_of_runs(&diff_runs(txn, t)),
        Out::YXmlText(t) => text_of_runs(&diff_runs(txn, t)),
        Out::YXmlElement(el) => element_text(txn, el, depth),
        Out::YXmlFragment(f) => branch_text(txn, f.as_ref(), depth),
        Out::YArray(a) => branch_text(txn, a.as_ref(), depth),
        _ => String::new(),
    }
}

/// All descendant text of an element; block children separated by a space.
fn element_text<T: ReadTxn>(txn: &T, el: &XmlElementRef, depth: usize) -> String {
    branch_text(txn, el.as_ref(), depth)
}

fn branch_text<T: ReadTxn>(txn: &T, branch: &yrs::branch::Branch, depth: usize) -> String {
    if depth > MAX_DEPTH * 2 {
        return String::new();
    }
    let mut s = String::new();
    for child in children(txn, branch) {
        let (piece, is_block) = match &child {
            Out::YXmlElement(el) if kind(&tag_of(el)) == "hardBreak" => ("\n".to_string(), false),
            Out::YXmlElement(_) => (out_text(txn, &child, depth + 1), true),
            _ => (out_text(txn, &child, depth + 1), false),
        };
        if is_block && !s.is_empty() && !s.ends_with(char::is_whitespace) && !piece.is_empty() {
            s.push('\n');
        }
        s.push_str(&piece);
    }
    s
}
