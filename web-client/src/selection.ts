// Keeps ProseMirror's idea of the caret in step with the browser's.
//
// Keys the browser handles itself (Home, End, Ctrl+Home, arrows, Page
// Up/Down) move the DOM selection, and ProseMirror only learns of it from
// the `selectionchange` event, which Chromium delivers late: with the next
// rendered frame, tens of milliseconds later on a busy machine. Two things go
// wrong in that window, and both write real damage into shared charts:
//
// * A key ProseMirror handles itself (Enter, Backspace, Delete) acts at the
//   old caret. "Home, End, Enter" to open a line under the first heading
//   splits the heading at its start instead, so the text typed next goes into
//   the heading; a caret still in the template's empty action item makes
//   Enter lift that item out, and the task list is gone for everyone.
// * Any update rendered before the event (another person's edit through
//   y-prosemirror, their caret moving) writes ProseMirror's stale selection
//   back into the DOM, undoing the keypress.
//
// So the browser's selection is read into the editor state, when it differs,
// before a key is handled, before a caret or focus update is rendered, and
// before a remote Yjs change is rendered (y-prosemirror keeps the caret
// across it by the selection it saw when the Yjs transaction began).
//
// After a remote change the caret goes where Yjs says it is. y-tiptap 3.0.9
// second-guesses Yjs with a content match ("the Nth empty paragraph"), which
// puts a caret in a colleague's new empty paragraph when theirs is inserted
// just above ours: both then type into one paragraph, and y-tiptap's merge
// of two text nodes in one paragraph mangles the words. Its guess is kept
// only where Yjs cannot answer: the caret's block was deleted (or moved,
// which Yjs sees as delete and insert).

import { Extension } from '@tiptap/core'
import type { Node } from '@tiptap/pm/model'
import { Plugin, PluginKey, type Selection, type Transaction, TextSelection } from '@tiptap/pm/state'
import type { EditorView } from '@tiptap/pm/view'
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap'
import * as Y from 'yjs'

/**
 * Where the browser has the caret, as document positions, when that differs
 * from `view.state.selection`; null when they agree, during IME composition,
 * without focus, or when ProseMirror owns the selection (node selections, a
 * caret it cannot map to text).
 */
function movedCaret(view: EditorView): { anchor: number; head: number } | null {
  if (view.isDestroyed || view.composing || !view.hasFocus()) return null
  const current = view.state.selection
  // Node and cell selections are ProseMirror's own; the browser's native
  // caret moves only ever produce text selections.
  if (!(current instanceof TextSelection)) return null
  const dom = (view.root as Document).getSelection?.() ?? document.getSelection()
  if (!dom || !dom.anchorNode || !dom.focusNode) return null
  if (!view.dom.contains(dom.anchorNode) || !view.dom.contains(dom.focusNode)) return null
  let anchor: number
  let head: number
  try {
    anchor = view.posAtDOM(dom.anchorNode, dom.anchorOffset)
    head = view.posAtDOM(dom.focusNode, dom.focusOffset)
  } catch {
    return null
  }
  if (anchor === current.anchor && head === current.head) return null
  return { anchor, head }
}

/** Reads a caret move ProseMirror has not noticed yet into the state. */
export function takeDomSelection(view: EditorView): void {
  const moved = movedCaret(view)
  if (moved) select(view, moved.anchor, moved.head)
}

/** A text selection from `anchor` to `head` in `doc`, if both are caret positions. */
function caretAt(doc: Node, anchor: number, head: number): Selection | null {
  if (Math.min(anchor, head) < 0 || Math.max(anchor, head) > doc.content.size) return null
  const $anchor = doc.resolve(anchor)
  const $head = doc.resolve(head)
  if (!$anchor.parent.inlineContent || !$head.parent.inlineContent) return null
  return TextSelection.between($anchor, $head)
}

/** Moves the editor's selection to `anchor`/`head` if they differ and are caret positions. */
function select(view: EditorView, anchor: number, head: number): void {
  const { doc, selection } = view.state
  if (anchor === selection.anchor && head === selection.head) return
  const next = caretAt(doc, anchor, head)
  if (next) view.dispatch(view.state.tr.setSelection(next))
}

