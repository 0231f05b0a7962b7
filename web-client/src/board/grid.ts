// The board's grid: one table per day (in the viewer's zone), rounds as
// rows, spaces as columns. The tables are rebuilt only when rounds or
// spaces change; a new or changed session updates its own cell, a head
// count its own badge, the clock the rows' "now"/"next"/past marks.

import { describeError, type ConferenceView, type RoundView, type SessionView, type SpaceView } from '../api'
import { appLink, confirmDialog, dateKey, formatDay, formatSpan, formatTime, h, plural, toast, zoneAbbrev } from '../util'
import type { ProposeForm } from './propose'
import { posterKey, renameTopic, withdrawTopic } from './poster'
import { dotControl, type Votes } from '../votes'

export interface GridHost {
  conferenceId: string
  token: string | null
  zone: string
  /** Whether this link may post topics (edit or organizer; unknown: offer). */
  canPropose: () => boolean
  isOrganizer: () => boolean
  propose: ProposeForm
  votes: Votes
}

const KIND_TEXT: Record<string, string> = { opening_circle: 'Opening circle', closing_circle: 'Closing circle' }

/** Only web links become "Join call" buttons. */
export function callUrl(space: SpaceView | undefined): string | null {
  const url = space?.video_url
  return url && /^https?:\/\//i.test(url) ? url : null
}

export class BoardGrid {
  readonly el = h('div', { id: 'board', class: 'board' })
  private conf: ConferenceView | null = null
  private shape = ''
  private cells = new Map<string, HTMLTableCellElement>()
  private rows = new Map<string, HTMLTableRowElement>()
  private presence: Record<string, number> | null = null

  constructor(private host: GridHost) {}

  render(conf: ConferenceView): void {
    this.conf = conf
    const shape = JSON.stringify([
      conf.rounds.map((r) => [r.id, r.kind, r.label, r.starts_at, r.ends_at]),
      conf.spaces.map((s) => [s.id, s.name, s.capacity, s.video_url]),
      conf.time_zone,
      this.host.canPropose(),
      this.host.isOrganizer(),
    ])
    const active = document.activeElement
    const hadFocus = active instanceof HTMLElement && this.el.contains(active) ? active : null
    if (shape !== this.shape) {
      this.shape = shape
      this.build(conf)
    }
    const sessions = new Map(conf.sessions.map((s) => [`${s.round_id}|${s.space_id}`, s]))
    for (const [key, td] of this.cells) this.fillCell(td, key, sessions.get(key))
    if (hadFocus && !this.el.contains(document.activeElement) && hadFocus.isConnected) hadFocus.focus()
    this.tick()
  }

  /** Re-renders the cell the propose form is in (opened, closed, moved). */
  refreshCells(): void {
    if (this.conf) this.render(this.conf)
  }

  setPresence(charts: Record<string, number>): void {
    this.presence = charts
    if (!this.conf) return
    const spaces = new Map(this.conf.spaces.map((s) => [s.id, s]))
    for (const s of this.conf.sessions) {
      const td = this.cells.get(`${s.round_id}|${s.space_id}`)
      if (!td) continue
      const badge = td.querySelector<HTMLElement>('.people')
      if (badge) this.fillPeople(badge, s, spaces.get(s.space_id))
      else td.dataset.sig = '' // no badge yet: rebuild this cell
    }
    this.render(this.conf)
  }

  /** Marks past rounds, the one running now and the next one. */
  tick(now = Date.now()): void {
    if (!this.conf) return
    let next: RoundView | null = null
    for (const r of this.conf.rounds) {
      if (Date.parse(r.starts_at) > now && (!next || r.starts_at < next.starts_at)) next = r
    }
    // Dimming the past helps while the event runs; once every round is
    // over the board is a record, and nothing is dimmed.
    const running = this.conf.rounds.some((r) => Date.parse(r.ends_at) > now)
    for (const r of this.conf.rounds) {
      const tr = this.rows.get(r.id)
      if (!tr) continue
      const start = Date.parse(r.starts_at)
      const end = Date.parse(r.ends_at)
      const state = end <= now ? (running ? 'past' : '') : start <= now ? 'now' : r === next ? 'next' : ''
      if ((tr.dataset.when ?? '') === state) continue
      tr.dataset.when = state
      tr.classList.toggle('round-past', state === 'past')
      tr.classList.toggle('round-now', state === 'now')
      tr.classList.toggle('round-next', state === 'next')
      const mark = tr.querySelector<HTMLElement>('.when')
      if (mark) {
        mark.textContent = state === 'now' ? 'Now' : state === 'next' ? 'Next' : ''
        mark.hidden = state !== 'now' && state !== 'next'
      }
    }
  }

