// The notes editor: TipTap bound to the chart's `notes` fragment, other
// people's carets, and the formatting toolbar.

import type * as Y from 'yjs'
import type { WebsocketProvider } from 'y-websocket'
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import Highlight from '@tiptap/extension-highlight'
import { TaskList } from '@tiptap/extension-list'
import { ActionIds, TaskItemWithId } from './action-id'

import { CaretInStep } from '../selection'
import { SearchTarget } from './place'
import { h } from '../util'

// Another person's caret, drawn inside the text. Its label is positioned
// out of the line, which leaves the widget empty as far as Chromium's line
// layout goes, and Chromium's End key cannot move past an empty
// non-editable element at the start of a line: with a colleague's caret at
// the start of a heading, End did nothing and Enter then split the heading
// at its start. A word joiner (zero width, no break) gives the widget a
// character in the line.
function caret(user: { name?: string; color?: string }): HTMLElement {
  const el = h('span', { class: 'collaboration-carets__caret' })
  el.style.borderColor = user.color ?? '#666666'
  const label = h('span', { class: 'collaboration-carets__label' }, user.name ?? '')
  label.style.backgroundColor = user.color ?? '#666666'
  el.append('\u2060', label)
  return el
}

export function createEditor(
  host: HTMLElement,
  doc: Y.Doc,
  provider: WebsocketProvider,
  user: { name: string; color: string },
  editable: boolean,
): Editor {
  return new Editor({
    element: host,
    editable,
    extensions: [
      StarterKit.configure({
        undoRedo: false, // Collaboration brings its own (per-user) undo
        underline: false, // not in the chart schema
        trailingNode: false, // would write to the chart just by opening it
        link: { openOnClick: false, autolink: true, protocols: ['http', 'https', 'mailto'] },
      }),
      Highlight,
      TaskList,
      TaskItemWithId.configure({ nested: true }),
      ActionIds,
      Collaboration.configure({ document: doc, field: 'notes' }),
      CollaborationCaret.configure({ provider, user, render: caret }),
      CaretInStep.configure({ document: doc }),
      SearchTarget,
    ],
    editorProps: {
      attributes: {
        class: 'prose',
        'aria-label': 'Notes',
        'aria-multiline': 'true',
        role: 'textbox',
      },
    },
  })
}

type Btn = { label: string; icon: string; run: (e: Editor) => void; active?: (e: Editor) => boolean; key?: string }

const buttons: Btn[] = [
  { label: 'Bold', icon: 'B', key: 'Ctrl+B', run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
  { label: 'Italic', icon: 'I', key: 'Ctrl+I', run: (e) => e.chain().focus().toggleItalic().run(), active: (e) => e.isActive('italic') },
  { label: 'Strikethrough', icon: 'S', run: (e) => e.chain().focus().toggleStrike().run(), active: (e) => e.isActive('strike') },
  { label: 'Highlight', icon: 'A', run: (e) => e.chain().focus().toggleHighlight().run(), active: (e) => e.isActive('highlight') },
  { label: 'Heading', icon: 'H', run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run(), active: (e) => e.isActive('heading') },
  { label: 'Bullet list', icon: '•', run: (e) => e.chain().focus().toggleBulletList().run(), active: (e) => e.isActive('bulletList') },
  // "1." is drawn by the stylesheet: as text it would read as a label ("one") that is not
  // the button's name (WCAG 2.5.3, label in name); it is an icon.
  { label: 'Numbered list', icon: '', run: (e) => e.chain().focus().toggleOrderedList().run(), active: (e) => e.isActive('orderedList') },
  { label: 'Action items', icon: '☑', run: (e) => e.chain().focus().toggleTaskList().run(), active: (e) => e.isActive('taskList') },
  { label: 'Quote', icon: '❝', run: (e) => e.chain().focus().toggleBlockquote().run(), active: (e) => e.isActive('blockquote') },
  {
    label: 'Link',
    icon: 'Link',
    run: (e) => {
      const prev = e.getAttributes('link').href as string | undefined
      const href = window.prompt('Link address (https://…)', prev ?? 'https://')
      if (href === null) return
      if (href.trim() === '') e.chain().focus().unsetLink().run()
      else e.chain().focus().extendMarkRange('link').setLink({ href: href.trim() }).run()
    },
    active: (e) => e.isActive('link'),
  },
  { label: 'Undo', icon: '↶', key: 'Ctrl+Z', run: (e) => e.chain().focus().undo().run() },
  { label: 'Redo', icon: '↷', key: 'Ctrl+Shift+Z', run: (e) => e.chain().focus().redo().run() },
]

/** Fills `toolbar` with the formatting buttons; returns its refresh function. */
export function buildToolbar(toolbar: HTMLElement, editor: () => Editor | null): () => void {
  const els = buttons.map((b) => {
    const el = h(
      'button',
      {
        type: 'button',
        class: `tool tool-${b.label.toLowerCase().replace(/\s+/g, '-')}`,
        title: b.key ? `${b.label} (${b.key})` : b.label,
        'aria-label': b.label,
        'aria-pressed': b.active ? 'false' : null,
        onclick: () => {
          const e = editor()
          if (e) b.run(e)
        },
      },
      b.icon,
    )
    toolbar.appendChild(el)
    return el
  })
  return () => {
    const e = editor()
    buttons.forEach((b, i) => {
      if (b.active) els[i].setAttribute('aria-pressed', String(e ? b.active(e) : false))
    })
  }
}
