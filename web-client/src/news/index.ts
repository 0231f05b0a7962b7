// The news wall: finished (final) reports as they land, newest first, each
// with its summary, space and time in the viewer's zone. Live over the
// conference's event stream: `report` events add a report the moment its
// session is made final, `agenda` events drop reports whose session was
// reopened and follow renames. The list itself is loaded on the first
// `agenda` event of every connection, so nothing finalized between the
// load and the subscription is missed. Projector mode (path
// `/conference/{id}/news/projector`): large type, no page chrome, a slow
// auto-scroll that starts over at the top.

import { api, tokenProblem, type ConferenceView, type NewsView, type ReportView } from '../api'
import { rememberCharts } from '../share'
import { appLink, clear, formatDay, formatSpan, formatTime, h, plural, setTitle, viewerZone, zoneAbbrev } from '../util'
import { autoScroll } from './scroll'

export function newsPage(root: HTMLElement, conferenceId: string, token: string | null, projector: boolean): () => void {
  clear(root)
  setTitle('News')
  const zone = viewerZone()
  const cid = encodeURIComponent(conferenceId)
  let reports: ReportView[] = []
  let events: EventSource | null = null
  let disposed = false
  let loaded = false
  /** Sessions that arrived while this page was open (highlighted). */
  const fresh = new Set<string>()

  const heading = h('h1', { id: 'news-title' }, 'News')
  const live = h('span', { class: 'status status-busy', id: 'news-live', role: 'status' }, 'Connecting…')
  const note = h('p', { class: 'muted zone-note', id: 'news-zone' })
  const list = h('ol', { class: 'news-list', id: 'news-list', 'aria-live': projector ? 'off' : 'polite' })
  const empty = h('p', { class: 'muted news-empty', id: 'news-empty' }, 'No reports yet. They appear here the moment a session is made final.')
  const problem = h('div', { id: 'news-problem' })
  const nav = h('nav', { class: 'row wrap conf-nav', 'aria-label': 'News' })

  if (projector) document.body.classList.add('projector')
  root.append(
    h(
      'div',
      { class: `page news-page${projector ? ' news-projector' : ''}` },
      projector ? null : h('a', { class: 'back', href: appLink(`/conference/${conferenceId}`) }, '← Agenda'),
      h('div', { class: 'conf-head' }, h('div', {}, heading, note), h('div', { class: 'conf-live' }, live)),
      projector ? null : nav,
      problem,
      empty,
      list,
    ),
  )

  function renderNav(conf: ConferenceView | null): void {
    clear(nav)
    nav.append(
      h('a', { class: 'btn btn-small', id: 'projector-link', href: appLink(`/conference/${conferenceId}/news/projector`) }, 'Projector mode'),
      h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/proceedings`) }, 'Proceedings'),
    )
    // A feed reader cannot send the token in a header, and no link on a
    // page carries one: the feed is linked when it needs none.
    if (conf?.proceedings_public) {
      nav.append(h('a', { class: 'btn btn-small', id: 'feed-link', href: `/api/v1/conferences/${cid}/feed.atom`, type: 'application/atom+xml' }, 'Atom feed'))
    }
  }
  renderNav(null)

  function card(r: ReportView): HTMLElement {
    const when = r.starts_at ? `${formatDay(r.starts_at, zone)} ${r.ends_at ? formatSpan(r.starts_at, r.ends_at, zone) : formatTime(r.starts_at, zone)}` : ''
    // Votes arrive with convergence; the card has their place already.
    const votes = (r as ReportView & { votes?: number }).votes
    return h(
      'li',
      { class: `card report${fresh.has(r.session_id) ? ' report-new' : ''}`, 'data-session': r.session_id },
      h('h2', { class: 'report-topic' }, projector ? r.topic : h('a', { href: appLink(`/chart/${r.chart_id}`) }, r.topic)),
      h('p', { class: 'report-meta muted' }, [r.space, when, r.convener].filter(Boolean).join(' · ')),
      r.summary ? h('p', { class: 'report-summary' }, r.summary) : h('p', { class: 'report-summary muted' }, 'No notes.'),
      h(
        'p',
        { class: 'report-foot muted small' },
        h('time', { datetime: r.finalized_at }, `Final at ${formatTime(r.finalized_at, zone)}`),
        typeof votes === 'number' ? h('span', { class: 'report-votes' }, ` · ${plural(votes, 'vote')}`) : null,
      ),
    )
  }

  function render(): void {
    if (disposed) return
    reports.sort((a, b) => b.finalized_at.localeCompare(a.finalized_at) || a.session_id.localeCompare(b.session_id))
    list.replaceChildren(...reports.map(card))
    empty.hidden = reports.length > 0 || !loaded
    rememberCharts(conferenceId, reports.map((r) => r.chart_id))
  }

  async function load(): Promise<void> {
    try {
      const news = await api<NewsView>('GET', `/conferences/${cid}/news`, token)
      if (disposed) return
      heading.textContent = projector ? news.name : `News · ${news.name}`
      setTitle('News', news.name)
      const sample = news.reports[0]?.starts_at ?? new Date().toISOString()
      note.textContent = `Finished reports, newest first. Times in your time zone, ${zone} (${zoneAbbrev(sample, zone)}).`
      reports = news.reports
      loaded = true
      problem.replaceChildren()
      render()
    } catch (e) {
      if (disposed) return
      live.textContent = 'Not connected'
      live.className = 'status status-error'
      problem.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert' }, tokenProblem(e, 'the news wall')))
    }
  }

  function subscribe(): void {
    const q = token ? `?token=${encodeURIComponent(token)}` : ''
    events = new EventSource(`/api/v1/conferences/${cid}/events${q}`)
    let first = true
    events.addEventListener('agenda', (ev) => {
      let conf: ConferenceView
      try {
        conf = JSON.parse((ev as MessageEvent).data) as ConferenceView
      } catch {
        return
      }
      renderNav(conf)
      if (first) {
        first = false
        void load()
        return
      }
      // Reopened sessions leave the wall; renames and moves follow.
      const byId = new Map(conf.sessions.map((s) => [s.id, s]))
      const spaces = new Map(conf.spaces.map((s) => [s.id, s.name]))
      reports = reports.filter((r) => byId.get(r.session_id)?.state === 'final')
      for (const r of reports) {
        const s = byId.get(r.session_id)!
        r.topic = s.topic
        r.space = spaces.get(s.space_id) ?? r.space
      }
      render()
    })
    events.addEventListener('report', (ev) => {
      try {
        const r = JSON.parse((ev as MessageEvent).data) as ReportView
        reports = reports.filter((x) => x.session_id !== r.session_id)
        reports.push(r)
        fresh.add(r.session_id)
        loaded = true
        render()
      } catch {
        /* ignore a malformed event */
      }
    })
    events.onopen = () => {
      first = true
      live.textContent = 'Live'
      live.className = 'status status-ok'
    }
    events.onerror = () => {
      if (events?.readyState === EventSource.CLOSED) {
        live.textContent = 'Not live'
        live.className = 'status status-warn'
        if (!loaded) void load()
      } else {
        live.textContent = 'Reconnecting…'
        live.className = 'status status-warn'
      }
    }
  }

  subscribe()
  const stopScroll = projector ? autoScroll() : () => {}
  return () => {
    disposed = true
    events?.close()
    stopScroll()
    document.body.classList.remove('projector')
  }
}
