//! PDF renderer: typst as a library, with embedded fonts.
//!
//! The compiled [`Proceedings`] model is serialized to JSON and handed to a
//! fixed typst template (`pdf/template.typ`) as the virtual file
//! `/data.json`. The template reads it with `json("/data.json")` and places
//! every user string into the document as a string *value*, which typst
//! typesets as literal text. User text is never spliced into typst markup,
//! so `#`, `$`, `*`, `_`, `@`, `<`, `]` and backslashes are inert.
//!
//! The world is hermetic: the only files are the template and the data, and
//! there is no package access and no clock. Fonts are compiled into the
//! binary so that every script a worldwide event writes in comes out without
//! any system font: Libertinus Serif, New Computer Modern and DejaVu Sans
//! Mono from `typst-assets` (Latin, Greek, Cyrillic), Noto Naskh Arabic,
//! Noto Sans Hebrew, Devanagari and Thai and a subset of Noto Sans CJK JP
//! from Debian's fonts-noto packages (`assets/fonts/`, see its README), and
//! the monochrome Noto Emoji from the `epaint_default_fonts` crate. Typst
//! subsets every font it uses into the PDF, so a PDF carries only the glyphs
//! it shows.
//!
//! Directories named in [`FONT_DIRS_ENV`] (e.g. `/usr/share/fonts`) add
//! system fonts, loaded only when a document needs them. They come first, so
//! a complete Noto Sans CJK there replaces the embedded subset, and they
//! cover scripts the embedded set does not.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook, FontInfo};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::model::Proceedings;
use crate::ProceedingsError;

/// The template, compiled into the binary.
pub const TEMPLATE: &str = include_str!("pdf/template.typ");

/// Environment variable with extra font directories (separated like
/// `PATH`), searched recursively for `.ttf`, `.otf`, `.ttc` and `.otc`
/// files when the first PDF is rendered.
pub const FONT_DIRS_ENV: &str = "EASEL_FONT_DIRS";

/// Fonts compiled in besides typst-assets' (see `assets/fonts/README.md`).
const EMBEDDED_FONTS: &[&[u8]] = &[
    include_bytes!("../assets/fonts/NotoNaskhArabic-Regular.ttf"),
    include_bytes!("../assets/fonts/NotoNaskhArabic-Bold.ttf"),
    include_bytes!("../assets/fonts/NotoSansHebrew-Regular.ttf"),
    include_bytes!("../assets/fonts/NotoSansHebrew-Bold.ttf"),
    include_bytes!("../assets/fonts/NotoSansDevanagari-Regular.ttf"),
    include_bytes!("../assets/fonts/NotoSansDevanagari-Bold.ttf"),
    include_bytes!("../assets/fonts/NotoSansThai-Regular.ttf"),
    include_bytes!("../assets/fonts/NotoSansThai-Bold.ttf"),
    include_bytes!("../assets/fonts/NotoSansCJKjp-Regular-subset.otf"),
    epaint_default_fonts::NOTO_EMOJI_REGULAR,
];

/// The bytes of every compiled-in font (typst-assets' and ours), for the
/// board's PNG rasterizer, which draws with the same fonts.
pub(crate) fn embedded_font_data() -> impl Iterator<Item = &'static [u8]> {
    typst_assets::fonts().chain(EMBEDDED_FONTS.iter().copied())
}

/// A font the book knows about: embedded ones are parsed up front, files
/// from [`FONT_DIRS_ENV`] on first use (a font directory can hold hundreds
/// of MB, of which a document needs a few fonts).
struct FontSlot {
    path: Option<PathBuf>,
    index: u32,
    font: OnceLock<Option<Font>>,
}

impl FontSlot {
    fn get(&self) -> Option<Font> {
        self.font
            .get_or_init(|| {
                let data = std::fs::read(self.path.as_ref()?).ok()?;
                Font::new(Bytes::new(data), self.index)
            })
            .clone()
    }
}

/// Fonts and standard library, parsed once per process.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<FontSlot>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let mut book = FontBook::new();
    let mut fonts = Vec::new();
    if let Some(dirs) = std::env::var_os(FONT_DIRS_ENV) {
        let mut files = Vec::new();
        for dir in std::env::split_paths(&dirs) {
            font_files(&dir, &mut files);
        }
        // Sorted so that the font order, and with it the output, does not
        // depend on directory listing order.
        files.sort();
        for path in files {
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            // Face by face, so that a face typst cannot read does not shift
            // the index of the ones after it.
            for index in 0..faces_in(&data) {
                let Some(info) = FontInfo::new(&data, index) else {
                    continue;
                };
                book.push(info);
                fonts.push(FontSlot {
                    path: Some(path.clone()),
                    index,
                    font: OnceLock::new(),
                });
            }
        }
    }
    let embedded = typst_assets::fonts()
        .chain(EMBEDDED_FONTS.iter().copied())
        .flat_map(|data| Font::iter(Bytes::new(data)));
    for font in embedded {
        book.push(font.info().clone());
        fonts.push(FontSlot {
            path: None,
            index: font.index(),
            font: OnceLock::from(Some(font)),
        });
    }
    Shared {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(book),
        fonts,
    }
});

