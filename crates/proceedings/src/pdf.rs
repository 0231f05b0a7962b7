//! PDF renderer: typst as a library, with embedded fonts.
//!
//! The compiled [`Proceedings`] model is serialized to JSON and handed to a
//! fixed typst template (`pdf/template.typ`) as the virtual file
//! `/data.json`. The template reads it with `json("/data.json")` and places
//! every user string into the document as a string *value*, which typst
//! typesets as literal text. User text is never spliced into typst markup,
//! so `#`, `$`, `*`, `_`, `@`, `<`, `]` and backslashes are inert.
//!
//! The world is hermetic: the only files are the template and the data, the
//! only fonts are the ones compiled into the binary (Libertinus Serif,
//! New Computer Modern and DejaVu Sans Mono from `typst-assets`), and there
//! is no package access, no system font lookup and no clock.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::model::Proceedings;
use crate::ProceedingsError;

/// The template, compiled into the binary.
pub const TEMPLATE: &str = include_str!("pdf/template.typ");

/// Fonts and standard library, parsed once per process.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

fn file_id(path: &str) -> FileId {
    // Both paths are constants, so `VirtualPath::new` cannot fail.
    let vpath = VirtualPath::new(path).unwrap_or_else(|_| unreachable!("constant path {path}"));
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// A hermetic typst world: one template, one data file.
struct ProceedingsWorld {
    main: Source,
    data_id: FileId,
    data: Bytes,
}

impl ProceedingsWorld {
    fn new(data: Vec<u8>) -> Self {
        Self {
            main: Source::new(file_id("/main.typ"), TEMPLATE.to_string()),
            data_id: file_id("/data.json"),
            data: Bytes::new(data),
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
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
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

/// Typesets the model as a PDF.
pub fn render(model: &Proceedings) -> Result<Vec<u8>, ProceedingsError> {
    let data = serde_json::to_vec(model)?;
    let world = ProceedingsWorld::new(data);
    let result = typst::compile::<PagedDocument>(&world).output;
    // Drop typst's memoization cache: a server renders proceedings rarely
    // (ETags cover repeats) and must not keep hundreds of MB of layout
    // around between requests.
    typst::comemo::evict(0);
    let document = result.map_err(|e| ProceedingsError::PdfCompile(diagnostics(&e)))?;
    let options = typst_pdf::PdfOptions::default();
    typst_pdf::pdf(&document, &options).map_err(|e| ProceedingsError::PdfExport(diagnostics(&e)))
}
