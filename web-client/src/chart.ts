// The chart page: one flip chart, edited live by everyone in the session.
//
// The Y.Doc schema is docs/chart-schema.md: XmlFragment `notes` (TipTap's
// Collaboration with field 'notes') and `meta.participants` (Y.Array of
// names). The server seeds new charts with the report template.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import Highlight from '@tiptap/extension-highlight'
import { TaskItem, TaskList } from '@tiptap/extension-list'

import { api, ApiError, describeError, EXPORT_FORMATS, tokenUrl, type ChartInfo } from './api'
import { askName, identity, storedName } from './identity'
import { SavedTracker } from './saved'
import { CaretInStep } from './selection'
import { appLink, clear, formatTime, h, setTitle, viewerZone, wsBase } from './util'

type Status = { text: string; kind: 'ok' | 'busy' | 'warn' | 'error' }

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

export function chartPage(root: HTMLElement, chartId: string, token: string | null): () => void {
  clear(root)
  setTitle('Chart')

  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${wsBase()}/sync`, chartId, doc, {
    params: token ? { token } : {},
    // Every tab talks to the server itself, so "saved" means the server.
    disableBc: true,
  })
  const saved = new SavedTracker(doc, provider)

  let readOnly = false
  let deniedReason: string | null = null
  let everConnected = false
  let failedAttempts = 0
  let me = identity(storedName() ?? 'Guest')

  // ---- layout ---------------------------------------------------------------
  const title = h('h1', { class: 'chart-title', id: 'chart-title' }, 'Flip chart')
  const subtitle = h('p', { class: 'chart-sub muted' })
  const stateBadge = h('span', { class: 'badge', hidden: true })
  const statusEl = h('span', { class: 'status status-busy', id: 'save-status', role: 'status' }, 'Connecting…')
  const notice = h('div', { class: 'notice', id: 'chart-notice', hidden: true, role: 'alert' })
  const presenceList = h('ul', { class: 'presence', id: 'presence', 'aria-label': 'Who is here' })
  const meButton = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'change-name' })
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Formatting', 'aria-controls': 'editor' })
  const editorHost = h('div', { class: 'editor-host', id: 'editor' })
  const participantsList = h('ul', { class: 'participants', id: 'participants' })
  const participantInput = h('input', {
    type: 'text',
    id: 'participant-name',
    maxlength: 80,
    placeholder: 'Name',
    autocomplete: 'off',
  })
  const participantForm = h(
    'form',
    { class: 'row participant-form', id: 'participant-form' },
    h('label', { for: 'participant-name', class: 'sr-only' }, 'Add a participant'),
    participantInput,
    h('button', { type: 'submit', class: 'btn btn-small' }, 'Add'),
  )
  const addMe = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'add-me' }, 'Add me')
  const exportLinks = h(
    'ul',
    { class: 'exports', id: 'exports' },
    EXPORT_FORMATS.map((f) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            class: 'btn btn-small',
            href: tokenUrl(`/charts/${encodeURIComponent(chartId)}/export.${f.ext}`, token),
            ...(f.ext === 'html' ? { target: '_blank', rel: 'noopener' } : { download: '' }),
            'data-format': f.ext,
          },
          f.label,
        ),
      ),
    ),
  )
  const backLink = h('a', { class: 'back', hidden: true }, '← Agenda')

  root.append(
    h(
      'div',
      { class: 'chart-page' },
      h(
        'div',
        { class: 'chart-head' },
        h('div', {}, backLink, title, subtitle, stateBadge),
        h('div', { class: 'chart-status' }, statusEl, meButton),
      ),
      notice,
      h(
        'div',
        { class: 'chart-layout' },
        h(
          'section',
          { class: 'paper', 'aria-labelledby': 'chart-title' },
          toolbar,
          editorHost,
        ),
        h(
          'aside',
          { class: 'chart-side' },
          h('section', { 'aria-labelledby': 'here-h' }, h('h2', { id: 'here-h' }, 'Here now'), presenceList),
          h(
            'section',
            { 'aria-labelledby': 'participants-h' },
            h('h2', { id: 'participants-h' }, 'Participants'),
            participantsList,
            participantForm,
            addMe,
          ),
          h('section', { 'aria-labelledby': 'export-h' }, h('h2', { id: 'export-h' }, 'Export'), exportLinks),
        ),
      ),
    ),
  )

  // ---- editor ---------------------------------------------------------------
  // The editor is made once the chart's notes are known: after the
  // provider's first sync. Made earlier, it shows an empty page that can be
  // typed into, and what is typed there lands wherever the merge puts it
  // once the template arrives (after the task list), not where it was typed.
  // Reconnects keep the editor: the doc is already here and offline edits
  // merge on reconnect. (A future local store, e.g. IndexedDB, that loads
  // the notes before the network would make it here too.)
  let editor: Editor | null = null
  const editorLoading = h('p', { class: 'editor-loading muted', role: 'status' }, 'Loading the notes…')
  editorHost.appendChild(editorLoading)
  function createEditor(): void {
    if (editor || disposed) return
    editorLoading.remove()
    editor = new Editor({
      element: editorHost,
      editable: !readOnly,
      extensions: [
        StarterKit.configure({
          undoRedo: false, // Collaboration brings its own (per-user) undo
          underline: false, // not in the chart schema
          trailingNode: false, // would write to the chart just by opening it
          link: { openOnClick: false, autolink: true, protocols: ['http', 'https', 'mailto'] },
        }),
        Highlight,
        TaskList,
        TaskItem.configure({ nested: true }),
        Collaboration.configure({ document: doc, field: 'notes' }),
        CollaborationCaret.configure({ provider, user: me, render: caret }),
        CaretInStep.configure({ document: doc }),
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
    editor.on('selectionUpdate', refreshToolbar)
    editor.on('transaction', refreshToolbar)
    refreshToolbar()
  }
  const onSync = (synced: boolean) => {
    if (!synced) return
    provider.off('sync', onSync)
    createEditor()
  }

  type Btn = { label: string; icon: string; run: (e: Editor) => void; active?: (e: Editor) => boolean; key?: string }
  const buttons: Btn[] = [
    { label: 'Bold', icon: 'B', key: 'Ctrl+B', run: (editor) => editor.chain().focus().toggleBold().run(), active: (editor) => editor.isActive('bold') },
    { label: 'Italic', icon: 'I', key: 'Ctrl+I', run: (editor) => editor.chain().focus().toggleItalic().run(), active: (editor) => editor.isActive('italic') },
    { label: 'Strikethrough', icon: 'S', run: (editor) => editor.chain().focus().toggleStrike().run(), active: (editor) => editor.isActive('strike') },
    { label: 'Highlight', icon: 'A', run: (editor) => editor.chain().focus().toggleHighlight().run(), active: (editor) => editor.isActive('highlight') },
    { label: 'Heading', icon: 'H', run: (editor) => editor.chain().focus().toggleHeading({ level: 2 }).run(), active: (editor) => editor.isActive('heading') },
    { label: 'Bullet list', icon: '•', run: (editor) => editor.chain().focus().toggleBulletList().run(), active: (editor) => editor.isActive('bulletList') },
    // "1." is drawn by the stylesheet: as text it would read as a label ("one") that is not
    // the button's name (WCAG 2.5.3, label in name); it is an icon.
    { label: 'Numbered list', icon: '', run: (editor) => editor.chain().focus().toggleOrderedList().run(), active: (editor) => editor.isActive('orderedList') },
    { label: 'Action items', icon: '☑', run: (editor) => editor.chain().focus().toggleTaskList().run(), active: (editor) => editor.isActive('taskList') },
    { label: 'Quote', icon: '❝', run: (editor) => editor.chain().focus().toggleBlockquote().run(), active: (editor) => editor.isActive('blockquote') },
    {
      label: 'Link',
      icon: 'Link',
      run: (editor) => {
        const prev = editor.getAttributes('link').href as string | undefined
        const href = window.prompt('Link address (https://…)', prev ?? 'https://')
        if (href === null) return
        if (href.trim() === '') editor.chain().focus().unsetLink().run()
        else editor.chain().focus().extendMarkRange('link').setLink({ href: href.trim() }).run()
      },
      active: (editor) => editor.isActive('link'),
    },
    { label: 'Undo', icon: '↶', key: 'Ctrl+Z', run: (editor) => editor.chain().focus().undo().run() },
    { label: 'Redo', icon: '↷', key: 'Ctrl+Shift+Z', run: (editor) => editor.chain().focus().redo().run() },
  ]
  const buttonEls = buttons.map((b) => {
    const el = h(
      'button',
      {
        type: 'button',
        class: `tool tool-${b.label.toLowerCase().replace(/\s+/g, '-')}`,
        title: b.key ? `${b.label} (${b.key})` : b.label,
        'aria-label': b.label,
        'aria-pressed': b.active ? 'false' : null,
        onclick: () => {
          if (editor) b.run(editor)
        },
      },
      b.icon,
    )
    toolbar.appendChild(el)
    return el
  })
  function refreshToolbar(): void {
    buttons.forEach((b, i) => {
      if (b.active) buttonEls[i].setAttribute('aria-pressed', String(editor ? b.active(editor) : false))
    })
  }

  // ---- read-only --------------------------------------------------------------
  function setReadOnly(reason: string | null): void {
    readOnly = true
    editor?.setEditable(false)
    toolbar.hidden = true
    participantForm.hidden = true
    addMe.hidden = true
    document.body.classList.add('is-readonly')
    renderParticipants()
    if (reason) showNotice(reason, 'info')
    renderStatus()
  }

  function showNotice(text: string, kind: 'info' | 'error'): void {
    notice.hidden = false
    notice.className = `notice notice-${kind}`
    notice.textContent = text
    // Refused before the first sync: the notes are not coming (a later
    // sync, after a reconnect, still replaces this with the editor).
    if (kind === 'error' && !editor) editorLoading.textContent = 'The notes could not be loaded.'
  }

  // The server answers an update it refuses with a y-websocket "permission
  // denied" auth message (read-only link, final chart, chart full).
  provider.messageHandlers[2] = (_enc, decoder) => {
    const type = decoderReadUint(decoder)
    if (type === 0) {
      deniedReason = decoderReadString(decoder)
      if (readOnly) renderStatus()
      else setReadOnly(`The server refused a change: ${deniedReason}`)
    }
  }

  // ---- connection status -------------------------------------------------------
  function renderStatus(): void {
    const pending = !saved.allSaved()
    let s: Status
    if (provider.wsconnected && provider.synced) {
      if (!pending) s = { text: readOnly ? 'Read-only · live' : 'Saved', kind: 'ok' }
      else if (deniedReason) s = { text: 'Not saved: refused by the server', kind: 'error' }
      else s = { text: 'Saving…', kind: 'busy' }
    } else if (provider.wsconnected) {
      s = { text: 'Syncing…', kind: 'busy' }
    } else if (!everConnected) {
      s = { text: provider.shouldConnect ? 'Connecting…' : 'Not connected', kind: provider.shouldConnect ? 'busy' : 'error' }
    } else {
      s = pending
        ? { text: 'Offline · unsaved changes kept in this tab', kind: 'warn' }
        : { text: 'Offline · reconnecting…', kind: 'warn' }
    }
    statusEl.textContent = s.text
    statusEl.className = `status status-${s.kind}`
    statusEl.dataset.state = s.text === 'Saved' ? 'saved' : s.kind
  }
  saved.onChange(renderStatus)
  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      everConnected = true
      failedAttempts = 0
    }
    renderStatus()
  })
  provider.on('connection-close', (event) => {
    if (!everConnected || !provider.wsconnected) failedAttempts++
    // A refused upgrade (bad token: HTTP 401/403) looks like a plain network
    // failure to the browser; ask the API why, once it keeps failing.
    if (failedAttempts === 2) void checkAccess()
    if (event && event.code === 4401) {
      provider.disconnect()
      showNotice('This link was revoked. Ask the organizer for a new one.', 'error')
      setReadOnly(null)
    }
    renderStatus()
  })
  provider.on('closed', ({ code, reason }) => {
    if (code !== 4401) showNotice(`The server closed the chart: ${reason || code}`, 'error')
    renderStatus()
  })

  async function checkAccess(): Promise<void> {
    try {
      await api<ChartInfo>('GET', `/charts/${encodeURIComponent(chartId)}`, token)
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        provider.disconnect()
        showNotice(describeError(e), 'error')
        setReadOnly(null)
      }
    }
  }

  const onBeforeUnload = (e: BeforeUnloadEvent) => {
    if (!readOnly && !saved.allSaved()) e.preventDefault()
  }
  window.addEventListener('beforeunload', onBeforeUnload)

  // ---- presence ----------------------------------------------------------------
  function setMe(name: string): void {
    me = identity(name)
    meButton.textContent = `You: ${name}`
    // The visible text starts the accessible name, so speech users can say what they see.
    meButton.setAttribute('aria-label', `You: ${name}. Change your name`)
    // What CollaborationCaret's updateUser does, without needing the editor.
    provider.awareness.setLocalStateField('user', me)
  }
  meButton.addEventListener('click', async () => {
    const n = await askName(storedName(), 'Others see this name next to your cursor.')
    if (n) setMe(n)
  })
  setMe(me.name)

  function renderPresence(): void {
    clear(presenceList)
    type Person = { key: string; name: string; color: unknown; mine: boolean }
    // One entry per person: clients carrying the same browser id (a reload
    // whose old connection is still closing, a second tab) are one person.
    // Clients that send no id (other Yjs apps) count one per client.
    const people = new Map<string, Person>()
    for (const [id, st] of provider.awareness.getStates()) {
      const user = (st as { user?: { name?: unknown; color?: unknown; id?: unknown } }).user
      if (!user || typeof user.name !== 'string') continue
      const key = typeof user.id === 'string' && user.id ? `b:${user.id}` : `c:${id}`
      const mine = id === doc.clientID
      const seen = people.get(key)
      // Our own state names the entry if it is among them, else the first seen.
      if (!seen || mine) people.set(key, { key, name: user.name.slice(0, 60), color: user.color, mine: mine || !!seen?.mine })
    }
    const list = [...people.values()].sort((a, b) =>
      a.mine ? -1 : b.mine ? 1 : a.name.localeCompare(b.name),
    )
    for (const p of list) {
      const color = /^#[0-9a-fA-F]{6}$/.test(String(p.color)) ? String(p.color) : '#666666'
      const dot = h('span', { class: 'dot', 'aria-hidden': 'true' })
      dot.style.background = color
      presenceList.appendChild(
        h('li', { 'data-name': p.name }, dot, p.name, p.mine ? h('span', { class: 'muted' }, ' (you)') : null),
      )
    }
  }
  provider.awareness.on('change', renderPresence)
  renderPresence()

  // ---- participants (meta.participants) ------------------------------------------
  const meta = doc.getMap('meta')
  function participantsArray(create: boolean): Y.Array<string> | null {
    const a = meta.get('participants')
    if (a instanceof Y.Array) return a as Y.Array<string>
    if (!create) return null
    const fresh = new Y.Array<string>()
    meta.set('participants', fresh)
    return fresh
  }
  function names(): string[] {
    const a = participantsArray(false)
    return a ? a.toArray().filter((n): n is string => typeof n === 'string') : []
  }
  function addParticipant(name: string): void {
    const n = name.trim()
    if (!n || readOnly) return
    if (names().some((x) => x.toLowerCase() === n.toLowerCase())) return
    doc.transact(() => participantsArray(true)!.push([n]))
  }
  function renderParticipants(): void {
    clear(participantsList)
    const list = names()
    if (list.length === 0) participantsList.appendChild(h('li', { class: 'muted' }, 'Nobody listed yet'))
    list.forEach((n, i) => {
      participantsList.appendChild(
        h(
          'li',
          {},
          h('span', {}, n),
          readOnly
            ? null
            : h(
                'button',
                {
                  type: 'button',
                  class: 'btn-icon',
                  'aria-label': `Remove ${n}`,
                  title: `Remove ${n}`,
                  onclick: () => {
                    const a = participantsArray(false)
                    if (a && a.get(i) === n) a.delete(i, 1)
                  },
                },
                '×',
              ),
        ),
      )
    })
    addMe.hidden = readOnly || list.some((x) => x.toLowerCase() === me.name.toLowerCase())
  }
  meta.observeDeep(renderParticipants)
  renderParticipants()
  participantForm.addEventListener('submit', (e) => {
    e.preventDefault()
    addParticipant(participantInput.value)
    participantInput.value = ''
    participantInput.focus()
  })
  addMe.addEventListener('click', () => addParticipant(me.name))

  // ---- chart info (topic, session, access) ----------------------------------------
  let disposed = false
  void (async () => {
    try {
      const info = await api<ChartInfo>('GET', `/charts/${encodeURIComponent(chartId)}`, token)
      if (disposed) return
      const topic = info.session?.topic ?? 'Flip chart'
      title.textContent = topic
      setTitle(topic, info.conference_name)
      const bits: string[] = []
      if (info.space) bits.push(info.space.name)
      if (info.round) bits.push(`${formatTime(info.round.starts_at, viewerZone())}–${formatTime(info.round.ends_at, viewerZone())}`)
      if (info.session?.convener) bits.push(`convened by ${info.session.convener}`)
      subtitle.textContent = [info.conference_name, ...bits].join(' · ')
      backLink.hidden = false
      backLink.setAttribute('href', appLink(`/conference/${info.conference_id}`, token))
      if (info.session) {
        stateBadge.hidden = false
        stateBadge.textContent = info.session.state
        stateBadge.className = `badge badge-${info.session.state}`
      }
      if (info.read_only) {
        const why = info.merged_into
          ? 'This session was merged into another one; its chart is read-only.'
          : info.session?.state === 'final'
            ? 'This chart is final: it is part of the proceedings and can no longer be edited.'
            : !info.session && info.role !== 'read' && info.role !== null
              ? 'This session was cancelled; its chart is kept, read-only.'
            : info.role === 'read' || info.role === null
              ? 'You are viewing this chart with a read-only link.'
              : 'This chart is read-only.'
        setReadOnly(why)
      } else if (!storedName()) {
        const n = await askName(null, 'Others in this session see it next to your cursor. It is kept in this browser.')
        if (n && !disposed) setMe(n)
      }
    } catch (e) {
      if (disposed) return
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        provider.disconnect()
        showNotice(describeError(e), 'error')
        setReadOnly(null)
      } else if (!storedName()) {
        // No chart info (e.g. a chart outside any conference): still editable.
        const n = await askName(null, 'Others see this name next to your cursor.')
        if (n && !disposed) setMe(n)
      }
    }
  })()

  renderStatus()
  if (provider.synced) createEditor()
  else provider.on('sync', onSync)
  // Expose for the browser tests (read-only inspection, no behaviour).
  ;(window as unknown as { easelChart?: unknown }).easelChart = {
    doc,
    provider,
    saved,
    get editor() {
      return editor
    },
  }

  return () => {
    disposed = true
    window.removeEventListener('beforeunload', onBeforeUnload)
    document.body.classList.remove('is-readonly')
    provider.awareness.off('change', renderPresence)
    provider.off('sync', onSync)
    editor?.destroy()
    provider.destroy()
    saved.destroy()
    doc.destroy()
  }
}

// Minimal lib0 reads for the auth message (avoid exposing decoder types).
import * as decoding from 'lib0/decoding'
function decoderReadUint(d: unknown): number {
  return decoding.readVarUint(d as decoding.Decoder)
}
function decoderReadString(d: unknown): string {
  return decoding.readVarString(d as decoding.Decoder)
}
