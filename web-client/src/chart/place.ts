// Opening a chart at a place a search hit named: `?at=4.1` is the path of
// child indices from the root of the notes (the second item of the list
// that is the fifth block), `?sticky=ID` a sticky on the board. The place
// is scrolled into view and highlighted for a moment.
//
// The highlight is a ProseMirror node decoration (the SearchTarget
// extension), not a class set on the editor's DOM: ProseMirror redraws
// nodes whose DOM others touched, which would drop such a class.

import { Extension, type Editor } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import { currentRoute } from '../util'

const HIGHLIGHT_MS = 4000
/** How long to wait for the place to exist (the notes arrive after the
 * editor is made). */
const WAIT_MS = 5000
const POLL_MS = 100

const key = new PluginKey<DecorationSet>('searchTarget')

/** Holds the one highlighted node: set with `tr.setMeta(key, pos | null)`. */
export const SearchTarget = Extension.create({
  name: 'searchTarget',
  addProseMirrorPlugins() {
    return [
      new Plugin<DecorationSet>({
        key,
        state: {
          init: () => DecorationSet.empty,
          apply(tr, set) {
            const meta = tr.getMeta(key) as number | null | undefined
            if (meta === null) return DecorationSet.empty
            if (meta !== undefined) {
              const node = tr.doc.nodeAt(meta)
              if (!node) return DecorationSet.empty
              return DecorationSet.create(tr.doc, [Decoration.node(meta, meta + node.nodeSize, { class: 'search-target' })])
            }
            return set.map(tr.mapping, tr.doc)
          },
        },
        props: {
          decorations: (state) => key.getState(state),
        },
      }),
    ]
  },
})

/** The document position of the node at `path`, as deep as it exists. */
function positionOf(editor: Editor, path: number[]): number | null {
  let node = editor.state.doc
  let pos = 0 // the start of `node`'s content
  let found: number | null = null
  for (const i of path) {
    if (i >= node.childCount) break
    let at = pos
    for (let k = 0; k < i; k++) at += node.child(k).nodeSize
    found = at
    node = node.child(i)
    pos = at + 1
  }
  return found
}

function find(editor: () => Editor | null): { el: Element; pos: number | null; ed: Editor | null } | null {
  const { params } = currentRoute()
  const sticky = params.get('sticky')
  if (sticky) {
    const el = document.querySelector(`[data-sticky-id="${CSS.escape(sticky)}"]`)
    return el ? { el, pos: null, ed: null } : null
  }
  const at = params.get('at')
  const ed = editor()
  if (!at || !ed || ed.isDestroyed) return null
  const path = at.split('.').map((n) => Number.parseInt(n, 10))
  if (path.some((n) => !Number.isFinite(n) || n < 0)) return null
  const pos = positionOf(ed, path)
  if (pos === null) return null
  const el = ed.view.nodeDOM(pos)
  return el instanceof Element ? { el, pos, ed } : null
}

/**
 * Scrolls to and highlights the place the address names, if any, once it
 * exists (polled for a few seconds). Returns a cancel function.
 */
export function showPlace(editor: () => Editor | null): () => void {
  const { params } = currentRoute()
  if (!params.get('at') && !params.get('sticky')) return () => {}
  const until = Date.now() + WAIT_MS
  let timer = 0
  const attempt = () => {
    const found = find(editor)
    if (!found) {
      if (Date.now() < until) timer = window.setTimeout(attempt, POLL_MS)
      return
    }
    const { el, pos, ed } = found
    el.scrollIntoView({ block: 'center', behavior: 'smooth' })
    if (ed && pos !== null) {
      ed.view.dispatch(ed.state.tr.setMeta(key, pos).setMeta('addToHistory', false))
      timer = window.setTimeout(() => {
        if (!ed.isDestroyed) ed.view.dispatch(ed.state.tr.setMeta(key, null).setMeta('addToHistory', false))
      }, HIGHLIGHT_MS)
    } else {
      el.classList.add('search-target')
      timer = window.setTimeout(() => el.classList.remove('search-target'), HIGHLIGHT_MS)
    }
  }
  attempt()
  return () => clearTimeout(timer)
}
