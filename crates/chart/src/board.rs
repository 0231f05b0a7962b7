//! The board: sticky notes, ink strokes and arrows beside the notes
//! (`docs/chart-schema.md`, "The board").
//!
//! [`read_board`] turns the `board` root map of a chart's Yjs document into
//! the plain [`Board`] model with the [`BoardLimits`] applied. Every
//! renderer draws from that model, so the limits and the treatment of
//! hostile values (NaN, huge numbers, unknown colours, a million points)
//! are decided here once: an item is kept, clamped, or dropped with a line
//! in [`Board::notes`], and nothing downstream meets a number outside the
//! board space.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use yrs::{Any, Array, GetString, Map, Out, ReadTxn};

/// Name of the root `Y.Map` holding the board.
pub const BOARD: &str = "board";
/// Width of the logical board space, in board units.
pub const BOARD_WIDTH: i32 = 4000;
/// Height of the logical board space, in board units.
pub const BOARD_HEIGHT: i32 = 3000;
/// Smallest and largest sticky side, in board units.
pub const STICKY_SIZE: (i32, i32) = (40, 1000);
/// Default sticky side when `w`/`h` is missing.
pub const STICKY_DEFAULT_SIZE: i32 = 200;
/// Thinnest and widest ink stroke, in board units.
pub const STROKE_WIDTH: (u32, u32) = (1, 64);
/// Longest item id; longer ids are not from a client following the schema.
pub const MAX_ID_CHARS: usize = 64;
/// Two stickies whose rectangles are at most this far apart (board units)
/// belong to the same cluster.
pub const CLUSTER_GAP: i32 = 24;

/// Per-chart limits applied when a board is read (`docs/config.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardLimits {
    /// Stickies kept (first in id order).
    pub max_stickies: usize,
    /// Characters of a sticky's text kept.
    pub max_sticky_chars: usize,
    /// Strokes kept (first in id order).
    pub max_strokes: usize,
    /// Points (x, y pairs) kept of one stroke.
    pub max_stroke_points: usize,
    /// Points kept over all strokes of a chart: what bounds the size of a
    /// drawing when every stroke is at its own limit.
    pub max_board_points: usize,
    /// Arrows kept (first in id order).
    pub max_arrows: usize,
    /// Characters of an author name kept.
    pub max_author_chars: usize,
}

impl Default for BoardLimits {
    fn default() -> Self {
        BoardLimits {
            max_stickies: 500,
            max_sticky_chars: 2000,
            max_strokes: 2000,
            max_stroke_points: 10_000,
            max_board_points: 200_000,
            max_arrows: 1000,
            max_author_chars: 100,
        }
    }
}

/// Sticky palette.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StickyColor {
    #[default]
    Yellow,
    Pink,
    Blue,
    Green,
    Orange,
    Purple,
}

impl StickyColor {
    /// Palette order (for grouping).
    pub const ALL: [StickyColor; 6] = [
        StickyColor::Yellow,
        StickyColor::Pink,
        StickyColor::Blue,
        StickyColor::Green,
        StickyColor::Orange,
        StickyColor::Purple,
    ];

    /// The schema's name of the colour.
    pub fn name(self) -> &'static str {
        match self {
            StickyColor::Yellow => "yellow",
            StickyColor::Pink => "pink",
            StickyColor::Blue => "blue",
            StickyColor::Green => "green",
            StickyColor::Orange => "orange",
            StickyColor::Purple => "purple",
        }
    }

    fn parse(s: &str) -> Option<StickyColor> {
        StickyColor::ALL.into_iter().find(|c| c.name() == s.trim())
    }
}

/// Ink palette.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InkColor {
    #[default]
    Black,
    Red,
    Blue,
    Green,
    Orange,
    Purple,
}

impl InkColor {
    pub const ALL: [InkColor; 6] = [
        InkColor::Black,
        InkColor::Red,
        InkColor::Blue,
        InkColor::Green,
        InkColor::Orange,
        InkColor::Purple,
    ];

    /// The schema's name of the colour.
    pub fn name(self) -> &'static str {
        match self {
            InkColor::Black => "black",
            InkColor::Red => "red",
            InkColor::Blue => "blue",
            InkColor::Green => "green",
            InkColor::Orange => "orange",
            InkColor::Purple => "purple",
        }
    }

    fn parse(s: &str) -> Option<InkColor> {
        InkColor::ALL.into_iter().find(|c| c.name() == s.trim())
    }
}

/// Pen or highlighter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    #[default]
    Pen,
    Highlighter,
}

