// The chart page: one flip chart, edited live by everyone in the session.
//
// The Y.Doc schema is docs/chart-schema.md: XmlFragment `notes` (TipTap's
// Collaboration with field 'notes') and `meta.participants` (Y.Array of
// names). The server seeds new charts with the report template.
//
// This file wires the page together; the parts live in ./chart/: the
// editor and toolbar, presence, participants, exports, the share action,
// the status line, the token's storage and the session's time; the board
// (sticky notes and ink, ./chart/board/) is the second tab. The page
// also follows the session live on the conference's event stream (a
// session made final or reopened while people type) and keeps the chart in
// IndexedDB so that edits made offline survive closing the tab.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import type { Editor } from '@tiptap/core'

import { api, ApiError, type ChartInfo, type ConferenceView, type Role, type SessionView } from './api'
import { askName, identity, storedName } from './identity'
import { SavedTracker } from './saved'
import { appLink, clear, downloadFromApi, h, setTitle, toast, viewerZone, wsBase } from './util'
import { buildToolbar, createEditor } from './chart/editor'
import { showPlace } from './chart/place'
import { exportList } from './chart/exports'
import { historyPanel } from './chart/history'
import { dotsSection } from './chart/dots'
import type { Votes } from './votes'
import { Participants, watchOwnEdits } from './chart/participants'
import { renderPresence } from './chart/presence'
import { renderShare } from './chart/share'
import { chartStatus } from './chart/status'
import { chartToken, forgetChartToken } from './chart/token'
import { sessionWhen } from './chart/when'
import { Board } from './chart/board/board'

/** Reason prefixes of the server's "permission denied" (crates/hub). */
const DENIED_FINAL = 'read-only: the session is final'
const DENIED_LINK = 'read-only: this chart cannot be edited with your link'
/** Which tab (notes or board) this browser showed last. */
const VIEW_KEY = 'easel.chartView'

