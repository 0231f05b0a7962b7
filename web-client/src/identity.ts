// Who "I" am in presence and carets: a name asked once and kept in
// localStorage, a colour derived from it, and a random id for this browser.
//
// The id is what lets the presence list show a person once: a reload or a
// second tab is a new Yjs client, and the old one's awareness can still be
// on its way out (the server drops it when it sees the socket close), so
// the same person would otherwise be listed twice for a moment.

import { colorFor, h } from './util'

const NAME_KEY = 'easel.name'
const ID_KEY = 'easel.id'

// Generated once per page load when storage is unavailable (private mode).
let pageId: string | null = null

/** This browser's presence id: random, kept in localStorage. */
export function browserId(): string {
  try {
    const kept = localStorage.getItem(ID_KEY)
    if (kept && /^[0-9a-f]{32}$/.test(kept)) return kept
    const fresh = randomId()
    localStorage.setItem(ID_KEY, fresh)
    return fresh
  } catch {
    pageId ??= randomId()
    return pageId
  }
}

// crypto.randomUUID needs a secure context; a chart opened over plain http on
// a LAN address is not one, getRandomValues works everywhere.
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function storedName(): string | null {
  try {
    const n = localStorage.getItem(NAME_KEY)?.trim()
    return n ? n : null
  } catch {
    return null
  }
}

export function rememberName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name)
  } catch {
    // private mode: the name lasts for this page only
  }
}

export function identity(name: string): { name: string; color: string; id: string } {
  return { name, color: colorFor(name), id: browserId() }
}

/**
 * Asks for a display name in a modal dialog (keyboard: focus starts in the
 * field, Enter confirms, Escape keeps the current name).
 */
export function askName(current: string | null, why: string): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h('input', {
      type: 'text',
      id: 'name-input',
      name: 'name',
      required: true,
      maxlength: 60,
      autocomplete: 'nickname',
      value: current ?? '',
    })
    const form = h(
      'form',
      { method: 'dialog', class: 'stack' },
      h('h2', { id: 'name-title' }, 'What is your name?'),
      h('p', { class: 'muted' }, why),
      h('label', { for: 'name-input' }, 'Your name'),
      input,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Continue'),
      ),
    )
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'name-title' }, form)
    let done = false
    const finish = (value: string | null) => {
      if (done) return
      done = true
      dialog.close()
      dialog.remove()
      resolve(value)
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const v = input.value.trim()
      if (!v) return
      rememberName(v)
      finish(v)
    })
    dialog.addEventListener('cancel', () => finish(current))
    document.body.appendChild(dialog)
    dialog.showModal()
    input.focus()
  })
}
