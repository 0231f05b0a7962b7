//! The board as a drawing: one SVG (inline in the HTML edition, the
//! `board.svg` endpoint, and the PDF's vector figure through typst's SVG
//! support), a PNG rasterized from it with resvg, and the Markdown listing
//! of sticky texts by colour and cluster.
//!
//! The [`Board`] arrives with the limits applied and every number inside
//! the board space (`easel_chart::read_board`), so the size of the output is
//! bounded by the limits: coordinates are whole numbers, each stroke is one
//! path in relative coordinates, a highlighter a wide translucent stroke.
//! User text (sticky texts, authors) is escaped as XML; colours come from
//! the palette enums, never from the document.

use std::fmt::Write;
use std::sync::{Arc, LazyLock};

use easel_chart::{Board, InkColor, Sticky, StickyColor, Tool, BOARD_HEIGHT, BOARD_WIDTH};

use crate::ProceedingsError;

/// Fill of a sticky.
pub fn sticky_hex(c: StickyColor) -> &'static str {
    match c {
        StickyColor::Yellow => "#fff176",
        StickyColor::Pink => "#f8bbd0",
        StickyColor::Blue => "#b3e5fc",
        StickyColor::Green => "#c8e6c9",
        StickyColor::Orange => "#ffcc80",
        StickyColor::Purple => "#d1c4e9",
    }
}

/// Colour of ink and arrows.
pub fn ink_hex(c: InkColor) -> &'static str {
    match c {
        InkColor::Black => "#1d1d1f",
        InkColor::Red => "#d32f2f",
        InkColor::Blue => "#1565c0",
        InkColor::Green => "#2e7d32",
        InkColor::Orange => "#ef6c00",
        InkColor::Purple => "#6a1b9a",
    }
}

/// Display name of a sticky colour (Markdown headings).
pub fn sticky_label(c: StickyColor) -> &'static str {
    match c {
        StickyColor::Yellow => "Yellow",
        StickyColor::Pink => "Pink",
        StickyColor::Blue => "Blue",
        StickyColor::Green => "Green",
        StickyColor::Orange => "Orange",
        StickyColor::Purple => "Purple",
    }
}

const TEXT_SIZE: i32 = 20;
const LINE_HEIGHT: i32 = 25;
const AUTHOR_SIZE: i32 = 14;
const PAD: i32 = 10;
/// Room around the drawing.
const MARGIN: i32 = 20;
/// Font families of the drawing: browsers take the first they have; the
/// PNG and the PDF map the generic family to an embedded font and fall
/// back per character to any embedded font that has it.
const FONTS: &str = "'DejaVu Sans', 'Noto Sans', Arial, sans-serif";

/// Escapes text for XML content and attributes. Characters XML 1.0 does
/// not allow (controls, U+FFFE, U+FFFF) become U+FFFD, so that every
/// parser, resvg's included, reads the file.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Approximate advance of `c` at font size 1: wide for CJK and emoji.
fn advance(c: char) -> f32 {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD);
    if wide {
        1.0
    } else {
        0.56
    }
}

