// Sessions: state, move, merge, cancel, and finalize all. Which sessions
// have their actions unfolded (or a cancel awaiting its confirmation) is
// kept across re-renders, so a live change leaves the organizer where they
// were.

import type { ConferenceView, SessionView } from '../api'
import { appLink, confirmDialog, formatDay, formatTime, h, plural, replaceKeepingFocus, toast } from '../util'
import type { OrgContext } from './context'

const STATES = ['proposed', 'live', 'final'] as const

export function sessionsSection(ctx: OrgContext): { el: HTMLElement; render(c: ConferenceView): void } {
  const list = h('ul', { class: 'plain-list session-admin', id: 'session-admin' })
  const finalizeAll = h('button', { type: 'button', class: 'btn', id: 'finalize-all' }, 'Finalize all charts')
  const el = h('section', { class: 'card', id: 'org-sessions', 'aria-labelledby': 'sessions-h' }, h('h2', { id: 'sessions-h' }, 'Sessions'), list, h('div', { class: 'row' }, finalizeAll))
  const unfolded = new Set<string>()
  const confirming = new Set<string>()
  const path = (id: string) => `/sessions/${encodeURIComponent(id)}`
  let shown = ''

  finalizeAll.addEventListener('click', async () => {
    const c = ctx.conf()
    if (!c) return
    const open = c.sessions.filter((x) => x.state !== 'final')
    if (open.length === 0) return
    const ok = await confirmDialog({
      title: 'Finalize all charts?',
      body: `${plural(open.length, 'chart')} will become read-only for everyone at once. You can reopen a session later, one at a time.`,
      confirm: `Finalize ${plural(open.length, 'chart')}`,
      cancel: 'Not now',
    })
    if (!ok) return
    for (const s of open) {
      if (s.state === 'proposed') await ctx.call('PATCH', path(s.id), { state: 'live' })
      await ctx.call('PATCH', path(s.id), { state: 'final' })
    }
    toast('All charts are final')
    await ctx.reload()
  })

  function focusAction(sessionId: string, action: string): void {
    list.querySelector<HTMLElement>(`li[data-session="${CSS.escape(sessionId)}"] [data-action="${action}"]`)?.focus()
  }

  function item(s: SessionView, c: ConferenceView, where: (round: string, space: string) => string, freeCells: { round: string; space: string }[]): HTMLElement {
    const sel = h('select', { 'aria-label': `State of ${s.topic}`, id: `state-${s.id}` }, STATES.map((st) => h('option', { value: st, selected: st === s.state }, st)))
    sel.addEventListener('change', () => void ctx.call('PATCH', path(s.id), { state: sel.value }, `“${s.topic}” is ${sel.value}`).then(ctx.reload))

    const moveId = `move-${s.id}`
    const moveTo = h(
      'select',
      { id: moveId, disabled: freeCells.length === 0 },
      freeCells.length === 0 ? h('option', { value: '' }, 'no free cell') : freeCells.map((f) => h('option', { value: `${f.round}|${f.space}` }, where(f.round, f.space))),
    )
    const move = h(
      'form',
      { class: 'row wrap', 'data-action': 'move' },
      h('div', { class: 'stack grow' }, h('label', { for: moveId }, 'Move to'), moveTo),
      h('button', { type: 'submit', class: 'btn btn-small', disabled: freeCells.length === 0 }, 'Move'),
    )
    move.addEventListener('submit', (e) => {
      e.preventDefault()
      const [round_id, space_id] = moveTo.value.split('|')
      if (!round_id || !space_id) return
      void ctx.call('PATCH', path(s.id), { round_id, space_id }, `“${s.topic}” moved to ${where(round_id, space_id)}`).then(ctx.reload)
    })

    const others = c.sessions.filter((o) => o.id !== s.id)
    const absorbId = `absorb-${s.id}`
    const absorb = h(
      'select',
      { id: absorbId, disabled: others.length === 0 },
      others.length === 0 ? h('option', { value: '' }, 'no other session') : others.map((o) => h('option', { value: o.id }, `${o.topic} (${where(o.round_id, o.space_id)})`)),
    )
    const merge = h(
      'form',
      { class: 'row wrap', 'data-action': 'merge' },
      h('div', { class: 'stack grow' }, h('label', { for: absorbId }, 'Merge into this session'), absorb),
      h('button', { type: 'submit', class: 'btn btn-small', disabled: others.length === 0 }, 'Merge'),
    )
    merge.addEventListener('submit', (e) => {
      e.preventDefault()
      const other = others.find((o) => o.id === absorb.value)
      if (!other) return
      void ctx.call('POST', `${path(s.id)}/merge`, { absorb: other.id }, `“${other.topic}” merged into “${s.topic}”; its chart is kept read-only`).then(ctx.reload)
    })

    // Cancelling takes two steps: it removes the session from the agenda.
    const cancel = confirming.has(s.id)
      ? h(
          'div',
          { class: 'row wrap confirm', role: 'group', 'aria-label': `Cancel ${s.topic}?` },
          h('span', { class: 'small' }, 'Remove it from the agenda? Its chart is kept, read-only.'),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small btn-danger',
              'data-action': 'cancel-confirm',
              onclick: async () => {
                confirming.delete(s.id)
                unfolded.delete(s.id)
                await ctx.call('DELETE', path(s.id), undefined, `“${s.topic}” cancelled`)
                await ctx.reload()
              },
            },
            `Yes, cancel “${s.topic}”`,
          ),
          h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => { confirming.delete(s.id); redraw(); focusAction(s.id, 'cancel') } }, 'Keep it'),
        )
      : h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-action': 'cancel', onclick: () => { confirming.add(s.id); redraw(); focusAction(s.id, 'cancel-confirm') } }, 'Cancel session…')

    const actions = h(
      'details',
      { class: 'session-actions', open: unfolded.has(s.id) },
      h('summary', {}, `Move, merge or cancel “${s.topic}”`),
      h('div', { class: 'stack' }, move, merge, h('div', { class: 'row' }, cancel)),
    )
    actions.addEventListener('toggle', () => (actions.open ? unfolded.add(s.id) : unfolded.delete(s.id)))
    return h(
      'li',
      { 'data-session': s.id },
      h(
        'div',
        { class: 'row wrap session-admin-head' },
        h('span', { class: 'grow' }, h('a', { href: appLink(`/chart/${s.chart_id}`) }, s.topic), h('span', { class: 'muted small', 'data-where': '' }, ` · ${where(s.round_id, s.space_id)}`)),
        sel,
      ),
      actions,
    )
  }

  function draw(c: ConferenceView): void {
    const rounds = new Map(c.rounds.map((r) => [r.id, r]))
    const spaceNames = new Map(c.spaces.map((s) => [s.id, s.name]))
    const where = (roundId: string, spaceId: string) => {
      const r = rounds.get(roundId)
      return `${r ? `${formatDay(r.starts_at, c.time_zone)} ${formatTime(r.starts_at, c.time_zone)}` : ''} · ${spaceNames.get(spaceId) ?? ''}`
    }
    const taken = new Set(c.sessions.map((s) => `${s.round_id}|${s.space_id}`))
    const freeCells: { round: string; space: string }[] = []
    for (const r of c.rounds.filter((x) => x.kind === 'breakout')) {
      for (const sp of c.spaces) if (!taken.has(`${r.id}|${sp.id}`)) freeCells.push({ round: r.id, space: sp.id })
    }
    replaceKeepingFocus(list, c.sessions.length === 0 ? [h('li', { class: 'muted' }, 'No sessions yet')] : c.sessions.map((s) => item(s, c, where, freeCells)))
    finalizeAll.disabled = !c.sessions.some((s) => s.state !== 'final')
  }

  function redraw(): void {
    const c = ctx.conf()
    if (c) draw(c)
  }

  return {
    el,
    render(c) {
      const sig = JSON.stringify([c.sessions, c.rounds.map((r) => [r.id, r.starts_at, r.kind]), c.spaces.map((s) => [s.id, s.name])])
      if (sig === shown) return
      shown = sig
      draw(c)
    },
  }
}