/// Number of faces in a font file: a collection (`ttcf`) says so in its
/// header, any other file is one face.
fn faces_in(data: &[u8]) -> u32 {
    match data {
        [b't', b't', b'c', b'f', _, _, _, _, a, b, c, d, ..] => {
            u32::from_be_bytes([*a, *b, *c, *d])
        }
        _ => 1,
    }
}

/// Font files below `dir`. Symlinked directories are not followed (no
/// loops); symlinked files are.
fn font_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            font_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "ttf" | "otf" | "ttc" | "otc"
            )
        }) {
            out.push(path);
        }
    }
}

/// Families of the fonts available to the PDF renderer, embedded and from
/// [`FONT_DIRS_ENV`], sorted and without duplicates (for diagnostics and
/// tests).
pub fn font_families() -> Vec<String> {
    let mut families: Vec<String> = (0..SHARED.fonts.len())
        .filter_map(|i| SHARED.book.info(i).map(|info| info.family.clone()))
        .collect();
    families.sort();
    families.dedup();
    families
}

fn file_id(path: &str) -> FileId {
    // Every path is a constant or `/boards/{n}.svg`, so `VirtualPath::new`
    // cannot fail.
    let vpath = VirtualPath::new(path).unwrap_or_else(|_| unreachable!("constant path {path}"));
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// A hermetic typst world: one template, one data file, and the boards'
/// drawings as `/boards/{n}.svg` (paths made from a counter, never from
/// user text).
struct ProceedingsWorld {
    main: Source,
    data_id: FileId,
    data: Bytes,
    boards: std::collections::HashMap<FileId, Bytes>,
}

impl ProceedingsWorld {
    fn new(data: Vec<u8>, boards: Vec<(String, String)>) -> Self {
        Self {
            main: Source::new(file_id("/main.typ"), TEMPLATE.to_string()),
            data_id: file_id("/data.json"),
            data: Bytes::new(data),
            boards: boards
                .into_iter()
                .map(|(path, svg)| (file_id(&path), Bytes::from_string(svg)))
                .collect(),
        }
    }
}

impl World for ProceedingsWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else if let Some(svg) = self.boards.get(&id) {
            Ok(svg.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).and_then(FontSlot::get)
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // No clock: the output depends only on the data (stable ETags).
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.get().vpath().get_without_slash().into())
}

fn diagnostics(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| {
            let mut s = d.message.to_string();
            for h in &d.hints {
                s.push_str("; hint: ");
                s.push_str(&h.v);
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The boards' drawings: (path in the world, SVG).
type Boards = Vec<(String, String)>;

/// The model as the template's data: each session with a board gets
/// `board_figure` (`path` of its SVG in the world, its `width` and
/// `height` in board units, and a `caption` of counts).
fn template_data(model: &Proceedings) -> Result<(Vec<u8>, Boards), ProceedingsError> {
    let mut value = serde_json::to_value(model)?;
    let mut boards = Vec::new();
    let sessions = value
        .get_mut("days")
        .and_then(|d| d.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|d| d.get_mut("rounds").and_then(|r| r.as_array_mut()))
        .flatten()
        .filter_map(|r| r.get_mut("sessions").and_then(|s| s.as_array_mut()))
        .flatten();
    for (json, session) in sessions.zip(model.sessions()) {
        if session.board.is_empty() {
            continue;
        }
        let path = format!("/boards/{}.svg", boards.len());
        let (_, _, width, height) = crate::board::view_box(&session.board);
        if let Some(obj) = json.as_object_mut() {
            obj.insert(
                "board_figure".to_owned(),
                serde_json::json!({
                    "path": path,
                    "width": width,
                    "height": height,
                    "caption": crate::board::summary(&session.board),
                }),
            );
        }
        boards.push((path, crate::board::svg(&session.board)));
    }
    Ok((serde_json::to_vec(&value)?, boards))
}

/// Typesets the model as a PDF.
pub fn render(model: &Proceedings) -> Result<Vec<u8>, ProceedingsError> {
    let (data, boards) = template_data(model)?;
    let world = ProceedingsWorld::new(data, boards);
    let result = typst::compile::<PagedDocument>(&world).output;
    // Drop typst's memoization cache: a server renders proceedings rarely
    // (ETags cover repeats) and must not keep hundreds of MB of layout
    // around between requests.
    typst::comemo::evict(0);
    let document = result.map_err(|e| ProceedingsError::PdfCompile(diagnostics(&e)))?;
    let options = typst_pdf::PdfOptions::default();
    typst_pdf::pdf(&document, &options).map_err(|e| ProceedingsError::PdfExport(diagnostics(&e)))
}