  private build(c: ConferenceView): void {
    const zone = this.host.zone
    this.cells.clear()
    this.rows.clear()
    this.el.replaceChildren()
    if (c.rounds.length === 0 || c.spaces.length === 0) {
      this.el.append(
        h(
          'p',
          { class: 'empty' },
          c.rounds.length === 0 ? 'No rounds yet.' : 'No spaces yet.',
          this.host.isOrganizer()
            ? h('span', {}, ' ', h('a', { href: appLink(`/conference/${this.host.conferenceId}/organize`) }, 'Set up the agenda'))
            : ' The organizers are setting up the agenda.',
        ),
      )
      return
    }
    const days = new Map<string, RoundView[]>()
    for (const r of c.rounds) {
      const k = dateKey(r.starts_at, zone)
      if (!days.has(k)) days.set(k, [])
      days.get(k)!.push(r)
    }
    for (const [, rounds] of days) {
      const head = h(
        'tr',
        {},
        h('th', { scope: 'col', class: 'time-col' }, 'Time'),
        c.spaces.map((s) => {
          const call = callUrl(s)
          return h(
            'th',
            { scope: 'col' },
            s.name,
            s.capacity ? h('span', { class: 'seats small' }, ` · ${plural(s.capacity, 'seat')}`) : null,
            call ? h('a', { class: 'call-head small', href: call, target: '_blank', rel: 'noopener noreferrer', 'aria-label': `Video call of ${s.name}` }, 'video call') : null,
          )
        }),
      )
      const body = h('tbody', {})
      for (const r of rounds) body.append(this.row(c, r))
      this.el.append(h('div', { class: 'table-wrap' }, h('table', { class: 'agenda' }, h('caption', {}, formatDay(rounds[0].starts_at, zone)), h('thead', {}, head), body)))
    }
  }

  private row(c: ConferenceView, r: RoundView): HTMLTableRowElement {
    const zone = this.host.zone
    const time = h(
      'th',
      { scope: 'row', class: 'time-col' },
      h('span', { class: 'time' }, formatSpan(r.starts_at, r.ends_at, zone)),
      zone !== c.time_zone ? h('span', { class: 'conf-time muted small' }, `${formatTime(r.starts_at, c.time_zone)} ${zoneAbbrev(r.starts_at, c.time_zone)} at the venue`) : null,
      r.label && r.kind === 'breakout' ? h('span', { class: 'small round-label' }, r.label) : null,
      h('span', { class: 'when', hidden: true }),
    )
    let tr: HTMLTableRowElement
    if (r.kind !== 'breakout') {
      tr = h('tr', { class: `round round-${r.kind}`, 'data-round': r.id }, time, h('td', { colspan: c.spaces.length, class: 'plenary' }, r.label || KIND_TEXT[r.kind] || r.kind))
    } else {
      tr = h('tr', { class: 'round', 'data-round': r.id }, time)
      for (const sp of c.spaces) {
        const td = h('td', { 'data-space': sp.id, 'data-label': sp.name, class: 'cell' })
        this.cells.set(`${r.id}|${sp.id}`, td)
        tr.append(td)
      }
    }
    this.rows.set(r.id, tr)
    return tr
  }