/// The text of a sticky broken into lines that fit `width` at
/// [`TEXT_SIZE`], at most `max_lines`; a cut last line ends in "…".
fn wrap(text: &str, width: i32, max_lines: usize) -> Vec<String> {
    let limit = width as f32 / TEXT_SIZE as f32;
    let mut lines: Vec<String> = Vec::new();
    if max_lines == 0 {
        return lines;
    }
    let mut cut = false;
    let mut paragraphs = text.split('\n').peekable();
    'paragraphs: while let Some(para) = paragraphs.next() {
        let mut line = String::new();
        let mut used = 0.0f32;
        for word in para.split_whitespace() {
            let w: f32 = word.chars().map(advance).sum();
            let space = if line.is_empty() { 0.0 } else { advance(' ') };
            if used + space + w <= limit {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                used += space + w;
                continue;
            }
            // The word does not fit: start a new line, breaking the word
            // itself when it is wider than a line.
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
                if lines.len() >= max_lines {
                    cut = true;
                    break 'paragraphs;
                }
            }
            for c in word.chars() {
                let a = advance(c);
                if used + a > limit && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    used = 0.0;
                    if lines.len() >= max_lines {
                        cut = true;
                        break 'paragraphs;
                    }
                }
                line.push(c);
                used += a;
            }
        }
        lines.push(line);
        if lines.len() >= max_lines {
            cut = paragraphs.any(|p| !p.trim().is_empty());
            break;
        }
    }
    if cut {
        if let Some(last) = lines.last_mut() {
            let mut chars: Vec<char> = last.chars().collect();
            let mut w: f32 = chars.iter().copied().map(advance).sum();
            while !chars.is_empty() && w + advance('…') > limit {
                if let Some(c) = chars.pop() {
                    w -= advance(c);
                }
            }
            *last = chars.into_iter().collect::<String>() + "…";
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// The region drawn: everything on the board plus a margin, inside the
/// board space; the whole space for an empty board.
pub(crate) fn view_box(board: &Board) -> (i32, i32, i32, i32) {
    let mut min = (i32::MAX, i32::MAX);
    let mut max = (i32::MIN, i32::MIN);
    let mut add = |x: i32, y: i32, pad: i32| {
        min = (min.0.min(x - pad), min.1.min(y - pad));
        max = (max.0.max(x + pad), max.1.max(y + pad));
    };
    for s in &board.stickies {
        add(s.x, s.y, 0);
        add(s.x + s.w, s.y + s.h, 0);
    }
    for k in &board.strokes {
        let half = k.width as i32 / 2 + 1;
        for p in k.points.chunks_exact(2) {
            add(p[0], p[1], half);
        }
    }
    if min.0 > max.0 {
        return (0, 0, BOARD_WIDTH, BOARD_HEIGHT);
    }
    let x0 = (min.0 - MARGIN).max(0);
    let y0 = (min.1 - MARGIN).max(0);
    let x1 = (max.0 + MARGIN).min(BOARD_WIDTH);
    let y1 = (max.1 + MARGIN).min(BOARD_HEIGHT);
    (x0, y0, (x1 - x0).max(1), (y1 - y0).max(1))
}

/// A sentence saying what is on the board (the drawing's accessible name).
pub fn summary(board: &Board) -> String {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    format!(
        "{} in {}, {}, {}",
        n(board.stickies.len(), "sticky note", "sticky notes"),
        n(board.cluster_count(), "cluster", "clusters"),
        n(board.strokes.len(), "ink stroke", "ink strokes"),
        n(board.arrows.len(), "arrow", "arrows"),
    )
}

/// The board as a standalone SVG document (also valid inline in HTML).
pub fn svg(board: &Board) -> String {
    let (vx, vy, vw, vh) = view_box(board);
    let mut out = String::with_capacity(1024 + board.stickies.len() * 256);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"board\" viewBox=\"{vx} {vy} {vw} {vh}\" \
width=\"{vw}\" height=\"{vh}\" role=\"img\" aria-label=\"Board: {}\" font-family=\"{FONTS}\">",
        summary(board)
    );
    let _ = writeln!(
        out,
        "<rect x=\"{vx}\" y=\"{vy}\" width=\"{vw}\" height=\"{vh}\" fill=\"#ffffff\"/>"
    );
    for s in &board.stickies {
        sticky(s, &mut out);
    }
    let by_id: std::collections::HashMap<&str, &Sticky> =
        board.stickies.iter().map(|s| (s.id.as_str(), s)).collect();
    for a in &board.arrows {
        if let (Some(from), Some(to)) = (by_id.get(a.from.as_str()), by_id.get(a.to.as_str())) {
            arrow(from, to, ink_hex(a.color), &mut out);
        }
    }
    for k in &board.strokes {
        let Some((first, rest)) = k.points.split_first_chunk::<2>() else {
            continue;
        };
        let mut d = format!("M{} {}", first[0], first[1]);
        if rest.is_empty() {
            // A single dot: a zero-length segment with round caps.
            d.push_str("l0 0");
        } else {
            d.push('l');
            let (mut px, mut py) = (first[0], first[1]);
            let mut first_seg = true;
            for p in rest.chunks_exact(2) {
                let (dx, dy) = (p[0] - px, p[1] - py);
                if !first_seg && dx >= 0 {
                    d.push(' ');
                }
                first_seg = false;
                let _ = write!(d, "{dx}");
                if dy >= 0 {
                    d.push(' ');
                }
                let _ = write!(d, "{dy}");
                (px, py) = (p[0], p[1]);
            }
        }
        let opacity = match k.tool {
            Tool::Pen => "",
            Tool::Highlighter => " stroke-opacity=\"0.35\"",
        };
        let _ = writeln!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-linecap=\"round\" stroke-linejoin=\"round\"{opacity}/>",
            ink_hex(k.color),
            k.width
        );
    }
    out.push_str("</svg>\n");
    out
}

