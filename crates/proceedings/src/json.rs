//! JSON renderer: the compiled model as `easel.proceedings/v2` (see
//! `docs/proceedings-json.md`).
//!
//! This is the machine-readable export and the intended input of further
//! renderers (a typst PDF). `<`, `>`, `&` and U+2028/2029 are written as
//! `\uXXXX` escapes so the file can be embedded in HTML or served with a
//! wrong content type without becoming markup; parsers see the same strings.

use crate::model::Proceedings;
use crate::ProceedingsError;

/// Serializes the model as pretty-printed, HTML-safe JSON.
pub fn render(model: &Proceedings) -> Result<String, ProceedingsError> {
    let json = serde_json::to_string_pretty(model)?;
    // These characters can only occur inside JSON strings, where a `\u`
    // escape is equivalent, so a plain replacement is exact.
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    Ok(out)
}

/// Parses a document produced by [`render`] (or by a version writing
/// `easel.proceedings/v1`, which v2 extends). Fails on another schema.
pub fn parse(json: &str) -> Result<Proceedings, ProceedingsError> {
    let model: Proceedings = serde_json::from_str(json)?;
    if !crate::model::READS_SCHEMAS.contains(&model.schema.as_str()) {
        return Err(ProceedingsError::UnsupportedSchema(model.schema));
    }
    Ok(model)
}
