// Convergence: dots on sessions and action items (docs/api.md,
// "Convergence"). One `Votes` per page holds the counts (live from the
// conference's `votes` events) and the viewer's own dots; `dotControl`
// draws the "● 3  + −" control for one target, `votesBar` the phase and
// the dots left. The server decides everything: a refused dot shows its
// message here.
//
// A personal link is the voter. A shared edit link votes only when the
// organizers allow it, as this browser: a random key kept in
// localStorage, like the poster key (board/poster.ts). Another browser is
// another voter; nobody is verified.

import { api, ApiError, describeError, type VotesPublic, type VotesView } from './api'
import { h, plural } from './util'

export interface Target {
  session_id: string
  item_id?: string | null
}

const KEY = 'easel.voter-key'

/** This browser's voter key, made on first use. */
export function voterKey(): string {
  try {
    const known = localStorage.getItem(KEY)
    if (known && known.length >= 16) return known
    const bytes = crypto.getRandomValues(new Uint8Array(24))
    const key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    localStorage.setItem(KEY, key)
    return key
  } catch {
    return ''
  }
}

const same = (a: Target, b: Target) => a.session_id === b.session_id && (a.item_id ?? null) === (b.item_id ?? null)

export class Votes {
  view: VotesView | null = null
  /** The last refusal, shown until the next success. */
  problem: string | null = null
  private listeners = new Set<() => void>()
  private busy = false

  constructor(
    readonly conferenceId: string,
    readonly token: string | null,
  ) {}

  private headers(): Record<string, string> {
    const key = voterKey()
    return key ? { 'X-Easel-Voter-Key': key } : {}
  }

  onChange(f: () => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  private changed(): void {
    for (const f of this.listeners) f()
  }

  async load(): Promise<void> {
    if (!this.token) return
    try {
      this.view = await api<VotesView>('GET', `/conferences/${encodeURIComponent(this.conferenceId)}/votes`, this.token, undefined, this.headers())
      this.changed()
    } catch {
      /* no votes for this link: the controls stay hidden */
    }
  }

  /** A `votes` live event: new counts and phase; the viewer's own dots are kept. */
  applyPublic(p: VotesPublic): void {
    if (!this.view) {
      void this.load()
      return
    }
    if (p.version < this.view.version) return
    this.view = { ...this.view, ...p }
    this.changed()
  }

  get open(): boolean {
    return this.view?.phase === 'open'
  }

  /** Whether there is anything to show: a phase was set up. */
  get active(): boolean {
    return !!this.view && this.view.phase !== 'not_opened'
  }

  count(t: Target): number {
    const tallies = this.view?.tallies
    if (!tallies) return 0
    return t.item_id ? (tallies.items[t.session_id]?.[t.item_id] ?? 0) : (tallies.sessions[t.session_id] ?? 0)
  }

  mine(t: Target): number {
    return (this.view?.mine ?? []).filter((m) => same(m, t)).length
  }

  async vote(t: Target, add: boolean): Promise<boolean> {
    if (this.busy) return false
    this.busy = true
    try {
      this.view = await api<VotesView>(
        add ? 'POST' : 'DELETE',
        `/conferences/${encodeURIComponent(this.conferenceId)}/dots`,
        this.token,
        t,
        this.headers(),
      )
      this.problem = null
      return true
    } catch (e) {
      this.problem = e instanceof ApiError && e.status !== 0 ? e.message.replace(/^./, (c) => c.toUpperCase()) : describeError(e)
      if (e instanceof ApiError && (e.code === 'voting_closed' || e.code === 'no_dots_left')) void this.load()
      return false
    } finally {
      this.busy = false
      this.changed()
    }
  }
}

function phaseText(v: VotesView): string {
  const at = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '')
  switch (v.phase) {
    case 'scheduled':
      return `Voting opens ${at(v.opens_at)}.`
    case 'open':
      return v.closes_at ? `Voting is open until ${at(v.closes_at)}.` : 'Voting is open.'
    case 'closed':
      return 'Voting is closed; the counts are final.'
    default:
      return ''
  }
}

/** The phase, the viewer's dots left and the last refusal. */
/** Redraws `el` on every change until it leaves the page. */
function follow(votes: Votes, el: HTMLElement, draw: () => void): void {
  let seen = false
  const off = votes.onChange(() => {
    if (el.isConnected) seen = true
    else if (seen) {
      off()
      return
    }
    draw()
  })
  draw()
}

export function votesBar(votes: Votes): HTMLElement {
  const phase = h('span', { class: 'votes-phase' })
  const left = h('strong', { class: 'dots-left', id: 'dots-left' })
  const problem = h('p', { class: 'notice notice-error votes-problem', role: 'alert', id: 'votes-problem', hidden: true })
  const el = h('div', { class: 'votes-bar', id: 'votes-bar', hidden: true, role: 'status' }, h('p', { class: 'row wrap' }, phase, ' ', left), problem)
  const draw = () => {
    const v = votes.view
    el.hidden = !votes.active
    if (!v) return
    phase.textContent = phaseText(v)
    left.hidden = !v.voter || v.phase !== 'open'
    left.textContent = `${plural(v.remaining, 'dot')} of ${v.dots} left`
    left.dataset.remaining = String(v.remaining)
    problem.hidden = !votes.problem
    problem.textContent = votes.problem ?? ''
  }
  follow(votes, el, draw)
  return el
}

/** The count on `target` and, for voters while voting is open, buttons to place and take back a dot. */
export function dotControl(votes: Votes, target: Target, what: string): HTMLElement {
  const count = h('span', { class: 'dot-count', 'data-count': '0' })
  const add = h('button', { type: 'button', class: 'btn btn-small dot-add', 'aria-label': `Place a dot on ${what}`, title: 'Place a dot' }, '+')
  const remove = h('button', { type: 'button', class: 'btn btn-small btn-ghost dot-remove', 'aria-label': `Take a dot back from ${what}`, title: 'Take a dot back' }, '−')
  add.addEventListener('click', () => void votes.vote(target, true))
  remove.addEventListener('click', () => void votes.vote(target, false))
  const el = h('span', {
    class: 'dots',
    'data-session': target.session_id,
    'data-item': target.item_id ?? null,
  }, count, add, remove)
  const draw = () => {
    const v = votes.view
    el.hidden = !votes.active
    const n = votes.count(target)
    const mine = votes.mine(target)
    count.textContent = `● ${n}`
    count.dataset.count = String(n)
    count.title = `${plural(n, 'dot')}${mine ? `, ${mine} yours` : ''}`
    count.setAttribute('aria-label', count.title)
    el.classList.toggle('dots-mine', mine > 0)
    const canVote = !!v?.voter && v.phase === 'open'
    add.hidden = !canVote
    remove.hidden = !canVote || mine === 0
  }
  follow(votes, el, draw)
  return el
}
