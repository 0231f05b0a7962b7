// "Here now": one entry per person in the chart, from y-websocket awareness.

import type { Awareness } from 'y-protocols/awareness'
import { clear, h } from '../util'

export function renderPresence(list: HTMLElement, awareness: Awareness, myClientId: number): void {
  clear(list)
  type Person = { key: string; name: string; color: unknown; mine: boolean }
  // One entry per person: clients carrying the same browser id (a reload
  // whose old connection is still closing, a second tab) are one person.
  // Clients that send no id (other Yjs apps) count one per client.
  const people = new Map<string, Person>()
  for (const [id, st] of awareness.getStates()) {
    const user = (st as { user?: { name?: unknown; color?: unknown; id?: unknown } }).user
    if (!user || typeof user.name !== 'string') continue
    const key = typeof user.id === 'string' && user.id ? `b:${user.id}` : `c:${id}`
    const mine = id === myClientId
    const seen = people.get(key)
    // Our own state names the entry if it is among them, else the first seen.
    if (!seen || mine) people.set(key, { key, name: user.name.slice(0, 60), color: user.color, mine: mine || !!seen?.mine })
  }
  const sorted = [...people.values()].sort((a, b) => (a.mine ? -1 : b.mine ? 1 : a.name.localeCompare(b.name)))
  for (const p of sorted) {
    const color = /^#[0-9a-fA-F]{6}$/.test(String(p.color)) ? String(p.color) : '#666666'
    const dot = h('span', { class: 'dot', 'aria-hidden': 'true' })
    dot.style.background = color
    list.appendChild(h('li', { 'data-name': p.name }, dot, p.name, p.mine ? h('span', { class: 'muted' }, ' (you)') : null))
  }
}
