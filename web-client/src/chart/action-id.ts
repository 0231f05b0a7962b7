// Action items' identity: every task item gets an `actionId` attribute
// (docs/chart-schema.md), which votes refer to. It is an attribute of the
// item's own node, so edits elsewhere in the chart (or to the item's text)
// keep it; it goes with the item when the item is moved.
//
// Ids are written only alongside this person's own edits (never for a
// remote change or by merely opening the chart), once per item. Splitting
// an item with Enter copies its attributes to the new item: the later of
// two items with one id gets a new one, so the original keeps its votes.

import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { TaskItem } from '@tiptap/extension-list'

export const ACTION_ID = 'actionId'

function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return 'a-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** TaskItem with the `actionId` attribute (kept in the Yjs document as is). */
export const TaskItemWithId = TaskItem.extend({
  addAttributes() {
    return {
      ...this.parent?.(),
      [ACTION_ID]: {
        default: null,
        keepOnSplit: false,
        parseHTML: (el: HTMLElement) => el.getAttribute('data-action-id'),
        renderHTML: (attrs: Record<string, unknown>) => (attrs[ACTION_ID] ? { 'data-action-id': String(attrs[ACTION_ID]) } : {}),
      },
    }
  },
})

export const ActionIds = Extension.create({
  name: 'actionIds',
  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('actionIds'),
        appendTransaction: (transactions, _old, state) => {
          // y-prosemirror marks the changes it brings in from others.
          const local = transactions.some((tr) => tr.docChanged && !(tr.getMeta('y-sync$') as { isChangeOrigin?: boolean } | undefined)?.isChangeOrigin)
          if (!local || !this.editor.isEditable) return null
          const seen = new Set<string>()
          let tr = state.tr
          let changed = false
          state.doc.descendants((node, pos) => {
            if (node.type.name !== 'taskItem') return true
            const id = node.attrs[ACTION_ID] as string | null
            if (!id || seen.has(id)) {
              const next = newId()
              tr = tr.setNodeMarkup(pos, undefined, { ...node.attrs, [ACTION_ID]: next })
              seen.add(next)
              changed = true
            } else {
              seen.add(id)
            }
            return true
          })
          if (!changed) return null
          tr.setMeta('addToHistory', false)
          return tr
        },
      }),
    ]
  },
})
