// The board's data: sticky notes and ink strokes in the chart's Y.Doc, in
// exactly the shape docs/chart-schema.md ("The board") gives, which the
// server's reader and exports read too.
//
// Every change this browser makes goes through one transaction origin, and
// the undo manager tracks only that origin: undo takes back one's own
// changes, never somebody else's.

import * as Y from 'yjs'

export const BOARD_W = 4000
export const BOARD_H = 3000

/** The documented defaults (docs/chart-schema.md, "Limits"): the page refuses to go beyond them. */
export const LIMITS = {
  stickies: 500,
  stickyChars: 2000,
  strokes: 2000,
  strokePoints: 10000,
}

export const STICKY_COLORS = {
  yellow: '#fff3a0',
  pink: '#fbc8dc',
  blue: '#bfe3f7',
  green: '#cdeab0',
  orange: '#ffd59a',
  purple: '#dccff0',
} as const
export type StickyColor = keyof typeof STICKY_COLORS

export const INK_COLORS = {
  black: '#1d2733',
  red: '#c62828',
  blue: '#1e5bb8',
  green: '#2e7d32',
  orange: '#d35400',
  purple: '#7b3fa0',
} as const
export type InkColor = keyof typeof INK_COLORS

export type InkTool = 'pen' | 'highlighter'

export interface Sticky {
  id: string
  x: number
  y: number
  w: number
  h: number
  color: StickyColor
  author: string
  z: number
  text: string
}

export interface Stroke {
  id: string
  points: number[]
  color: InkColor
  width: number
  tool: InkTool
  author: string
  done: boolean
}

export interface Arrow {
  id: string
  from: string
  to: string
  color: InkColor
}

/** What changed in one batch of transactions: the ids touched, or everything. */
export interface BoardChange {
  all: boolean
  stickies: Set<string>
  strokes: Set<string>
  arrows: boolean
}

const KINDS = ['stickies', 'strokes', 'arrows'] as const
type Kind = (typeof KINDS)[number]

// Each of the board's three maps is created by a fixed client id in a
// one-item update, so two browsers that open an old chart at once create the
// very same item instead of two maps of which one (with whatever was put in
// it) would lose. Live clients are random 32-bit ids; the chart template
// reserves 1, the board 2-4 (docs/chart-schema.md).
const SEED_CLIENT: Record<Kind, number> = { stickies: 2, strokes: 3, arrows: 4 }