fn sticky(s: &Sticky, out: &mut String) {
    let _ = writeln!(
        out,
        "<g><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"{}\" stroke=\"#00000022\" stroke-width=\"1\"/>",
        s.x,
        s.y,
        s.w,
        s.h,
        sticky_hex(s.color)
    );
    let author_room = if s.author.is_empty() {
        0
    } else {
        AUTHOR_SIZE + 6
    };
    let room = s.h - 2 * PAD - author_room;
    let max_lines = (room / LINE_HEIGHT).max(0) as usize;
    let lines = wrap(&s.text, s.w - 2 * PAD, max_lines);
    if !lines.is_empty() {
        let x = s.x + PAD;
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"{}\" font-size=\"{TEXT_SIZE}\" fill=\"#1d1d1f\">",
            s.y + PAD + TEXT_SIZE
        );
        for (i, line) in lines.iter().enumerate() {
            let dy = if i == 0 { 0 } else { LINE_HEIGHT };
            let _ = write!(out, "<tspan x=\"{x}\" dy=\"{dy}\">{}</tspan>", xml(line));
        }
        out.push_str("</text>\n");
    }
    if !s.author.is_empty() {
        // The name is cut to the sticky's width like a line of text.
        let width = (s.w - 2 * PAD) * TEXT_SIZE / AUTHOR_SIZE;
        let name = wrap(&s.author, width, 1)
            .into_iter()
            .next()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{AUTHOR_SIZE}\" fill=\"#5f6368\">{}</text>",
            s.x + PAD,
            s.y + s.h - PAD,
            xml(&name)
        );
    }
    out.push_str("</g>\n");
}

/// Where the segment from the centre of `s` towards `(tx, ty)` leaves its
/// rectangle.
fn edge_point(s: &Sticky, tx: f64, ty: f64) -> (f64, f64) {
    let (cx, cy) = (
        f64::from(s.x) + f64::from(s.w) / 2.0,
        f64::from(s.y) + f64::from(s.h) / 2.0,
    );
    let (dx, dy) = (tx - cx, ty - cy);
    if dx == 0.0 && dy == 0.0 {
        return (cx, cy);
    }
    let sx = if dx == 0.0 {
        f64::INFINITY
    } else {
        (f64::from(s.w) / 2.0) / dx.abs()
    };
    let sy = if dy == 0.0 {
        f64::INFINITY
    } else {
        (f64::from(s.h) / 2.0) / dy.abs()
    };
    let t = sx.min(sy).min(1.0);
    (cx + dx * t, cy + dy * t)
}

fn arrow(from: &Sticky, to: &Sticky, color: &str, out: &mut String) {
    let centre = |s: &Sticky| {
        (
            f64::from(s.x) + f64::from(s.w) / 2.0,
            f64::from(s.y) + f64::from(s.h) / 2.0,
        )
    };
    let (fc, tc) = (centre(from), centre(to));
    let (x1, y1) = edge_point(from, tc.0, tc.1);
    let (x2, y2) = edge_point(to, fc.0, fc.1);
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return; // overlapping or the same sticky: nothing to point along
    }
    let (ux, uy) = (dx / len, dy / len);
    // Short arrows between neighbours get a smaller head, never one
    // longer than the arrow.
    let head = (len * 0.6).min(18.0);
    let (bx, by) = (x2 - ux * head, y2 - uy * head);
    let (px, py) = (-uy * head * 0.5, ux * head * 0.5);
    let r = |v: f64| v.round() as i64;
    let _ = writeln!(
        out,
        "<g fill=\"{color}\" stroke=\"{color}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke-width=\"3\"/><polygon points=\"{},{} {},{} {},{}\" stroke-width=\"1\"/></g>",
        r(x1), r(y1), r(bx), r(by),
        r(x2), r(y2), r(bx + px), r(by + py), r(bx - px), r(by - py),
    );
}

