// Who "I" am in presence and carets: a name asked once and kept in
// localStorage, and a colour derived from it.

import { colorFor, h } from './util'

const NAME_KEY = 'easel.name'

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

export function identity(name: string): { name: string; color: string } {
  return { name, color: colorFor(name) }
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
