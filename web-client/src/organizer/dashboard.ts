// The organizer dashboard: every session with its state (overdue, empty,
// being written, final), its head count against the space's capacity and
// its last edit, nudge first. The server computes it
// (`GET .../dashboard`); this page reloads it when the conference's event
// stream says something changed (`agenda`, `presence`, `edited`) and every
// 30 s, since "overdue" moves with the clock.

import { api, ApiError, tokenProblem, type DashboardSessionView, type DashboardView } from '../api'
import { rememberCharts, rememberRole } from '../share'
import { appLink, clear, formatDay, formatSpan, formatTime, h, plural, setTitle, viewerZone, zoneAbbrev } from '../util'

const STATUS_LABEL: Record<string, string> = {
  overdue: 'Overdue',
  empty: 'Empty',
  writing: 'Being written',
  final: 'Final',
}

/** "just now", "4 min ago", "2 h ago". */
function ago(iso: string, now: number): string {
  const min = Math.floor((now - Date.parse(iso)) / 60000)
  if (min < 1) return 'just now'
  if (min < 60) return `${min} min ago`
  return `${Math.floor(min / 60)} h ago`
}

export function dashboardPage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Dashboard')
  const zone = viewerZone()
  const cid = encodeURIComponent(conferenceId)
  let events: EventSource | null = null
  let disposed = false
  let view: DashboardView | null = null
  let timer = 0
  let inFlight = false
  let again = false

  const heading = h('h1', {}, 'Dashboard')
  const live = h('span', { class: 'status status-busy', id: 'dash-live', role: 'status' }, 'Connecting…')
  const summary = h('p', { id: 'dash-summary', class: 'dash-summary' })
  const known = h('p', { class: 'muted small', id: 'dash-known' })
  const problem = h('div', { id: 'dash-problem' })
  const body = h('tbody', { id: 'dash-rows' })
  const table = h(
    'table',
    { class: 'dash-table', id: 'dash-table' },
    h('caption', { class: 'sr-only' }, 'Sessions, the ones that need a nudge first'),
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Session'), h('th', { scope: 'col' }, 'Where, when'), h('th', { scope: 'col' }, 'People'), h('th', { scope: 'col' }, 'Last edit')),
    ),
    body,
  )
  root.append(
    h(
      'div',
      { class: 'page wide' },
      h('a', { class: 'back', href: appLink(`/conference/${conferenceId}/organize`) }, '← Organize'),
      h('div', { class: 'conf-head' }, h('div', {}, heading, summary), h('div', { class: 'conf-live' }, live)),
      h('nav', { class: 'row wrap conf-nav', 'aria-label': 'Conference' }, h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}`) }, 'Agenda'), h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/news`) }, 'News wall')),
      problem,
      h('div', { class: 'table-wrap' }, table),
      known,
    ),
  )

  function row(s: DashboardSessionView, now: number): HTMLElement {
    const people = s.capacity ? `${s.head_count} / ${s.capacity}` : String(s.head_count)
    const full = s.capacity != null && s.head_count > s.capacity
    const last = s.last_edit_at ? h('time', { datetime: s.last_edit_at, title: formatTime(s.last_edit_at, zone) }, ago(s.last_edit_at, now)) : h('span', { class: 'muted' }, s.has_notes ? 'earlier' : 'none')
    return h(
      'tr',
      { class: `dash-row dash-${s.status}`, 'data-session': s.session_id, 'data-status': s.status },
      h('td', {}, h('span', { class: `badge badge-${s.status}` }, STATUS_LABEL[s.status] ?? s.status)),
      h(
        'td',
        {},
        h('a', { class: 'topic', href: appLink(`/chart/${s.chart_id}`) }, s.topic),
        h('div', { class: 'muted small' }, s.convener),
        s.nudge ? h('div', { class: 'dash-nudge small' }, s.nudge) : null,
      ),
      h('td', {}, h('div', {}, s.space), s.starts_at ? h('div', { class: 'muted small' }, `${formatDay(s.starts_at, zone)} ${formatSpan(s.starts_at, s.ends_at, zone)}`) : null),
      h('td', { class: full ? 'dash-full' : '' }, people, full ? h('span', { class: 'sr-only' }, ' (over capacity)') : null),
      h('td', {}, last),
    )
  }

  function render(): void {
    if (!view || disposed) return
    const now = Date.parse(view.now) || Date.now()
    heading.textContent = `Dashboard · ${view.name}`
    setTitle('Dashboard', view.name)
    rememberCharts(conferenceId, view.sessions.map((s) => s.chart_id))
    const count = (st: string) => view!.sessions.filter((s) => s.status === st).length
    summary.textContent =
      view.sessions.length === 0
        ? 'No sessions yet.'
        : `${count('overdue')} overdue · ${count('empty')} empty · ${count('writing')} being written · ${count('final')} final. Overdue: not final ${plural(view.overdue_after_minutes, 'minute')} after the round ended.`
    body.replaceChildren(...view.sessions.map((s) => row(s, now)))
    known.textContent = view.edits_known_since
      ? `Times in your zone, ${zone} (${zoneAbbrev(view.now, zone)}). Last edits are known since ${formatDay(view.edits_known_since, zone)} ${formatTime(view.edits_known_since, zone)}, when the server started; "earlier" means notes written before then. Whether a chart is empty comes from its stored notes.`
      : `Times in your zone, ${zone}.`
  }

  async function load(): Promise<void> {
    if (inFlight) {
      again = true
      return
    }
    inFlight = true
    try {
      view = await api<DashboardView>('GET', `/conferences/${cid}/dashboard`, token)
      if (disposed) return
      problem.replaceChildren()
      render()
    } catch (e) {
      if (disposed) return
      const msg =
        e instanceof ApiError && e.status === 403
          ? 'This link cannot see the dashboard: it is for organizers only.'
          : tokenProblem(e, 'the dashboard')
      problem.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, msg))
      live.textContent = 'Not connected'
      live.className = 'status status-error'
      events?.close()
      return
    } finally {
      inFlight = false
    }
    if (token) rememberRole(token, 'organizer')
    if (again) {
      again = false
      void load()
    }
  }

  /** Bursts of events cost one reload. */
  let pending = 0
  function soon(): void {
    if (pending) return
    pending = window.setTimeout(() => {
      pending = 0
      void load()
    }, 250)
  }

  function subscribe(): void {
    if (!token) return
    events = new EventSource(`/api/v1/conferences/${cid}/events?token=${encodeURIComponent(token)}`)
    for (const name of ['agenda', 'presence', 'edited']) events.addEventListener(name, soon)
    events.onopen = () => {
      live.textContent = 'Live'
      live.className = 'status status-ok'
    }
    events.onerror = () => {
      live.textContent = events?.readyState === EventSource.CLOSED ? 'Not live' : 'Reconnecting…'
      live.className = 'status status-warn'
    }
  }

  void load().then(() => {
    if (!disposed && view) subscribe()
  })
  timer = window.setInterval(() => void load(), 30000)
  return () => {
    disposed = true
    clearInterval(timer)
    clearTimeout(pending)
    events?.close()
  }
}