/// A sticky note, in board units, inside the board space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sticky {
    pub id: String,
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub color: StickyColor,
    pub author: String,
    pub z: i32,
    /// Spatial cluster (0-based, numbered in reading order of each
    /// cluster's top-left sticky): stickies whose rectangles touch or lie
    /// within [`CLUSTER_GAP`] of each other, transitively.
    pub cluster: u32,
}

/// A freehand stroke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stroke {
    pub id: String,
    /// Flat `x0, y0, x1, y1, …`, whole board units inside the board space,
    /// consecutive duplicates removed.
    pub points: Vec<i32>,
    pub color: InkColor,
    pub width: u32,
    pub tool: Tool,
    pub author: String,
    pub done: bool,
}

/// An arrow between two stickies that are both on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrow {
    pub id: String,
    pub from: String,
    pub to: String,
    pub color: InkColor,
    pub author: String,
}

/// A chart's board with the limits applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Board {
    /// In drawing order: by `z`, then id.
    pub stickies: Vec<Sticky>,
    /// In id order.
    pub strokes: Vec<Stroke>,
    /// In id order.
    pub arrows: Vec<Arrow>,
    /// What the reader left out or changed, one line per kind of change
    /// (e.g. "3 stickies over the limit of 500 left out").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Board {
    /// Nothing on the board.
    pub fn is_empty(&self) -> bool {
        self.stickies.is_empty() && self.strokes.is_empty() && self.arrows.is_empty()
    }

    /// Number of clusters among the stickies.
    pub fn cluster_count(&self) -> usize {
        self.stickies
            .iter()
            .map(|s| s.cluster as usize + 1)
            .max()
            .unwrap_or(0)
    }

    /// Every person name on the board (authors), for callers that
    /// replace or blank names in one place (see
    /// `ChartContent::map_people`).
    pub(crate) fn map_people(&mut self, f: &mut impl FnMut(&str) -> String) {
        for s in &mut self.stickies {
            s.author = f(&s.author);
        }
        for s in &mut self.strokes {
            s.author = f(&s.author);
        }
        for a in &mut self.arrows {
            a.author = f(&a.author);
        }
    }
}

/// Counts of what was left out or changed, turned into [`Board::notes`].
#[derive(Default)]
struct Tally {
    stickies_over: usize,
    strokes_over: usize,
    arrows_over: usize,
    bad_ids: usize,
    not_numbers: usize,
    unknown_colors: usize,
    clamped: usize,
    text_cut: usize,
    points_cut: usize,
    arrows_dangling: usize,
    not_items: usize,
}

impl Tally {
    fn notes(&self, limits: &BoardLimits) -> Vec<String> {
        let mut notes = Vec::new();
        let mut note = |n: usize, what: String| {
            if n > 0 {
                notes.push(what);
            }
        };
        note(
            self.stickies_over,
            format!(
                "{} stickies over the limit of {} left out",
                self.stickies_over, limits.max_stickies
            ),
        );
        note(
            self.strokes_over,
            format!(
                "{} strokes over the limit of {} left out",
                self.strokes_over, limits.max_strokes
            ),
        );
        note(
            self.arrows_over,
            format!(
                "{} arrows over the limit of {} left out",
                self.arrows_over, limits.max_arrows
            ),
        );
        note(
            self.points_cut,
            format!(
                "{} ink points over the limits ({} per stroke, {} per board) left out",
                self.points_cut, limits.max_stroke_points, limits.max_board_points
            ),
        );
        note(
            self.text_cut,
            format!(
                "{} sticky texts or names cut at the limit ({} characters per sticky)",
                self.text_cut, limits.max_sticky_chars
            ),
        );
        note(
            self.not_numbers,
            format!(
                "{} items with a number that is not finite left out",
                self.not_numbers
            ),
        );
        note(
            self.bad_ids,
            format!(
                "{} items with an id longer than {MAX_ID_CHARS} characters left out",
                self.bad_ids
            ),
        );
        note(
            self.not_items,
            format!(
                "{} entries that are not board items left out",
                self.not_items
            ),
        );
        note(
            self.arrows_dangling,
            format!(
                "{} arrows whose sticky is not on the board left out",
                self.arrows_dangling
            ),
        );
        note(
            self.unknown_colors,
            format!(
                "{} items with a colour outside the palette drawn in the default colour",
                self.unknown_colors
            ),
        );
        note(
            self.clamped,
            format!(
                "{} items moved or resized into the board space",
                self.clamped
            ),
        );
        notes
    }
}

