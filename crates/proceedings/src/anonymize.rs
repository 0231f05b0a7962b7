//! Anonymous attribution: no person's name in any export.
//!
//! Applied to the input, before the model is built, so every renderer
//! (Markdown, HTML, JSON, the PDF's text) and every view of the model (the
//! action register, its CSV and calendar) is covered by one function. The
//! names withheld are the ones the input knows: conveners, participants and
//! action owners (`@Name`); they go from the lists and, through
//! [`easel_chart::Redactor`], from every text (topics, notes, action items).
//! When the chart model grows more fields with names (a board sticky's
//! author), `Redactor::chart` clears them and this needs no change.

use easel_chart::Redactor;

use crate::input::{Attribution, ProceedingsInput, SessionInput};

/// Every person's name in `sessions`: conveners, participants and, when
/// `with_owners`, the owners of action items.
pub fn names_of<'a>(
    sessions: impl IntoIterator<Item = &'a SessionInput>,
    with_owners: bool,
) -> Vec<String> {
    let mut names = Vec::new();
    for s in sessions {
        names.push(s.convener.clone());
        names.extend(s.content.participants.iter().cloned());
        if with_owners {
            names.extend(s.content.action_items().into_iter().filter_map(|a| a.owner));
        }
    }
    names.retain(|n| !n.trim().is_empty());
    names.sort();
    names.dedup();
    names
}

/// Withholds every name in the input. With `keep_owners` the owners of
/// action items stay (the organizer wants a register people can act on):
/// their names are not redacted anywhere, so an owner who also took part
/// stays readable in the notes too.
pub fn anonymize(input: &mut ProceedingsInput, keep_owners: bool) {
    let mut names = names_of(&input.sessions, true);
    if keep_owners {
        let owners = names_of_owners(&input.sessions);
        names.retain(|n| !owners.iter().any(|o| o.eq_ignore_ascii_case(n)));
    }
    let redactor = Redactor::new(names.iter().map(String::as_str));
    for s in &mut input.sessions {
        redact_session(&redactor, s);
    }
    input.attribution = Attribution::Anonymous;
}

/// [`anonymize`] for one chart's export; `names` are the conference's
/// names (see [`names_of`]), since a chart may mention people of others.
pub fn anonymize_session(session: &mut SessionInput, names: &[String], keep_owners: bool) {
    let owners = if keep_owners {
        names_of_owners(std::slice::from_ref(session))
    } else {
        Vec::new()
    };
    let redactor = Redactor::new(
        names
            .iter()
            .filter(|n| !owners.iter().any(|o| o.eq_ignore_ascii_case(n)))
            .map(String::as_str),
    );
    redact_session(&redactor, session);
}

fn names_of_owners(sessions: &[SessionInput]) -> Vec<String> {
    sessions
        .iter()
        .flat_map(|s| s.content.action_items())
        .filter_map(|a| a.owner)
        .collect()
}

fn redact_session(redactor: &Redactor, s: &mut SessionInput) {
    s.convener.clear();
    s.topic = redactor.text(&s.topic);
    if let Some(c) = &mut s.continues {
        c.topic = redactor.text(&c.topic);
    }
    for c in &mut s.continued_in {
        c.topic = redactor.text(&c.topic);
    }
    redactor.chart(&mut s.content);
}
