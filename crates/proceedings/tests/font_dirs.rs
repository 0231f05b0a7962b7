//! `EASEL_FONT_DIRS`: fonts found there join the embedded ones. Its own
//! test binary, because the variable is read once per process.

use std::path::Path;

use easel_proceedings::{font_families, render_pdf, ProceedingsInput, FONT_DIRS_ENV};

#[test]
fn fonts_from_a_directory_are_added() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("font-dir-test");
    let nested = dir.join("truetype/hack");
    std::fs::create_dir_all(&nested).unwrap();
    // A font that is not embedded, in a subdirectory, a file that is not a
    // font at all next to it, and a directory that does not exist.
    std::fs::write(
        nested.join("Hack-Regular.ttf"),
        epaint_default_fonts::HACK_REGULAR,
    )
    .unwrap();
    std::fs::write(nested.join("broken.otf"), b"not a font").unwrap();
    // A symlinked directory pointing back up must not loop.
    let link = nested.join("loop");
    if !link.exists() {
        std::os::unix::fs::symlink(&dir, &link).unwrap();
    }
    let missing = dir.join("does-not-exist");
    std::env::set_var(
        FONT_DIRS_ENV,
        std::env::join_paths([dir.as_path(), missing.as_path()]).unwrap(),
    );

    let families = font_families();
    assert!(families.iter().any(|f| f == "Hack"), "{families:?}");
    // The embedded fonts are all still there.
    for family in ["Libertinus Serif", "Noto Sans CJK JP", "Noto Emoji"] {
        assert!(
            families.iter().any(|f| f == family),
            "{family}: {families:?}"
        );
    }
    let input = ProceedingsInput {
        votes: None,
        conference: Default::default(),
        sessions: Vec::new(),
        ..Default::default()
    };
    assert!(render_pdf(&input).unwrap().starts_with(b"%PDF-"));
}
