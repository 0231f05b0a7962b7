// Other people's pointers on the board, and this browser's, through
// awareness: a `board` field of `{ x, y }` in board units (null when the
// pointer left the board), sent at most every POINTER_EVERY_MS.

import type { Awareness } from 'y-protocols/awareness'
import { h } from '../../util'

const POINTER_EVERY_MS = 100

export class Cursors {
  readonly el: HTMLElement
  private els = new Map<number, HTMLElement>()
  private timer = 0
  private pending: { x: number; y: number } | null | undefined = undefined
  private lastSent = 0

  constructor(
    private awareness: Awareness,
    private view: () => { tx: number; ty: number; s: number },
  ) {
    this.el = h('div', { class: 'board-cursors', 'aria-hidden': 'true' })
    awareness.on('change', this.render)
  }

  /** This browser's pointer in board units, or null when it left the board. */
  send(p: { x: number; y: number } | null): void {
    this.pending = p && { x: Math.round(p.x), y: Math.round(p.y) }
    if (this.timer) return
    const wait = Math.max(0, POINTER_EVERY_MS - (performance.now() - this.lastSent))
    this.timer = window.setTimeout(() => {
      this.timer = 0
      this.lastSent = performance.now()
      if (this.pending !== undefined) this.awareness.setLocalStateField('board', this.pending)
      this.pending = undefined
    }, wait)
  }

  /** Places the others' pointers for the current view. */
  render = (): void => {
    const seen = new Set<number>()
    const me = this.awareness.clientID
    const v = this.view()
    for (const [client, st] of this.awareness.getStates()) {
      if (client === me) continue
      const state = st as { board?: { x?: unknown; y?: unknown } | null; user?: { name?: unknown; color?: unknown } }
      const x = state.board?.x
      const y = state.board?.y
      if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) continue
      seen.add(client)
      let el = this.els.get(client)
      const name = typeof state.user?.name === 'string' ? state.user.name.slice(0, 40) : 'Someone'
      const color = /^#[0-9a-fA-F]{6}$/.test(String(state.user?.color)) ? String(state.user?.color) : '#666666'
      if (!el) {
        el = h('div', { class: 'board-cursor' }, h('span', { class: 'board-cursor-dot' }), h('span', { class: 'board-cursor-name' }))
        this.els.set(client, el)
        this.el.appendChild(el)
      }
      el.dataset.name = name
      ;(el.firstElementChild as HTMLElement).style.background = color
      const label = el.lastElementChild as HTMLElement
      label.style.background = color
      if (label.textContent !== name) label.textContent = name
      el.dataset.x = String(x)
      el.dataset.y = String(y)
      el.style.transform = `translate(${x * v.s + v.tx}px, ${y * v.s + v.ty}px)`
    }
    for (const [client, el] of this.els) {
      if (!seen.has(client)) {
        el.remove()
        this.els.delete(client)
      }
    }
  }

  destroy(): void {
    clearTimeout(this.timer)
    this.awareness.off('change', this.render)
  }
}
