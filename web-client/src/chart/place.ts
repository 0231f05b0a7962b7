// Opening a chart at a place a search hit named: `?at=4.1` is the path of
// child indices from the root of the notes (the second item of the list
// that is the fifth block), `?sticky=ID` a sticky on the board. The place
// is scrolled into view and highlighted for a moment.

import type { Editor } from '@tiptap/core'
import { currentRoute } from '../util'

const HIGHLIGHT_MS = 4000

/** The DOM element at `path` below the editor's root, as far as it exists. */
function elementAt(root: Element, path: number[]): Element | null {
  let el: Element | null = root
  for (const i of path) {
    // A list's items are its children; a list item's own text is its
    // first child, so stop at the deepest element that exists.
    const next: Element | undefined = el.children[i]
    if (!next) break
    el = next
  }
  return el === root ? null : el
}

function flash(el: Element): void {
  el.scrollIntoView({ block: 'center', behavior: 'smooth' })
  el.classList.add('search-target')
  window.setTimeout(() => el.classList.remove('search-target'), HIGHLIGHT_MS)
}

/** Scrolls to and highlights the place the address names, if any. */
export function showPlace(editor: Editor | null): void {
  const { params } = currentRoute()
  const sticky = params.get('sticky')
  if (sticky) {
    const el = document.querySelector(`[data-sticky-id="${CSS.escape(sticky)}"]`)
    if (el) flash(el)
    return
  }
  const at = params.get('at')
  if (!at || !editor) return
  const path = at.split('.').map((n) => Number.parseInt(n, 10))
  if (path.some((n) => !Number.isFinite(n) || n < 0)) return
  const el = elementAt(editor.view.dom, path)
  if (el) flash(el)
}