function seedUpdate(kind: Kind): Uint8Array {
  const d = new Y.Doc()
  d.clientID = SEED_CLIENT[kind]
  d.getMap('board').set(kind, new Y.Map())
  const u = Y.encodeStateAsUpdate(d)
  d.destroy()
  return u
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** Replaces `t`'s content by `next`, touching only the part between their common prefix and suffix. */
export function applyTextDiff(t: Y.Text, next: string): void {
  const prev = t.toString()
  if (prev === next) return
  let s = 0
  while (s < prev.length && s < next.length && prev[s] === next[s]) s++
  let e = 0
  while (e < prev.length - s && e < next.length - s && prev[prev.length - 1 - e] === next[next.length - 1 - e]) e++
  if (prev.length - s - e > 0) t.delete(s, prev.length - s - e)
  if (next.length - s - e > 0) t.insert(s, next.slice(s, next.length - e))
}

export class LimitError extends Error {}

/** Changes less than this apart are one step to undo (typing in a sticky). */
export const UNDO_CAPTURE_MS = 400

export class BoardModel {
  /** The origin of this browser's own board changes; the undo manager tracks only it. */
  readonly origin = { board: 'local' }
  readonly root: Y.Map<unknown>
  readonly undo: Y.UndoManager

  constructor(readonly doc: Y.Doc) {
    this.root = doc.getMap('board')
    this.undo = new Y.UndoManager(this.root, { trackedOrigins: new Set([this.origin]), captureTimeout: UNDO_CAPTURE_MS })
  }

  /** Creates the maps the chart lacks (a chart made before the board, or a fresh one). */
  ensure(): void {
    for (const kind of KINDS) {
      if (!(this.root.get(kind) instanceof Y.Map)) Y.applyUpdate(this.doc, seedUpdate(kind))
    }
  }

  map(kind: Kind): Y.Map<Y.Map<unknown>> | null {
    const m = this.root.get(kind)
    return m instanceof Y.Map ? (m as Y.Map<Y.Map<unknown>>) : null
  }

  private item(kind: Kind, id: string): Y.Map<unknown> | null {
    const m = this.map(kind)?.get(id)
    return m instanceof Y.Map ? m : null
  }

  ids(kind: Kind): string[] {
    const m = this.map(kind)
    return m ? [...m.keys()] : []
  }

  count(kind: Kind): number {
    return this.map(kind)?.size ?? 0
  }

  /** A sticky as it is drawn: numbers made sensible, unknown colours the default; null if it cannot be drawn. */
  sticky(id: string): Sticky | null {
    const m = this.item('stickies', id)
    if (!m) return null
    const x = num(m.get('x'))
    const y = num(m.get('y'))
    const w = m.has('w') ? num(m.get('w')) : 200
    const hh = m.has('h') ? num(m.get('h')) : 200
    if (x === null || y === null || w === null || hh === null) return null
    const color = String(m.get('color') ?? '')
    const text = m.get('text')
    return {
      id,
      x: clamp(x, 0, BOARD_W),
      y: clamp(y, 0, BOARD_H),
      w: clamp(w, 40, 1000),
      h: clamp(hh, 40, 1000),
      color: color in STICKY_COLORS ? (color as StickyColor) : 'yellow',
      author: typeof m.get('author') === 'string' ? String(m.get('author')).slice(0, 80) : '',
      z: num(m.get('z')) ?? 0,
      text: text instanceof Y.Text ? text.toString() : typeof text === 'string' ? text : '',
    }
  }

  stickyText(id: string): Y.Text | null {
    const t = this.item('stickies', id)?.get('text')
    return t instanceof Y.Text ? t : null
  }

  stroke(id: string): Stroke | null {
    const m = this.item('strokes', id)
    if (!m) return null
    const arr = m.get('points')
    const raw = arr instanceof Y.Array ? (arr.toArray() as unknown[]) : []
    const points: number[] = []
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const x = num(raw[i])
      const y = num(raw[i + 1])
      if (x === null || y === null) return null
      points.push(clamp(x, 0, BOARD_W), clamp(y, 0, BOARD_H))
    }
    const color = String(m.get('color') ?? '')
    const tool = m.get('tool') === 'highlighter' ? 'highlighter' : 'pen'
    const width = num(m.get('width'))
    if (m.has('width') && width === null) return null
    return {
      id,
      points,
      color: color in INK_COLORS ? (color as InkColor) : 'black',
      width: clamp(width ?? (tool === 'pen' ? 6 : 28), 1, 64),
      tool,
      author: typeof m.get('author') === 'string' ? String(m.get('author')) : '',
      done: m.get('done') === true,
    }
  }

  arrows(): Arrow[] {
    const m = this.map('arrows')
    if (!m) return []
    const out: Arrow[] = []
    for (const [id, a] of m.entries()) {
      if (!(a instanceof Y.Map)) continue
      const from = a.get('from')
      const to = a.get('to')
      if (typeof from !== 'string' || typeof to !== 'string') continue
      const color = String(a.get('color') ?? '')
      out.push({ id, from, to, color: color in INK_COLORS ? (color as InkColor) : 'black' })
    }
    return out
  }

  private change(f: () => void): void {
    this.doc.transact(f, this.origin)
  }

  /** Adds a sticky; throws LimitError at the chart's limit. */
  addSticky(s: { x: number; y: number; w?: number; h?: number; color: StickyColor; author: string; text?: string }): string {
    const stickies = this.map('stickies')
    if (!stickies) throw new Error('the board is not loaded yet')
    if (stickies.size >= LIMITS.stickies) {
      throw new LimitError(`A board holds at most ${LIMITS.stickies} sticky notes. Delete one to add another.`)
    }
    const id = randomId()
    const w = s.w ?? 200
    const hh = s.h ?? 200
    this.change(() => {
      const m = new Y.Map<unknown>()
      m.set('text', new Y.Text((s.text ?? '').slice(0, LIMITS.stickyChars)))
      m.set('x', Math.round(clamp(s.x, 0, BOARD_W - w)))
      m.set('y', Math.round(clamp(s.y, 0, BOARD_H - hh)))
      m.set('w', w)
      m.set('h', hh)
      m.set('color', s.color)
      m.set('author', s.author)
      m.set('z', this.topZ() + 1)
      stickies.set(id, m)
    })
    return id
  }

  topZ(): number {
    let z = 0
    const m = this.map('stickies')
    if (m) for (const s of m.values()) if (s instanceof Y.Map) z = Math.max(z, num(s.get('z')) ?? 0)
    return z
  }

  moveSticky(id: string, x: number, y: number): void {
    const m = this.item('stickies', id)
    if (!m) return
    const w = num(m.get('w')) ?? 200
    const hh = num(m.get('h')) ?? 200
    this.change(() => {
      m.set('x', Math.round(clamp(x, 0, BOARD_W - clamp(w, 40, 1000))))
      m.set('y', Math.round(clamp(y, 0, BOARD_H - clamp(hh, 40, 1000))))
    })
  }

  resizeSticky(id: string, w: number, hh: number): void {
    const m = this.item('stickies', id)
    if (!m) return
    this.change(() => {
      m.set('w', Math.round(clamp(w, 40, 1000)))
      m.set('h', Math.round(clamp(hh, 40, 1000)))
    })
  }

  recolorSticky(id: string, color: StickyColor): void {
    const m = this.item('stickies', id)
    if (m && m.get('color') !== color) this.change(() => m.set('color', color))
  }

  /** Puts the sticky on top of the others (a no-op when it already is). */
  raiseSticky(id: string): void {
    const m = this.item('stickies', id)
    if (!m) return
    const top = this.topZ()
    if ((num(m.get('z')) ?? 0) < top) this.change(() => m.set('z', top + 1))
  }

  deleteSticky(id: string): void {
    const m = this.map('stickies')
    if (m?.has(id)) this.change(() => m.delete(id))
  }

  /** Sets a sticky's text (cut to the limit); returns the text kept. */
  setStickyText(id: string, text: string): string {
    const kept = text.slice(0, LIMITS.stickyChars)
    const m = this.item('stickies', id)
    if (!m) return kept
    this.change(() => {
      const t = m.get('text')
      if (t instanceof Y.Text) applyTextDiff(t, kept)
      else m.set('text', new Y.Text(kept))
    })
    return kept
  }

  /** Starts a stroke with its first points; throws LimitError at the chart's limit. */
  startStroke(s: { points: number[]; color: InkColor; width: number; tool: InkTool; author: string }): string {
    const strokes = this.map('strokes')
    if (!strokes) throw new Error('the board is not loaded yet')
    if (strokes.size >= LIMITS.strokes) {
      throw new LimitError(`A board holds at most ${LIMITS.strokes} strokes. Erase some to draw more.`)
    }
    const id = randomId()
    this.change(() => {
      const m = new Y.Map<unknown>()
      const pts = new Y.Array<number>()
      pts.push(s.points.map(Math.round))
      m.set('points', pts)
      m.set('color', s.color)
      m.set('width', s.width)
      m.set('tool', s.tool)
      m.set('author', s.author)
      m.set('done', false)
      strokes.set(id, m)
    })
    return id
  }

  /** Appends a batch of points to a stroke being drawn; `done` when the pen lifted. */
  extendStroke(id: string, points: number[], done: boolean): void {
    const m = this.item('strokes', id)
    if (!m) return
    const pts = m.get('points')
    this.change(() => {
      if (points.length && pts instanceof Y.Array) pts.push(points.map(Math.round))
      if (done) m.set('done', true)
    })
  }

  deleteStrokes(ids: string[]): void {
    const m = this.map('strokes')
    if (!m || ids.length === 0) return
    this.change(() => {
      for (const id of ids) m.delete(id)
    })
  }

  /**
   * Calls `f` with what changed, after each transaction that touched the
   * board (own, remote or from the local store).
   */
  observe(f: (c: BoardChange) => void): () => void {
    const handler = (events: Y.YEvent<any>[]) => {
      const c: BoardChange = { all: false, stickies: new Set(), strokes: new Set(), arrows: false }
      for (const ev of events) {
        const path = ev.path
        if (path.length === 0) {
          c.all = true
          continue
        }
        const kind = path[0]
        if (kind === 'arrows') {
          c.arrows = true
          continue
        }
        if (kind !== 'stickies' && kind !== 'strokes') continue
        const set = c[kind]
        if (path.length === 1) {
          for (const k of (ev as Y.YMapEvent<unknown>).keysChanged) set.add(k)
          // A sticky that moved changes its arrows' ends.
          if (kind === 'stickies') c.arrows = true
        } else {
          set.add(String(path[1]))
          if (kind === 'stickies') c.arrows = true
        }
      }
      f(c)
    }
    this.root.observeDeep(handler)
    return () => this.root.unobserveDeep(handler)
  }

  destroy(): void {
    this.undo.destroy()
  }
}
