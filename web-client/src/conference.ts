// The agenda board: rounds × spaces, in the viewer's time zone, live over
// server-sent events (each `agenda` event carries the whole conference).

import {
  api,
  ApiError,
  describeError,
  type ChartInfo,
  type ConferenceView,
  type PresenceView,
  type Role,
  type RoundView,
  type SessionView,
  type SessionChangedLike,
} from './api'
import { storedName, rememberName } from './identity'
import { append, appLink, clear, dateKey, formatDay, formatTime, h, setTitle, toast, viewerZone, zoneAbbrev } from './util'

export function conferencePage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Agenda')
  const zone = viewerZone()
  let conf: ConferenceView | null = null
  let role: Role | null = null
  let openCell: string | null = null // "round|space" with the propose form open
  let events: EventSource | null = null
  let disposed = false
  // Chart id -> open connections, from the stream's `presence` events;
  // empty without a token (the counts are for readers of the conference).
  let presence: Record<string, number> = {}

  const heading = h('h1', { id: 'conf-title' }, 'Agenda')
  const desc = h('p', { class: 'muted' })
  const zoneNote = h('p', { class: 'zone-note', id: 'zone-note' })
  const live = h('span', { class: 'status status-busy', id: 'live-status', role: 'status' }, 'Connecting…')
  const nav = h('nav', { class: 'row wrap conf-nav', 'aria-label': 'Conference' })
  const board = h('div', { id: 'board', class: 'board' })
  root.append(
    h(
      'div',
      { class: 'page wide' },
      h('div', { class: 'conf-head' }, h('div', {}, heading, desc, zoneNote), h('div', { class: 'conf-live' }, live)),
      nav,
      board,
    ),
  )

  function renderNav(): void {
    clear(nav)
    nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/proceedings`, token) }, 'Proceedings'))
    if (role === 'organizer' || (role === null && token)) {
      nav.append(h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/organize`, token), id: 'organize-link' }, 'Organize'))
    }
  }

  function render(): void {
    if (!conf) return
    heading.textContent = conf.name
    setTitle('Agenda', conf.name)
    desc.textContent = conf.description
    desc.hidden = !conf.description
    const sample = conf.rounds[0]?.starts_at ?? new Date().toISOString()
    clear(zoneNote)
    append(zoneNote, [
      'Times in your time zone, ',
      h('strong', {}, `${zone} (${zoneAbbrev(sample, zone)})`),
      '.',
      zone !== conf.time_zone
        ? h('span', {}, ' The conference runs on ', h('strong', {}, `${conf.time_zone} (${zoneAbbrev(sample, conf.time_zone)})`), '.')
        : null,
    ])
    renderNav()
    renderBoard(conf)
  }

  function renderBoard(c: ConferenceView): void {
    // Keep focus and typed text of an open proposal form across live updates.
    const active = document.activeElement as HTMLElement | null
    const activeId = active && board.contains(active) ? active.id : null
    const typed = new Map<string, string>()
    board.querySelectorAll('input').forEach((i) => typed.set(i.id, i.value))

    clear(board)
    if (c.rounds.length === 0 || c.spaces.length === 0) {
      board.append(
        h(
          'p',
          { class: 'empty' },
          c.rounds.length === 0 ? 'No rounds yet.' : 'No spaces yet.',
          role === 'organizer' ? h('span', {}, ' ', h('a', { href: appLink(`/conference/${conferenceId}/organize`, token) }, 'Set up the agenda')) : ' The organizers are setting up the agenda.',
        ),
      )
      return
    }
    const sessions = new Map<string, SessionView>()
    for (const s of c.sessions) sessions.set(`${s.round_id}|${s.space_id}`, s)
    // Group rounds by day in the viewer's zone.
    const days = new Map<string, RoundView[]>()
    for (const r of c.rounds) {
      const k = dateKey(r.starts_at, zone)
      if (!days.has(k)) days.set(k, [])
      days.get(k)!.push(r)
    }
    for (const [, rounds] of days) {
      const dayTitle = formatDay(rounds[0].starts_at, zone)
      const table = h(
        'table',
        { class: 'agenda' },
        h('caption', {}, dayTitle),
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col', class: 'time-col' }, 'Time'), c.spaces.map((s) => h('th', { scope: 'col' }, s.name, s.capacity ? h('span', { class: 'muted small' }, ` · ${s.capacity}`) : null))),
        ),
        h(
          'tbody',
          {},
          rounds.map((r) => {
            const time = h(
              'th',
              { scope: 'row', class: 'time-col' },
              h('span', { class: 'time' }, `${formatTime(r.starts_at, zone)}–${formatTime(r.ends_at, zone)}`),
              zone !== c.time_zone
                ? h('span', { class: 'conf-time muted small' }, `${formatTime(r.starts_at, c.time_zone)} ${zoneAbbrev(r.starts_at, c.time_zone)} at the venue`)
                : null,
              r.label && r.kind === 'breakout' ? h('span', { class: 'small round-label' }, r.label) : null,
            )
            if (r.kind !== 'breakout') {
              return h(
                'tr',
                { class: `round round-${r.kind}`, 'data-round': r.id },
                time,
                h('td', { colspan: c.spaces.length, class: 'plenary' }, r.label || (r.kind === 'opening_circle' ? 'Opening circle' : 'Closing circle')),
              )
            }
            return h(
              'tr',
              { class: 'round', 'data-round': r.id },
              time,
              c.spaces.map((sp) => {
                const s = sessions.get(`${r.id}|${sp.id}`)
                const label = `${sp.name}, ${formatTime(r.starts_at, zone)}`
                return h('td', { 'data-space': sp.id, 'data-label': sp.name, class: s ? `cell cell-${s.state}` : 'cell cell-free' }, s ? sessionCell(s) : freeCell(r, sp.id, label))
              }),
            )
          }),
        ),
      )
      board.append(h('div', { class: 'table-wrap' }, table))
    }
    board.querySelectorAll('input').forEach((i) => {
      const v = typed.get(i.id)
      if (v !== undefined) i.value = v
    })
    if (activeId) document.getElementById(activeId)?.focus()
  }

  function peopleLabel(n: number): string {
    return n === 1 ? '1 person in the chart now' : `${n} people in the chart now`
  }

  // Counts change far more often than the agenda: update them in place
  // rather than re-rendering the board under someone typing a topic.
  function renderPresence(): void {
    const shown = new Set<string>()
    board.querySelectorAll<HTMLElement>('.people[data-chart]').forEach((el) => shown.add(el.dataset.chart ?? ''))
    const onBoard = new Set(conf?.sessions.map((s) => s.chart_id) ?? [])
    if (conf && [...onBoard].some((id) => id in presence && !shown.has(id))) {
      renderBoard(conf) // a session without its badge yet
      return
    }
    board.querySelectorAll<HTMLElement>('.people[data-chart]').forEach((el) => {
      const n = presence[el.dataset.chart ?? ''] ?? 0
      el.textContent = `${n} here`
      el.title = peopleLabel(n)
      el.classList.toggle('people-none', n === 0)
    })
  }

  function sessionCell(s: SessionView): HTMLElement {
    const people = presence[s.chart_id]
    return h(
      'div',
      { class: 'session', 'data-session': s.id },
      h('a', { class: 'topic', href: appLink(`/chart/${s.chart_id}`, token) }, s.topic),
      h(
        'div',
        { class: 'session-meta' },
        h('span', { class: 'muted small' }, s.convener),
        h('span', { class: `badge badge-${s.state}` }, s.state),
        typeof people === 'number'
          ? h('span', { class: `people small${people === 0 ? ' people-none' : ''}`, 'data-chart': s.chart_id, title: peopleLabel(people) }, `${people} here`)
          : null,
      ),
    )
  }

  function freeCell(r: RoundView, spaceId: string, label: string): HTMLElement | string {
    if (role === 'read' || !token) return h('span', { class: 'free muted small' }, 'free')
    const key = `${r.id}|${spaceId}`
    if (openCell !== key) {
      return h(
        'button',
        {
          type: 'button',
          class: 'propose-btn',
          'aria-label': `Propose a topic: ${label}`,
          onclick: () => {
            openCell = key
            if (conf) renderBoard(conf)
            document.getElementById(`topic-${r.id}-${spaceId}`)?.focus()
          },
        },
        '+ Propose a topic',
      )
    }
    const topic = h('input', { type: 'text', id: `topic-${r.id}-${spaceId}`, required: true, maxlength: 200, placeholder: 'Topic' })
    const convener = h('input', { type: 'text', id: `convener-${r.id}-${spaceId}`, required: true, maxlength: 100, placeholder: 'Your name', value: storedName() ?? '' })
    const form = h(
      'form',
      { class: 'propose stack' },
      h('label', { for: topic.id, class: 'sr-only' }, `Topic for ${label}`),
      topic,
      h('label', { for: convener.id, class: 'sr-only' }, 'Convener'),
      convener,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-small btn-primary' }, 'Post'),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => { openCell = null; if (conf) renderBoard(conf) } }, 'Cancel'),
      ),
    )
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        openCell = null
        if (conf) renderBoard(conf)
      }
    })
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const t = topic.value.trim()
      const who = convener.value.trim()
      if (!t || !who) return
      rememberName(who)
      try {
        const res = await api<SessionChangedLike>('POST', `/conferences/${conferenceId}/sessions`, token, {
          topic: t,
          convener: who,
          round_id: r.id,
          space_id: spaceId,
        })
        openCell = null
        if (conf && res?.session && !conf.sessions.some((s) => s.id === res.session.id)) {
          conf.sessions.push(res.session)
        }
        if (conf) renderBoard(conf)
        toast(`Posted “${t}”`)
      } catch (err) {
        toast(describeError(err), 'error')
      }
    })
    return form
  }

  async function load(): Promise<void> {
    try {
      conf = await api<ConferenceView>('GET', `/conferences/${conferenceId}`, token)
      if (disposed) return
      render()
    } catch (e) {
      if (disposed) return
      clear(board)
      board.append(h('p', { class: 'notice notice-error', role: 'alert' }, describeError(e)))
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return
    }
    subscribe()
  }

  // What this link may do. The agenda does not say, so: the server's `role`
  // on the conference if it sends one, else the chart info of any session
  // (it carries the caller's role). Probing an organizer-only route would
  // work too, but a refused request shows up as a console error.
  async function probeRole(): Promise<void> {
    if (!token || !conf) return
    if (conf.role) {
      role = conf.role
    } else if (conf.sessions[0]) {
      try {
        const info = await api<ChartInfo>('GET', `/charts/${encodeURIComponent(conf.sessions[0].chart_id)}`, token)
        role = info.role ?? 'read'
      } catch {
        role = null
      }
    } else {
      role = null // unknown: offer proposing and organizing; the server decides
    }
    if (!disposed) render()
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
        render()
      } catch {
        /* ignore a malformed event */
      }
    })
    events.addEventListener('presence', (ev) => {
      try {
        presence = (JSON.parse((ev as MessageEvent).data) as PresenceView).charts ?? {}
        renderPresence()
      } catch {
        /* ignore a malformed event */
      }
    })
    events.onopen = () => {
      live.textContent = 'Live'
      live.className = 'status status-ok'
    }
    events.onerror = () => {
      live.textContent = events?.readyState === EventSource.CLOSED ? 'Not live' : 'Reconnecting…'
      live.className = 'status status-warn'
    }
  }

  void load().then(probeRole)
  return () => {
    disposed = true
    events?.close()
  }
}
