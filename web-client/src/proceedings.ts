// Proceedings: every format of the whole conference, the HTML edition, and
// each session's chart on its own.

import { api, EXPORT_FORMATS, tokenProblem, tokenUrl, type ConferenceView, type Role } from './api'
import { knownRole, rememberCharts, shareButton } from './share'
import { appLink, clear, formatDay, formatTime, h, plural, setTitle, viewerZone } from './util'
import { Votes } from './votes'

export function proceedingsPage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Proceedings')
  const base = `/conferences/${encodeURIComponent(conferenceId)}/proceedings`
  const heading = h('h1', {}, 'Proceedings')
  const state = h('p', { class: 'muted', id: 'proceedings-state' })
  const sessionsList = h('div', { id: 'proceedings-sessions' })
  const back = h('a', { class: 'back', href: appLink(`/conference/${conferenceId}`) }, '← Agenda')
  const tools = h('div', { class: 'row wrap conf-nav' })
  // The ranking as it stands (the documents below carry it too), live
  // while voting is open.
  const ranking = h('ol', { class: 'ranking', id: 'priorities-list' })
  const rankingNote = h('p', { class: 'muted small', id: 'priorities-note' })
  const priorities = h('section', { class: 'card', id: 'priorities', 'aria-labelledby': 'prio-h', hidden: true }, h('h2', { id: 'prio-h' }, 'Priorities'), rankingNote, ranking)
  const votes = new Votes(conferenceId, token)
  let sessionsById = new Map<string, { topic: string; chart_id: string }>()
  let events: EventSource | null = null
  function drawRanking(): void {
    const v = votes.view
    priorities.hidden = !votes.active
    if (!v) return
    const rows = [...sessionsById.entries()]
      .map(([id, s]) => ({ id, s, own: v.tallies.sessions[id] ?? 0, items: Object.values(v.tallies.items[id] ?? {}).reduce((a, b) => a + b, 0) }))
      .filter((r) => r.own + r.items > 0)
      .sort((a, b) => b.own - a.own || b.items - a.items)
    rankingNote.textContent =
      (v.phase === 'open' ? 'Voting is open: the ranking moves as people place dots. ' : v.phase === 'closed' ? 'Voting is closed: this is the final ranking. ' : '') +
      `Sessions ranked by the dots of ${plural(v.tallies.voters, 'voter')}.`
    let rank = 0
    let prev = ''
    ranking.replaceChildren(
      ...rows.map((r, i) => {
        const key = `${r.own}/${r.items}`
        if (key !== prev) rank = i + 1
        prev = key
        return h(
          'li',
          { value: rank, 'data-session': r.id, 'data-votes': r.own },
          h('a', { href: appLink(`/chart/${r.s.chart_id}`) }, r.s.topic),
          ' ',
          h('span', { class: 'votes muted small' }, plural(r.own, 'vote'), r.items ? `, ${plural(r.items, 'vote')} on action items` : ''),
        )
      }),
    )
    if (rows.length === 0) ranking.replaceChildren(h('li', { class: 'muted' }, 'No dots yet.'))
  }
  votes.onChange(drawRanking)

  root.append(
    h(
      'div',
      { class: 'page' },
      back,
      heading,
      state,
      tools,
      priorities,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'dl-h' },
        h('h2', { id: 'dl-h' }, 'Download'),
        h(
          'p',
          {},
          h('a', { class: 'btn btn-primary', id: 'html-edition', href: tokenUrl(`${base}.html?inline=1`, token), target: '_blank', rel: 'noopener' }, 'Read the HTML edition'),
        ),
        h(
          'ul',
          { class: 'exports', id: 'proceedings-downloads' },
          EXPORT_FORMATS.map((f) =>
            h('li', {}, h('a', { class: 'btn', href: tokenUrl(`${base}.${f.ext}`, token), download: '', 'data-format': f.ext }, f.label)),
          ),
        ),
      ),
      h('section', { 'aria-labelledby': 'sess-h' }, h('h2', { id: 'sess-h' }, 'Sessions'), sessionsList),
    ),
  )

  let disposed = false
  void (async () => {
    try {
      const conf = await api<ConferenceView>('GET', `/conferences/${encodeURIComponent(conferenceId)}`, token)
      if (disposed) return
      heading.textContent = `Proceedings · ${conf.name}`
      setTitle('Proceedings', conf.name)
      const finals = conf.sessions.filter((s) => s.state === 'final').length
      rememberCharts(conferenceId, conf.sessions.map((s) => s.chart_id))
      tools.append(
        shareButton({
          conferenceId,
          path: `/conference/${conferenceId}/proceedings`,
          token,
          role: knownRole(token) as Role | null,
          publicWithoutToken: conf.proceedings_public,
          chartId: conf.sessions[0]?.chart_id,
          what: 'the proceedings',
        }),
      )
      state.textContent = `${plural(conf.sessions.length, 'session')}, ${finals} final. ${conf.published ? 'Published.' : 'Not published yet: the proceedings grow as sessions are written up.'}`
      sessionsById = new Map(conf.sessions.map((s) => [s.id, s]))
      void votes.load()
      if (token) {
        events = new EventSource(`/api/v1/conferences/${encodeURIComponent(conferenceId)}/events?token=${encodeURIComponent(token)}`)
        events.addEventListener('votes', (ev) => {
          try {
            votes.applyPublic(JSON.parse((ev as MessageEvent).data))
          } catch {
            /* ignore a malformed event */
          }
        })
      }
      const rounds = new Map(conf.rounds.map((r) => [r.id, r]))
      const spaces = new Map(conf.spaces.map((s) => [s.id, s]))
      const zone = viewerZone()
      const sorted = [...conf.sessions].sort((a, b) =>
        (rounds.get(a.round_id)?.starts_at ?? '').localeCompare(rounds.get(b.round_id)?.starts_at ?? ''),
      )
      clear(sessionsList)
      if (sorted.length === 0) sessionsList.append(h('p', { class: 'muted' }, 'No sessions yet.'))
      const list = h('ul', { class: 'session-list' })
      for (const s of sorted) {
        const r = rounds.get(s.round_id)
        list.append(
          h(
            'li',
            { class: 'card' },
            h('a', { class: 'topic', href: appLink(`/chart/${s.chart_id}`) }, s.topic),
            h(
              'p',
              { class: 'muted small' },
              [r ? `${formatDay(r.starts_at, zone)} ${formatTime(r.starts_at, zone)}` : null, spaces.get(s.space_id)?.name, s.convener].filter(Boolean).join(' · '),
              ' ',
              h('span', { class: `badge badge-${s.state}` }, s.state),
            ),
            h(
              'ul',
              { class: 'exports' },
              EXPORT_FORMATS.map((f) =>
                h('li', {}, h('a', { class: 'btn btn-small', href: tokenUrl(`/charts/${encodeURIComponent(s.chart_id)}/export.${f.ext}`, token), download: '' }, f.label)),
              ),
            ),
          ),
        )
      }
      sessionsList.append(list)
    } catch (e) {
      if (!disposed) sessionsList.append(h('p', { class: 'notice notice-error', role: 'alert' }, tokenProblem(e, 'the proceedings')))
    }
  })()
  return () => {
    disposed = true
    events?.close()
  }
}