  private fillCell(td: HTMLTableCellElement, key: string, s: SessionView | undefined): void {
    const propose = this.host.propose
    const withForm = propose.cell === key
    const sig = JSON.stringify([s ?? null, withForm, this.presence !== null])
    if (td.dataset.sig === sig) {
      if (withForm && propose.el.parentElement !== td) td.append(propose.el)
      return
    }
    td.dataset.sig = sig
    td.className = s ? `cell cell-${s.state}` : 'cell cell-free'
    const [roundId, spaceId] = key.split('|')
    const round = this.conf?.rounds.find((r) => r.id === roundId)
    const space = this.conf?.spaces.find((x) => x.id === spaceId)
    const keep = withForm && propose.el.parentElement === td
    for (const child of [...td.childNodes]) if (!(keep && child === propose.el)) child.remove()
    if (s) td.prepend(this.sessionView(s, space))
    else if (!withForm) {
      td.append(
        this.host.canPropose()
          ? h(
              'button',
              {
                type: 'button',
                class: 'propose-btn',
                'aria-label': `Propose a topic: ${space?.name ?? ''}, ${round ? formatTime(round.starts_at, this.host.zone) : ''}`,
                onclick: () => {
                  propose.open(key, `${space?.name ?? ''}, ${round ? formatTime(round.starts_at, this.host.zone) : ''}`)
                  this.refreshCells()
                  propose.focus()
                },
              },
              '+ Propose a topic',
            )
          : h('span', { class: 'free muted small' }, 'free'),
      )
    }
    if (withForm && propose.el.parentElement !== td) td.append(propose.el)
  }

  private sessionView(s: SessionView, space: SpaceView | undefined): HTMLElement {
    const call = callUrl(space)
    const badge = this.presence ? h('span', { class: 'people small', 'data-chart': s.chart_id }) : null
    if (badge) this.fillPeople(badge, s, space)
    return h(
      'div',
      { class: 'session', 'data-session': s.id },
      h('a', { class: 'topic', href: appLink(`/chart/${s.chart_id}`) }, s.topic),
      h('div', { class: 'session-meta' }, h('span', { class: 'muted small' }, s.convener), h('span', { class: `badge badge-${s.state}` }, s.state), badge),
      call
        ? h('a', { class: 'btn btn-small join-call', href: call, target: '_blank', rel: 'noopener noreferrer', 'aria-label': `Join call: ${s.topic} (${space?.name ?? ''})` }, 'Join call')
        : null,
      h('div', { class: 'session-dots' }, dotControl(this.host.votes, { session_id: s.id }, `the session “${s.topic}”`)),
      this.ownActions(s),
    )
  }

  /** Rename and withdraw, for the topics this browser posted. */
  private ownActions(s: SessionView): HTMLElement | null {
    const token = this.host.token
    if (!token || !posterKey(s.id) || s.state === 'final') return null
    const fail = (e: unknown) => toast(describeError(e), 'error')
    return h(
      'div',
      { class: 'row own-topic' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-ghost',
          'data-action': 'rename',
          'aria-label': `Rename your topic: ${s.topic}`,
          onclick: () => {
            const topic = window.prompt('New name for your topic (at most 200 characters)', s.topic)?.trim()
            if (!topic || topic === s.topic) return
            renameTopic(this.host.conferenceId, token, s.id, topic).then(() => toast('Renamed'), fail)
          },
        },
        'Rename',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-ghost',
          'data-action': 'withdraw',
          'aria-label': `Withdraw your topic: ${s.topic}`,
          onclick: async () => {
            const ok = await confirmDialog({
              title: 'Withdraw your topic?',
              body: `“${s.topic}” leaves the agenda and its cell is free again. Its notes are kept, read-only.`,
              confirm: 'Withdraw',
              cancel: 'Keep it',
            })
            if (ok) withdrawTopic(this.host.conferenceId, token, s.id).then(() => toast('Withdrawn'), fail)
          },
        },
        'Withdraw',
      ),
    )
  }

  private fillPeople(el: HTMLElement, s: SessionView, space: SpaceView | undefined): void {
    const n = this.presence?.[s.chart_id] ?? 0
    const cap = space?.capacity ?? null
    el.textContent = cap ? `${n}/${cap} here` : `${n} here`
    el.title = `${n === 1 ? '1 person' : `${n} people`} in the chart now${cap ? `; ${space?.name} seats ${cap}` : ''}`
    el.classList.toggle('people-none', n === 0)
    el.classList.toggle('people-full', cap !== null && n >= cap)
  }
}