type Binding = { type: Y.XmlFragment; mapping: Map<unknown, unknown> }
type Caret = { anchor: Y.RelativePosition; head: Y.RelativePosition }

function binding(view: EditorView): Binding | null {
  return (ySyncPluginKey.getState(view.state) as { binding?: Binding } | undefined)?.binding ?? null
}

/** The caret as Yjs positions, for a focused text caret. */
function caretInYjs(view: EditorView): Caret | null {
  const b = binding(view)
  const sel = view.state.selection
  if (!b || !(sel instanceof TextSelection) || !view.hasFocus()) return null
  return {
    anchor: absolutePositionToRelativePosition(sel.anchor, b.type, b.mapping as never),
    head: absolutePositionToRelativePosition(sel.head, b.type, b.mapping as never),
  }
}

/** Whether Yjs can place `rel`: it resolves, and nothing it sits in was deleted. */
function placeable(doc: Y.Doc, rel: Y.RelativePosition): boolean {
  const abs = Y.createAbsolutePositionFromRelativePosition(rel, doc)
  if (!abs) return false
  for (let t: Y.AbstractType<unknown> | null = abs.type; t && t._item; t = t._item.parent as Y.AbstractType<unknown>) {
    if (t._item.deleted) return false
  }
  return true
}

/**
 * A transaction that changes neither the document nor the selection (a
 * colleague's caret moving, focus) carries the browser's selection instead
 * of ProseMirror's stale one, so rendering it does not undo a native caret
 * move. Edits set their own selection or come from a key handled above.
 */
function withDomSelection(view: EditorView, tr: Transaction): Transaction {
  if (tr.selectionSet || tr.docChanged || tr.before !== view.state.doc) return tr
  const moved = movedCaret(view)
  const next = moved && caretAt(tr.doc, moved.anchor, moved.head)
  return next ? tr.setSelection(next) : tr
}

/**
 * The TipTap side: `document` is the chart's Y.Doc, whose remote changes
 * must be rendered against the caret the person actually has.
 */
export const CaretInStep = Extension.create<{ document: Y.Doc | null }>({
  name: 'caretInStep',
  // Ahead of every keymap, so Enter or Backspace act where the caret is.
  priority: 10000,
  addOptions() {
    return { document: null }
  },
  dispatchTransaction({ transaction, next }) {
    next(this.editor.isDestroyed ? transaction : withDomSelection(this.editor.view, transaction))
  },
  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('caretInStep'),
        props: {
          handleKeyDown: (view) => {
            takeDomSelection(view)
            return false
          },
        },
        view: (view) => {
          const ydoc = this.options.document
          // Only remote changes: local ones come from inside ProseMirror's
          // own update, where dispatching again is not allowed.
          let caret: Caret | null = null
          const beforeRemote = (tr: Y.Transaction) => {
            if (tr.local) return
            takeDomSelection(view)
            caret = caretInYjs(view)
          }
          // After y-prosemirror has rendered the change (its observer runs
          // before `afterTransaction`).
          const afterRemote = (tr: Y.Transaction, doc: Y.Doc) => {
            const saved = caret
            caret = null
            const b = binding(view)
            if (tr.local || !saved || !b || view.isDestroyed || !view.hasFocus()) return
            if (!placeable(doc, saved.anchor) || !placeable(doc, saved.head)) return
            const anchor = relativePositionToAbsolutePosition(doc, b.type, saved.anchor, b.mapping as never)
            const head = relativePositionToAbsolutePosition(doc, b.type, saved.head, b.mapping as never)
            if (anchor !== null && head !== null) select(view, anchor, head)
          }
          ydoc?.on('beforeTransaction', beforeRemote)
          ydoc?.on('afterTransaction', afterRemote)
          return {
            destroy: () => {
              ydoc?.off('beforeTransaction', beforeRemote)
              ydoc?.off('afterTransaction', afterRemote)
            },
          }
        },
      }),
    ]
  },
})