/// A board item: a `Y.Map`, or a plain JSON object a client wrote instead.
enum Item {
    Y(yrs::MapRef),
    Plain(Arc<std::collections::HashMap<String, Any>>),
}

impl Item {
    fn from_out(out: Out) -> Option<Item> {
        match out {
            Out::YMap(m) => Some(Item::Y(m)),
            Out::Any(Any::Map(m)) => Some(Item::Plain(m)),
            _ => None,
        }
    }

    fn get<T: ReadTxn>(&self, txn: &T, key: &str) -> Option<Out> {
        match self {
            Item::Y(m) => m.get(txn, key),
            Item::Plain(m) => m.get(key).cloned().map(Out::Any),
        }
    }
}

/// A number field: `Ok(None)` when missing or not a number, `Err(())` when
/// it is a number but not finite (the item is dropped).
fn number(value: Option<Out>) -> Result<Option<f64>, ()> {
    let n = match value {
        Some(Out::Any(Any::Number(yrs::any::Number::Float(f)))) => f,
        Some(Out::Any(Any::Number(yrs::any::Number::Int(i)))) => i as f64,
        Some(Out::Any(Any::String(s))) => match s.trim().parse::<f64>() {
            Ok(f) => f,
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    if n.is_finite() {
        Ok(Some(n))
    } else {
        Err(())
    }
}

fn string<T: ReadTxn>(txn: &T, value: Option<Out>) -> Option<String> {
    match value? {
        Out::Any(Any::String(s)) => Some(s.to_string()),
        Out::YText(t) => Some(t.get_string(txn)),
        _ => None,
    }
}

/// The first `max` characters of `s`; whether it was longer.
fn cut(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (s[..at].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// Whether `v` had to move to lie in `lo..=hi`; the clamped whole number.
fn clamp_round(v: f64, lo: i32, hi: i32) -> (i32, bool) {
    let r = v.round().clamp(f64::from(lo), f64::from(hi));
    (r as i32, r != v.round())
}

fn author<T: ReadTxn>(txn: &T, item: &Item, limits: &BoardLimits, tally: &mut Tally) -> String {
    let raw = string(txn, item.get(txn, "author")).unwrap_or_default();
    let (name, was_cut) = cut(raw.trim(), limits.max_author_chars);
    if was_cut {
        tally.text_cut += 1;
    }
    name.trim().to_string()
}

/// The entries of `board[key]` in id order, the first `max`; the rest
/// counted in `over`.
fn entries<T: ReadTxn>(
    txn: &T,
    board: &yrs::MapRef,
    key: &str,
    max: usize,
    over: &mut usize,
    tally_bad_ids: &mut usize,
) -> Vec<(String, Out)> {
    let Some(Out::YMap(map)) = board.get(txn, key) else {
        return Vec::new();
    };
    // Ids are collected first (a string each) so that the limit keeps the
    // same items whatever the map's internal order.
    let mut ids: Vec<&str> = Vec::new();
    for id in map.keys(txn) {
        if id.chars().count() > MAX_ID_CHARS {
            *tally_bad_ids += 1;
        } else {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    if ids.len() > max {
        *over += ids.len() - max;
        ids.truncate(max);
    }
    let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    ids.into_iter()
        .filter_map(|id| {
            let value = map.get(txn, &id)?;
            Some((id, value))
        })
        .collect()
}

/// Reads the board of a chart (empty when there is none or `board` is not
/// a map). Never panics; see the module docs for what it guarantees.
pub fn read_board<T: ReadTxn>(txn: &T, limits: &BoardLimits) -> Board {
    let Some(board) = txn.get_map(BOARD) else {
        return Board::default();
    };
    let mut tally = Tally::default();
    let mut stickies = read_stickies(txn, &board, limits, &mut tally);
    let strokes = read_strokes(txn, &board, limits, &mut tally);
    let arrows = read_arrows(txn, &board, limits, &stickies, &mut tally);
    assign_clusters(&mut stickies);
    stickies.sort_by(|a, b| (a.z, &a.id).cmp(&(b.z, &b.id)));
    Board {
        stickies,
        strokes,
        arrows,
        notes: tally.notes(limits),
    }
}

fn read_stickies<T: ReadTxn>(
    txn: &T,
    board: &yrs::MapRef,
    limits: &BoardLimits,
    tally: &mut Tally,
) -> Vec<Sticky> {
    let mut out = Vec::new();
    let list = entries(
        txn,
        board,
        "stickies",
        limits.max_stickies,
        &mut tally.stickies_over,
        &mut tally.bad_ids,
    );
    for (id, value) in list {
        let Some(item) = Item::from_out(value) else {
            tally.not_items += 1;
            continue;
        };
        let nums: Result<Vec<Option<f64>>, ()> = ["x", "y", "w", "h", "z"]
            .iter()
            .map(|k| number(item.get(txn, k)))
            .collect();
        let Ok(nums) = nums else {
            tally.not_numbers += 1;
            continue;
        };
        let (lo, hi) = STICKY_SIZE;
        let def = f64::from(STICKY_DEFAULT_SIZE);
        let (w, cw) = clamp_round(nums[2].unwrap_or(def), lo, hi);
        let (h, ch) = clamp_round(nums[3].unwrap_or(def), lo, hi);
        let (x, cx) = clamp_round(nums[0].unwrap_or(0.0), 0, BOARD_WIDTH - w);
        let (y, cy) = clamp_round(nums[1].unwrap_or(0.0), 0, BOARD_HEIGHT - h);
        if cw || ch || cx || cy {
            tally.clamped += 1;
        }
        let (z, _) = clamp_round(nums[4].unwrap_or(0.0), -1_000_000, 1_000_000);
        let color = match string(txn, item.get(txn, "color")) {
            None => StickyColor::default(),
            Some(c) => StickyColor::parse(&c).unwrap_or_else(|| {
                tally.unknown_colors += 1;
                StickyColor::default()
            }),
        };
        let raw = string(txn, item.get(txn, "text")).unwrap_or_default();
        let (text, was_cut) = cut(&raw, limits.max_sticky_chars);
        if was_cut {
            tally.text_cut += 1;
        }
        out.push(Sticky {
            author: author(txn, &item, limits, tally),
            id,
            text,
            x,
            y,
            w,
            h,
            color,
            z,
            cluster: 0,
        });
    }
    out
}

fn read_strokes<T: ReadTxn>(
    txn: &T,
    board: &yrs::MapRef,
    limits: &BoardLimits,
    tally: &mut Tally,
) -> Vec<Stroke> {
    let mut out = Vec::new();
    let list = entries(
        txn,
        board,
        "strokes",
        limits.max_strokes,
        &mut tally.strokes_over,
        &mut tally.bad_ids,
    );
    let mut budget = limits.max_board_points;
    for (id, value) in list {
        let Some(item) = Item::from_out(value) else {
            tally.not_items += 1;
            continue;
        };
        let Ok(width) = number(item.get(txn, "width")) else {
            tally.not_numbers += 1;
            continue;
        };
        let tool = match string(txn, item.get(txn, "tool")).as_deref().map(str::trim) {
            Some("highlighter") => Tool::Highlighter,
            _ => Tool::Pen,
        };
        let default_width = match tool {
            Tool::Pen => 4.0,
            Tool::Highlighter => 24.0,
        };
        let (lo, hi) = STROKE_WIDTH;
        let (width, clamped) = clamp_round(width.unwrap_or(default_width), lo as i32, hi as i32);
        if clamped {
            tally.clamped += 1;
        }
        let color = ink_color(txn, &item, tally);
        let allowed = limits.max_stroke_points.min(budget);
        let Some((points, cut_points, moved)) = read_points(txn, item.get(txn, "points"), allowed)
        else {
            tally.not_numbers += 1;
            continue;
        };
        tally.points_cut += cut_points;
        if moved {
            tally.clamped += 1;
        }
        if points.is_empty() {
            continue;
        }
        budget -= points.len() / 2;
        let done = matches!(item.get(txn, "done"), Some(Out::Any(Any::Bool(true))));
        out.push(Stroke {
            author: author(txn, &item, limits, tally),
            id,
            points,
            color,
            width: width as u32,
            tool,
            done,
        });
    }
    out
}

fn ink_color<T: ReadTxn>(txn: &T, item: &Item, tally: &mut Tally) -> InkColor {
    match string(txn, item.get(txn, "color")) {
        None => InkColor::default(),
        Some(c) => InkColor::parse(&c).unwrap_or_else(|| {
            tally.unknown_colors += 1;
            InkColor::default()
        }),
    }
}

/// The stroke's points: at most `allowed` (x, y) pairs, clamped into the
/// board and without consecutive duplicates; how many points were left
/// out; whether any moved. `None` when a coordinate is not finite.
/// Entries that are not numbers are skipped.
fn read_points(
    txn: &impl ReadTxn,
    value: Option<Out>,
    allowed: usize,
) -> Option<(Vec<i32>, usize, bool)> {
    let mut flat: Vec<i32> = Vec::new();
    let mut pending: Option<i32> = None;
    let mut dropped = 0usize;
    let mut moved = false;
    let mut last: Option<(i32, i32)> = None;
    let mut push = |v: &Any| -> Option<()> {
        let n = match v {
            Any::Number(yrs::any::Number::Float(f)) => *f,
            Any::Number(yrs::any::Number::Int(i)) => *i as f64,
            _ => return Some(()),
        };
        if !n.is_finite() {
            return None;
        }
        match pending.take() {
            None => {
                let (x, m) = clamp_round(n, 0, BOARD_WIDTH);
                moved |= m;
                pending = Some(x);
            }
            Some(x) => {
                let (y, m) = clamp_round(n, 0, BOARD_HEIGHT);
                moved |= m;
                let repeat = last == Some((x, y));
                last = Some((x, y));
                if repeat {
                    // Draws nothing; not counted as left out.
                } else if flat.len() / 2 < allowed {
                    flat.push(x);
                    flat.push(y);
                } else {
                    dropped += 1;
                }
            }
        }
        Some(())
    };
    match value {
        Some(Out::YArray(arr)) => {
            for v in arr.iter(txn) {
                if let Out::Any(a) = v {
                    push(&a)?;
                }
            }
        }
        Some(Out::Any(Any::Array(items))) => {
            for v in items.iter() {
                push(v)?;
            }
        }
        _ => {}
    }
    Some((flat, dropped, moved))
}

fn read_arrows<T: ReadTxn>(
    txn: &T,
    board: &yrs::MapRef,
    limits: &BoardLimits,
    stickies: &[Sticky],
    tally: &mut Tally,
) -> Vec<Arrow> {
    let ids: std::collections::HashSet<&str> = stickies.iter().map(|s| s.id.as_str()).collect();
    let mut out = Vec::new();
    let list = entries(
        txn,
        board,
        "arrows",
        limits.max_arrows,
        &mut tally.arrows_over,
        &mut tally.bad_ids,
    );
    for (id, value) in list {
        let Some(item) = Item::from_out(value) else {
            tally.not_items += 1;
            continue;
        };
        let from = string(txn, item.get(txn, "from")).unwrap_or_default();
        let to = string(txn, item.get(txn, "to")).unwrap_or_default();
        if !ids.contains(from.as_str()) || !ids.contains(to.as_str()) {
            tally.arrows_dangling += 1;
            continue;
        }
        out.push(Arrow {
            color: ink_color(txn, &item, tally),
            author: author(txn, &item, limits, tally),
            id,
            from,
            to,
        });
    }
    out
}

/// Numbers the spatial clusters (see [`Sticky::cluster`]).
fn assign_clusters(stickies: &mut [Sticky]) {
    let n = stickies.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Sweep in x order: a sticky can only touch those starting before its
    // right edge plus the gap.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| stickies[i].x);
    for (k, &i) in order.iter().enumerate() {
        let a = &stickies[i];
        for &j in &order[k + 1..] {
            let b = &stickies[j];
            if b.x > a.x + a.w + CLUSTER_GAP {
                break;
            }
            let touch_y = b.y <= a.y + a.h + CLUSTER_GAP && a.y <= b.y + b.h + CLUSTER_GAP;
            if touch_y {
                let (ra, rb) = (find(&mut parent, i), find(&mut parent, j));
                if ra != rb {
                    parent[ra] = rb;
                }
            }
        }
    }
    // Number the clusters in reading order of their top-left sticky.
    let mut roots: BTreeMap<usize, (i32, i32)> = BTreeMap::new();
    for (i, s) in stickies.iter().enumerate() {
        let r = find(&mut parent, i);
        let key = (s.y, s.x);
        roots
            .entry(r)
            .and_modify(|k| *k = (*k).min(key))
            .or_insert(key);
    }
    let mut ranked: Vec<(usize, (i32, i32))> = roots.into_iter().collect();
    ranked.sort_by_key(|(r, k)| (*k, *r));
    let number: BTreeMap<usize, u32> = ranked
        .iter()
        .enumerate()
        .map(|(n, (r, _))| (*r, n as u32))
        .collect();
    for (i, s) in stickies.iter_mut().enumerate() {
        let r = find(&mut parent, i);
        s.cluster = number.get(&r).copied().unwrap_or(0);
    }
}