/// Fonts for the PNG: the same embedded fonts the PDF uses.
static FONT_DB: LazyLock<Arc<resvg::usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = resvg::usvg::fontdb::Database::new();
    for data in crate::pdf::embedded_font_data() {
        db.load_font_data(data.to_vec());
    }
    db.set_sans_serif_family("Libertinus Serif");
    db.set_serif_family("Libertinus Serif");
    db.set_monospace_family("DejaVu Sans Mono");
    Arc::new(db)
});

/// Largest side of the PNG, in pixels.
pub const PNG_MAX_SIDE: u32 = 2000;

/// The board's SVG rasterized (white background), at most
/// [`PNG_MAX_SIDE`] pixels on its longer side.
pub fn png(board: &Board) -> Result<Vec<u8>, ProceedingsError> {
    let svg = svg(board);
    let options = resvg::usvg::Options {
        fontdb: FONT_DB.clone(),
        font_family: "Libertinus Serif".to_owned(),
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_str(&svg, &options)
        .map_err(|e| ProceedingsError::Raster(e.to_string()))?;
    let size = tree.size();
    let longer = size.width().max(size.height()).max(1.0);
    let scale = (PNG_MAX_SIDE as f32 / longer).min(2.0);
    let w = ((size.width() * scale).ceil() as u32).clamp(1, PNG_MAX_SIDE);
    let h = ((size.height() * scale).ceil() as u32).clamp(1, PNG_MAX_SIDE);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| ProceedingsError::Raster(format!("cannot allocate {w}x{h}")))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ProceedingsError::Raster(e.to_string()))
}

/// The stickies of one cluster within one colour.
pub(crate) type ClusterGroup<'a> = (u32, Vec<&'a Sticky>);

/// Sticky texts by colour (palette order), and within a colour by cluster
/// (0-based cluster numbers; Markdown shows them from 1), in reading
/// order within a cluster. The Markdown renderer escapes the texts.
pub(crate) fn markdown_groups(board: &Board) -> Vec<(StickyColor, Vec<ClusterGroup<'_>>)> {
    let mut groups = Vec::new();
    for color in StickyColor::ALL {
        let mut of_color: Vec<&Sticky> =
            board.stickies.iter().filter(|s| s.color == color).collect();
        if of_color.is_empty() {
            continue;
        }
        // Reading order inside each cluster.
        of_color.sort_by_key(|s| (s.cluster, s.y, s.x));
        let mut clusters: Vec<ClusterGroup<'_>> = Vec::new();
        for s in of_color {
            match clusters.last_mut() {
                Some((c, list)) if *c == s.cluster => list.push(s),
                _ => clusters.push((s.cluster, vec![s])),
            }
        }
        groups.push((color, clusters));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_fits_and_cuts() {
        let lines = wrap("one two three four five six seven", 100, 10);
        assert!(lines.len() > 1);
        assert!(lines
            .iter()
            .all(|l| l.chars().map(advance).sum::<f32>() * 20.0 <= 100.0));
        let cut = wrap(&"word ".repeat(100), 100, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'));
        assert_eq!(wrap("a\nb", 100, 5), ["a", "b"]);
        assert!(wrap("anything", 100, 0).is_empty());
        let long = wrap(&"x".repeat(100), 100, 3);
        assert_eq!(long.len(), 3);
    }

    #[test]
    fn xml_escapes_and_replaces_what_xml_forbids() {
        assert_eq!(
            xml("<a href='x'>&\u{1}\u{FFFF}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;\u{FFFD}\u{FFFD}"
        );
    }
}