export function chartPage(root: HTMLElement, chartId: string, tokenInAddress: string | null): () => void {
  clear(root)
  setTitle('Chart')
  const token = chartToken(chartId, tokenInAddress)

  const doc = new Y.Doc()
  // Loaded before the network answers, so the notes (and edits made offline
  // in an earlier visit) are there at once; its updates go to the server
  // like any local change.
  const local = new IndexeddbPersistence(`easel-chart-${chartId}`, doc)
  const provider = new WebsocketProvider(`${wsBase()}/sync`, chartId, doc, {
    params: token ? { token } : {},
    // Every tab talks to the server itself, so "saved" means the server.
    disableBc: true,
  })
  const saved = new SavedTracker(doc, provider, {
    onHung: () => {
      // Drop the hung socket at once and dial again (with the provider's
      // backoff while the network is away).
      provider.disconnect()
      provider.connect()
    },
  })
  const participants = new Participants(doc)

  let disposed = false
  let info: ChartInfo | null = null
  let conference: ConferenceView | null = null
  let everConnected = false
  let failedAttempts = 0
  let unreachable = false
  let fatal: string | null = null
  let deniedReason: string | null = null
  let me = identity(storedName() ?? 'Guest')
  let events: EventSource | null = null
  let retryTimer = 0
  // Why the chart is read-only; it is editable when none holds.
  const ro = { link: false, final: false, merged: false, cancelled: false, refused: false, fatal: false }
  let readOnly = false

  // ---- layout ---------------------------------------------------------------
  const title = h('h1', { class: 'chart-title', id: 'chart-title' }, 'Flip chart')
  const subtitle = h('p', { class: 'chart-sub muted', id: 'chart-sub' })
  const when = h('p', { class: 'chart-when', id: 'chart-when', hidden: true })
  const stateBadge = h('span', { class: 'badge', id: 'session-state', hidden: true })
  const statusEl = h('span', { class: 'status status-busy', id: 'save-status', role: 'status' }, 'Connecting…')
  const notice = h('div', { class: 'notice', id: 'chart-notice', hidden: true, role: 'alert' })
  const presenceList = h('ul', { class: 'presence', id: 'presence', 'aria-label': 'Who is here' })
  const meButton = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'change-name' })
  const shareButton = h(
    'button',
    { type: 'button', class: 'btn btn-small', id: 'share', hidden: true, 'aria-expanded': 'false', 'aria-controls': 'share-panel' },
    'Share',
  )
  const sharePanel = h('section', { class: 'share-panel', id: 'share-panel', hidden: true, 'aria-labelledby': 'share-h' })
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
  const exportSection = h(
    'section',
    { 'aria-labelledby': 'export-h', id: 'export-section' },
    h('h2', { id: 'export-h' }, 'Export'),
    exportList(chartId, token),
  )
  const backLink = h('a', { class: 'back', hidden: true }, '← Agenda')
  const history = historyPanel(chartId, token)

  // ---- notes and board, as two tabs ---------------------------------------------
  const board = new Board(doc, { awareness: provider.awareness, me: () => me })
  const tabNotes = h('button', { type: 'button', role: 'tab', id: 'tab-notes', 'aria-controls': 'notes-panel' }, 'Notes')
  const tabBoard = h('button', { type: 'button', role: 'tab', id: 'tab-board', 'aria-controls': 'board-panel' }, 'Board')
  const notesPanel = h('div', { class: 'notes-panel', role: 'tabpanel', id: 'notes-panel', 'aria-labelledby': 'tab-notes' }, toolbar, editorHost)
  const boardPanel = h('div', { class: 'board-panel', role: 'tabpanel', id: 'board-panel', 'aria-labelledby': 'tab-board' }, board.el)
  function showTab(which: 'notes' | 'board', focus = false): void {
    const isBoard = which === 'board'
    tabNotes.setAttribute('aria-selected', String(!isBoard))
    tabBoard.setAttribute('aria-selected', String(isBoard))
    tabNotes.tabIndex = isBoard ? -1 : 0
    tabBoard.tabIndex = isBoard ? 0 : -1
    notesPanel.hidden = isBoard
    boardPanel.hidden = !isBoard
    if (focus) (isBoard ? tabBoard : tabNotes).focus()
    try {
      localStorage.setItem(VIEW_KEY, which)
    } catch {
      /* private mode: the tab is not remembered */
    }
  }
  tabNotes.addEventListener('click', () => showTab('notes'))
  tabBoard.addEventListener('click', () => showTab('board'))
  const tabs = h('div', { class: 'chart-tabs', role: 'tablist', 'aria-label': 'Notes or board' }, tabNotes, tabBoard)
  tabs.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
      e.preventDefault()
      const toBoard = e.key === 'End' || ((e.key === 'ArrowRight' || e.key === 'ArrowLeft') && tabNotes.getAttribute('aria-selected') === 'true')
      showTab(toBoard ? 'board' : 'notes', true)
    }
  })
  let remembered: string | null = null
  try {
    remembered = localStorage.getItem(VIEW_KEY)
  } catch {
    /* private mode */
  }
  showTab(remembered === 'board' ? 'board' : 'notes')
  // How the action register reads owners and due dates (crates/chart
  // src/actions.rs): typed inline, so any editor can write them.
  const actionHint = h(
    'p',
    { class: 'hint action-hint', id: 'action-hint' },
    'Action items: type ',
    h('code', {}, '@Name'),
    ' for who does it (',
    h('code', {}, '@Ana_Lima'),
    ' for two words) and ',
    h('code', {}, 'due 2026-12-10'),
    ' or ',
    h('code', {}, 'by 2026-12-10'),
    ' for when.',
  )
  notesPanel.append(actionHint)
  const dots = dotsSection(doc)
  let votes: Votes | null = null

  root.append(
    h(
      'div',
      { class: 'chart-page' },
      h(
        'div',
        { class: 'chart-head' },
        h('div', {}, backLink, title, subtitle, when, stateBadge),
        h('div', { class: 'chart-status' }, statusEl, meButton, shareButton),
      ),
      notice,
      sharePanel,
      h(
        'div',
        { class: 'chart-layout' },
        h('section', { class: 'paper', 'aria-labelledby': 'chart-title' }, tabs, notesPanel, boardPanel),
        h(
          'aside',
          { class: 'chart-side' },
          h('section', { 'aria-labelledby': 'here-h' }, h('h2', { id: 'here-h' }, 'Here now'), presenceList),
          dots.el,
          h(
            'section',
            { 'aria-labelledby': 'participants-h' },
            h('h2', { id: 'participants-h' }, 'Participants'),
            participantsList,
            participantForm,
            addMe,
          ),
          exportSection,
        ),
      ),
      history.element,
    ),
  )

  // ---- editor ---------------------------------------------------------------
  // The editor is made once the chart's notes are known: after the
  // provider's first sync, or once the local store has them. Made earlier,
  // it shows an empty page that can be typed into, and what is typed there
  // lands wherever the merge puts it once the template arrives (after the
  // task list), not where it was typed. Reconnects keep the editor: the doc
  // is already here and offline edits merge on reconnect.
  let editor: Editor | null = null
  const editorLoading = h('p', { class: 'editor-loading muted', role: 'status' }, 'Loading the notes…')
  editorHost.appendChild(editorLoading)
  const refreshToolbar = buildToolbar(toolbar, () => editor)
  function makeEditor(): void {
    if (editor || disposed || fatal) return
    editorLoading.remove()
    editor = createEditor(editorHost, doc, provider, me, !readOnly)
    editor.on('selectionUpdate', refreshToolbar)
    editor.on('transaction', refreshToolbar)
    refreshToolbar()
    stopPlace = showPlace(() => editor)
  }
  // The place a search hit named (`?at=`), and another one while the
  // chart is open already.
  let stopPlace = () => {}
  const onHashChange = () => {
    stopPlace()
    stopPlace = showPlace(() => editor)
  }
  window.addEventListener('hashchange', onHashChange)
  const onSync = (synced: boolean) => {
    if (!synced) return
    provider.off('sync', onSync)
    makeEditor()
    board.start()
  }
  void local.whenSynced.then(() => {
    if (!disposed && doc.getXmlFragment('notes').length > 0) makeEditor()
  })

  // ---- read-only and notices -------------------------------------------------
  function showNotice(text: string | null, kind: 'info' | 'error' = 'info'): void {
    notice.hidden = !text
    notice.className = `notice notice-${kind}`
    notice.textContent = text ?? ''
  }

  function readOnlyWhy(): string | null {
    if (ro.merged) return 'This session was merged into another one; its chart is read-only.'
    if (ro.cancelled) return 'This session was cancelled; its chart is kept, read-only.'
    if (ro.final) return 'This session is final: the notes are read-only.'
    if (ro.link) return 'You are viewing this chart with a read-only link.'
    if (ro.refused) return `The server refused a change: ${deniedReason ?? ''}`
    return null
  }

  function applyReadOnly(): void {
    readOnly = Object.values(ro).some(Boolean)
    editor?.setEditable(!readOnly)
    toolbar.hidden = readOnly
    // The board's maps are made only once the role is known: a read link must not write.
    board.setReadOnly(readOnly || !info)
    participantForm.hidden = readOnly
    history.setAccess(!readOnly)
    document.body.classList.toggle('is-readonly', readOnly)
    renderParticipants()
    if (!fatal) showNotice(readOnlyWhy())
    renderStatus()
  }

  /** The page cannot work: say why, plainly, and stop trying. */
  function fail(status: string, message: string, opts: { hideExports?: boolean } = {}): void {
    fatal = status
    ro.fatal = true
    provider.disconnect()
    events?.close()
    events = null
    clearTimeout(retryTimer)
    shareButton.hidden = true
    sharePanel.hidden = true
    if (opts.hideExports) exportSection.hidden = true
    if (!editor) editorLoading.textContent = 'The notes could not be loaded.'
    applyReadOnly()
    showNotice(message, 'error')
  }

  saved.onDenied((reason) => {
    deniedReason = reason
    if (reason.startsWith(DENIED_FINAL)) {
      ro.final = true
      showBadge('final')
    } else if (reason.startsWith(DENIED_LINK)) {
      // The server treats every read-only connection alike; for an edit
      // link that is a chart made read-only meanwhile (its state comes on
      // the event stream), not the link.
      const editLink = info?.role === 'edit' || info?.role === 'organizer'
      if (!editLink && !ro.final && !ro.merged && !ro.cancelled) ro.link = true
    } else {
      ro.refused = true
    }
    applyReadOnly()
  })

  // ---- connection status -------------------------------------------------------
  function renderStatus(): void {
    const s = chartStatus({
      fatal,
      connected: provider.wsconnected,
      synced: provider.synced,
      everConnected,
      shouldConnect: provider.shouldConnect,
      unreachable,
      pending: !saved.allSaved(),
      readOnly,
      final: ro.final,
      refused: deniedReason !== null,
    })
    statusEl.textContent = s.text
    statusEl.className = `status status-${s.kind}`
    statusEl.dataset.state = s.text === 'Saved' ? 'saved' : s.kind
  }
  saved.onChange(renderStatus)
  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      everConnected = true
      failedAttempts = 0
      if (unreachable) {
        unreachable = false
        if (!info) void loadInfo()
      }
    }
    renderStatus()
  })
  provider.on('connection-close', () => {
    if (!provider.wsconnected) failedAttempts++
    // A refused upgrade (bad token: HTTP 401/403) looks like a plain network
    // failure to the browser; ask the API why, once it keeps failing.
    if (failedAttempts === 2 && !fatal) void loadInfo()
    renderStatus()
  })
  // y-websocket stops reconnecting on close codes 4400-4499 and says so here.
  provider.on('closed', ({ code, reason }) => {
    if (code === 4401) {
      forgetChartToken(chartId)
      fail('Your link was revoked', 'Your link was revoked. Ask the organizer for a new one.')
    } else if (code === 4410) {
      void local.clearData()
      backLink.hidden = true
      fail('This chart was deleted', 'This chart was deleted, with its conference. There is nothing left to edit or export.', {
        hideExports: true,
      })
    } else {
      fail('Closed by the server', `The server closed the chart: ${reason || code}`)
    }
  })

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
  // Pointers on the board change the awareness states ten times a second per
  // person; the list is redrawn only when who is here changed.
  let presenceKey = ''
  const onAwareness = () => {
    const key = JSON.stringify([...provider.awareness.getStates()].map(([id, st]) => [id, (st as { user?: unknown }).user]))
    if (key === presenceKey) return
    presenceKey = key
    renderPresence(presenceList, provider.awareness, doc.clientID)
  }
  provider.awareness.on('change', onAwareness)
  onAwareness()

  // ---- participants (meta.participants) ------------------------------------------
  function renderParticipants(): void {
    clear(participantsList)
    const list = participants.names()
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
                  onclick: () => participants.remove(i, n),
                },
                '×',
              ),
        ),
      )
    })
    addMe.hidden = readOnly || participants.has(me.name)
  }
  const unobserveParticipants = participants.observe(renderParticipants)
  renderParticipants()
  participantForm.addEventListener('submit', (e) => {
    e.preventDefault()
    if (!readOnly) participants.add(participantInput.value)
    participantInput.value = ''
    participantInput.focus()
  })
  addMe.addEventListener('click', () => {
    if (!readOnly) participants.add(me.name)
  })
  // Whoever writes in the notes or on the board took part: the proceedings
  // list them. Only under a name they gave (not "Guest"), once per name and
  // visit, so a name someone removed by hand is not forced back on every
  // keystroke.
  let listedAs: string | null = null
  const tookPart = () => {
    if (readOnly || !storedName() || listedAs === me.name) return
    listedAs = me.name
    // After this transaction: a nested transact would join the edit's.
    queueMicrotask(() => participants.add(me.name))
  }
  const unwatchEdits = watchOwnEdits(doc, [provider, local], tookPart)
  const onBoardEdit = (tr: Y.Transaction) => {
    if (tr.origin === board.model.origin) tookPart()
  }
  doc.on('afterTransaction', onBoardEdit)

  // ---- the session: chart info, then live from the event stream -------------------
  function showBadge(state: string): void {
    stateBadge.hidden = false
    stateBadge.textContent = state
    stateBadge.className = `badge badge-${state}`
  }

  function renderHead(): void {
    if (!info) return
    const session = info.session
    const topic = session?.topic ?? circleTitle(info) ?? 'Flip chart'
    title.textContent = topic
    setTitle(topic, info.conference_name)
    const bits: string[] = [info.conference_name]
    if (info.space) bits.push(info.space.name)
    if (session?.convener) bits.push(`convened by ${session.convener}`)
    subtitle.textContent = bits.join(' · ')
    when.hidden = !info.round
    if (info.round) {
      when.textContent = sessionWhen(info.round, viewerZone(), conference?.time_zone ?? null)
      if (session) {
        const path = `/conferences/${encodeURIComponent(info.conference_id)}/sessions/${encodeURIComponent(session.id)}/session.ics`
        when.append(
          ' · ',
          h(
            'button',
            {
              type: 'button',
              class: 'linklike',
              id: 'session-ics',
              'data-path': path,
              onclick: () => {
                downloadFromApi(path, token, 'session.ics').catch((e) => toast(String(e), 'error'))
              },
            },
            'Add to calendar',
          ),
        )
      }
    }
    if (session) showBadge(session.state)
    else stateBadge.hidden = true
  }

  /** A circle round's plenary chart has a round and no session. */
  function circleTitle(i: ChartInfo): string | null {
    if (i.session || !i.round || i.round.kind === 'breakout') return null
    const kind = i.round.kind === 'opening_circle' ? 'Opening circle' : 'Closing circle'
    return i.round.label && i.round.label !== kind ? `${kind}: ${i.round.label}` : kind
  }

  function applyInfo(next: ChartInfo): void {
    info = next
    renderHead()
    backLink.hidden = false
    backLink.setAttribute('href', appLink(`/conference/${next.conference_id}`, token))
    const session = next.session
    ro.merged = !!next.merged_into
    ro.cancelled = !session && !next.merged_into && circleTitle(next) === null
    ro.final = session?.state === 'final'
    ro.link = next.role === 'read' || next.role === null
    if (!ro.final && deniedReason?.startsWith(DENIED_FINAL)) deniedReason = null
    shareButton.hidden = false
    if (session && next.role) votes = dots.attach(next.conference_id, session.id, token)
    applyReadOnly()
  }

  /** An agenda event: follow our session's state, topic, place and time. */
  function onAgenda(conf: ConferenceView): void {
    conference = conf
    if (!info) return
    const session: SessionView | undefined = conf.sessions.find((s) => s.chart_id === chartId)
    if (!session) {
      // Cancelled, or merged into another: the chart info says which.
      if (info.session) void loadInfo()
      return
    }
    const wasFinal = ro.final
    info = {
      ...info,
      conference_name: conf.name,
      session,
      round: conf.rounds.find((r) => r.id === session.round_id) ?? info.round,
      space: conf.spaces.find((s) => s.id === session.space_id) ?? info.space,
    }
    renderHead()
    ro.final = session.state === 'final'
    if (wasFinal && !ro.final) {
      // Reopened: the server sends a fresh sync step 1, and our answer
      // carries what it refused meanwhile.
      deniedReason = null
      ro.refused = false
    }
    if (wasFinal !== ro.final) applyReadOnly()
  }

  function subscribe(conferenceId: string): void {
    if (events || disposed || !token || fatal) return
    events = new EventSource(`/api/v1/conferences/${encodeURIComponent(conferenceId)}/events?token=${encodeURIComponent(token)}`)
    events.addEventListener('agenda', (ev) => {
      try {
        onAgenda(JSON.parse((ev as MessageEvent).data) as ConferenceView)
      } catch {
        /* ignore a malformed event */
      }
    })
    events.addEventListener('votes', (ev) => {
      try {
        votes?.applyPublic(JSON.parse((ev as MessageEvent).data))
      } catch {
        /* ignore a malformed event */
      }
    })
  }

  async function loadInfo(): Promise<void> {
    clearTimeout(retryTimer)
    try {
      const next = await api<ChartInfo>('GET', `/charts/${encodeURIComponent(chartId)}`, token)
      if (disposed || fatal) return
      unreachable = false
      const first = !info
      applyInfo(next)
      subscribe(next.conference_id)
      if (first && !readOnly && !storedName()) {
        const n = await askName(null, 'Others in this session see it next to your cursor. It is kept in this browser.')
        if (n && !disposed) setMe(n)
      }
    } catch (e) {
      if (disposed || fatal) return
      const status = e instanceof ApiError ? e.status : 0
      if (status === 401) {
        forgetChartToken(chartId)
        if (token) fail('This link is not valid', 'This link is not valid: it may be mistyped or revoked. Ask the person who shared it for a new one.', { hideExports: true })
        else fail('A link is needed', 'This chart is not public: open it with the link you were given.', { hideExports: true })
      } else if (status === 403 || status === 404) {
        fail(
          'No such chart',
          'This chart does not exist (or it belongs to another conference than your link). Check the address you followed.',
          { hideExports: true },
        )
      } else {
        // The server is down or overloaded: say so and try again.
        unreachable = status === 0
        if (!editor) {
          editorLoading.textContent = unreachable
            ? 'Cannot reach the server. The notes will appear as soon as it answers.'
            : 'The server could not answer. Trying again…'
        }
        renderStatus()
        retryTimer = window.setTimeout(() => void loadInfo(), 3000)
      }
    }
  }
  void loadInfo()

  // ---- share ---------------------------------------------------------------------
  shareButton.addEventListener('click', () => {
    const open = sharePanel.hidden
    sharePanel.hidden = !open
    shareButton.setAttribute('aria-expanded', String(open))
    if (open) {
      renderShare(sharePanel, {
        chartId,
        conferenceId: info?.conference_id ?? null,
        token,
        role: (info?.role as Role | undefined) ?? null,
        topic: info?.session?.topic ?? 'Flip chart',
      })
      sharePanel.querySelector<HTMLElement>('input, button')?.focus()
    }
  })

  renderStatus()
  if (provider.synced) {
    makeEditor()
    board.start()
  } else provider.on('sync', onSync)
  // Expose for the browser tests (read-only inspection, no behaviour).
  ;(window as unknown as { easelChart?: unknown }).easelChart = {
    doc,
    provider,
    saved,
    local,
    board,
    get editor() {
      return editor
    },
  }

  return () => {
    disposed = true
    history.destroy()
    clearTimeout(retryTimer)
    dots.dispose()
    events?.close()
    window.removeEventListener('beforeunload', onBeforeUnload)
    window.removeEventListener('hashchange', onHashChange)
    stopPlace()
    document.body.classList.remove('is-readonly')
    provider.awareness.off('change', onAwareness)
    provider.off('sync', onSync)
    unobserveParticipants()
    unwatchEdits()
    doc.off('afterTransaction', onBoardEdit)
    editor?.destroy()
    board.destroy()
    provider.destroy()
    saved.destroy()
    void local.destroy()
    doc.destroy()
  }
}
