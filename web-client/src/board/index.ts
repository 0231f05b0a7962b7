// The agenda board: rounds × spaces in the viewer's time zone, live over
// server-sent events (each `agenda` event carries the whole conference,
// `presence` events the head count per chart). The page owns the state
// and the event stream; the grid (grid.ts) and the propose form
// (propose.ts) update their own parts of the page.

import { api, ApiError, tokenProblem, type ConferenceView, type LinkView, type PresenceView, type Role } from '../api'
import { knownRole, rememberCharts, rememberRole, shareButton } from '../share'
import { append, appLink, clear, downloadFromApi, h, setTitle, toast, viewerZone, zoneAbbrev } from '../util'
import { BoardGrid } from './grid'
import { ProposeForm } from './propose'
import { rememberPosterKey } from './poster'
import { Votes, votesBar } from '../votes'
import { searchBox } from '../search'

export function conferencePage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Agenda')
  const zone = viewerZone()
  let conf: ConferenceView | null = null
  let role: Role | null = knownRole(token)
  let events: EventSource | null = null
  let disposed = false

  const heading = h('h1', { id: 'conf-title' }, 'Agenda')
  const desc = h('p', { class: 'muted' })
  const zoneNote = h('p', { class: 'zone-note', id: 'zone-note' })
  const live = h('span', { class: 'status status-busy', id: 'live-status', role: 'status' }, 'Connecting…')
  const nav = h('nav', { class: 'row wrap conf-nav', 'aria-label': 'Conference' })
  const problem = h('div', { id: 'board-problem' })
  const votes = new Votes(conferenceId, token)
  const search = searchBox(conferenceId, token)

  const propose: ProposeForm = new ProposeForm({
    conferenceId,
    token,
    zone,
    conf: () => conf,
    closed: () => grid.refreshCells(),
    posted: (res) => {
      if (res.poster_key) rememberPosterKey(res.session.id, res.poster_key)
      if (conf && !conf.sessions.some((s) => s.id === res.session.id)) conf.sessions.push(res.session)
    },
  })
  const grid: BoardGrid = new BoardGrid({
    conferenceId,
    token,
    zone,
    // Unknown until /me answers: offering "propose" to a read link for a
    // moment would be a promise the server then refuses.
    canPropose: () => !!token && (role === 'edit' || role === 'organizer'),
    isOrganizer: () => role === 'organizer',
    propose,
    votes,
  })

  root.append(
    h(
      'div',
      { class: 'page wide' },
      h('div', { class: 'conf-head' }, h('div', {}, heading, desc, zoneNote), h('div', { class: 'conf-live' }, live)),
      nav,
      search.el,
      problem,
      votesBar(votes),
      grid.el,
    ),
  )

  function renderNav(): void {
    clear(nav)
    nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/proceedings`) }, 'Proceedings'))
    nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/news`), id: 'news-link' }, 'News'))
    nav.append(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          id: 'agenda-ics',
          'data-path': `/conferences/${encodeURIComponent(conferenceId)}/agenda.ics`,
          title: 'Every session as calendar events (UTC, works in any calendar app)',
          onclick: () => {
            downloadFromApi(`/conferences/${encodeURIComponent(conferenceId)}/agenda.ics`, token, 'agenda.ics').catch((e) =>
              toast(String(e), 'error'),
            )
          },
        },
        'Add to calendar',
      ),
    )
    if (role === 'organizer') {
      nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/organize`), id: 'organize-link' }, 'Organize'))
      if (role === 'organizer') nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/dashboard`), id: 'dashboard-link' }, 'Dashboard'))
    }
    nav.append(shareButton({ conferenceId, path: `/conference/${conferenceId}`, token, role, what: 'the agenda', chartId: conf?.sessions[0]?.chart_id }))
  }

  function renderHead(c: ConferenceView): void {
    heading.textContent = c.name
    setTitle('Agenda', c.name)
    desc.textContent = c.description
    desc.hidden = !c.description
    const sample = c.rounds[0]?.starts_at ?? new Date().toISOString()
    clear(zoneNote)
    append(zoneNote, [
      'Times in your time zone, ',
      h('strong', {}, `${zone} (${zoneAbbrev(sample, zone)})`),
      '.',
      zone !== c.time_zone ? h('span', {}, ' The conference runs on ', h('strong', {}, `${c.time_zone} (${zoneAbbrev(sample, c.time_zone)})`), '.') : null,
    ])
  }

  function render(): void {
    if (!conf || disposed) return
    rememberCharts(conferenceId, conf.sessions.map((s) => s.chart_id))
    renderHead(conf)
    renderNav()
    grid.render(conf)
    propose.refresh()
  }

  function showProblem(e: unknown): void {
    live.textContent = 'Not connected'
    live.className = 'status status-error'
    clear(problem)
    problem.append(h('p', { class: 'notice notice-error', role: 'alert' }, tokenProblem(e, 'the agenda')))
  }

  async function load(): Promise<void> {
    try {
      conf = await api<ConferenceView>('GET', `/conferences/${encodeURIComponent(conferenceId)}`, token)
      if (disposed) return
      render()
    } catch (e) {
      if (disposed) return
      showProblem(e)
      if (e instanceof ApiError && e.status !== 0) return
    }
    subscribe()
    void votes.load()
    await probeRole()
  }

  // What this link may do: a role this browser learned before, else the
  // server's answer for the link itself.
  let probing = false
  async function probeRole(): Promise<void> {
    if (!token || role || probing) return
    probing = true
    try {
      const me = await api<LinkView>('GET', `/conferences/${encodeURIComponent(conferenceId)}/me`, token)
      role = me.role as Role
      rememberRole(token, role)
    } catch {
      role = null
    } finally {
      probing = false
    }
    render()
  }

  function subscribe(): void {
    if (disposed || !token) {
      live.textContent = token ? '' : 'Not live (no link token)'
      return
    }
    events = new EventSource(`/api/v1/conferences/${encodeURIComponent(conferenceId)}/events?token=${encodeURIComponent(token)}`)
    events.addEventListener('agenda', (ev) => {
      try {
        conf = JSON.parse((ev as MessageEvent).data) as ConferenceView
        problem.replaceChildren()
        render()
        if (!role) void probeRole()
      } catch {
        /* ignore a malformed event */
      }
    })
    events.addEventListener('votes', (ev) => {
      try {
        votes.applyPublic(JSON.parse((ev as MessageEvent).data))
      } catch {
        /* ignore a malformed event */
      }
    })
    events.addEventListener('convergence_closed', () => toast('Voting has closed: the counts are final.'))
    events.addEventListener('presence', (ev) => {
      try {
        grid.setPresence((JSON.parse((ev as MessageEvent).data) as PresenceView).charts ?? {})
      } catch {
        /* ignore a malformed event */
      }
    })
    events.onopen = () => {
      live.textContent = 'Live'
      live.className = 'status status-ok'
    }
    events.onerror = () => {
      if (events?.readyState === EventSource.CLOSED) {
        // The stream ends for good when the link was revoked: say which.
        void api('GET', `/conferences/${encodeURIComponent(conferenceId)}`, token).then(
          () => {
            live.textContent = 'Not live'
            live.className = 'status status-warn'
          },
          (e) => showProblem(e),
        )
      } else {
        live.textContent = 'Reconnecting…'
        live.className = 'status status-warn'
      }
    }
  }

  // "Now" and "next" move with the clock.
  const clock = window.setInterval(() => grid.tick(), 30000)
  void load()
  return () => {
    disposed = true
    search.dispose()
    clearInterval(clock)
    events?.close()
  }
}
