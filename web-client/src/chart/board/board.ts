// The board beside the notes: sticky notes and freehand ink on a fixed
// 4000 × 3000 board space (docs/chart-schema.md, "The board").
//
// One transformed layer holds the paper, the stickies (HTML, so they take
// focus, text and a screen reader's attention) and an SVG with the ink above
// them; panning and zooming change that layer's transform only. Everything
// drawn comes from the Y.Doc, redrawn per item on the next frame after a
// change; the only local overrides are the sticky being dragged and the
// stroke being drawn, so this browser sees its own gesture without waiting
// for the next write.
//
// Beside this file: the board's data in the Y.Doc (model.ts), a stroke's
// path and hit test (ink.ts), and the others' pointers (cursors.ts).

import type { Awareness } from 'y-protocols/awareness'
import { h, toast } from '../../util'
import { Cursors } from './cursors'
import { bounds, paintStroke, touches, type Box } from './ink'
import {
  BOARD_H,
  BOARD_W,
  BoardModel,
  INK_COLORS,
  LIMITS,
  LimitError,
  STICKY_COLORS,
  UNDO_CAPTURE_MS,
  type BoardChange,
  type InkColor,
  type InkTool,
  type StickyColor,
} from './model'

const SVG = 'http://www.w3.org/2000/svg'
/** How often a stroke being drawn and a dragged sticky are written. */
const WRITE_EVERY_MS = 50
const MIN_SCALE_FACTOR = 0.9
const MAX_SCALE = 4
const WIDTH: Record<InkTool, number> = { pen: 6, highlighter: 28 }

type Tool = 'select' | InkTool | 'eraser'

const TOOLS: { tool: Tool; label: string; key: string; icon: string }[] = [
  { tool: 'select', label: 'Select and move', key: 'V', icon: '➚' },
  { tool: 'pen', label: 'Pen', key: 'P', icon: '✎' },
  { tool: 'highlighter', label: 'Highlighter', key: 'H', icon: '▍' },
  { tool: 'eraser', label: 'Eraser', key: 'E', icon: '⌫' },
]

/** The keys the board answers to; shown in its help and in README. */
export const BOARD_KEYS: [string, string][] = [
  ['N', 'add a sticky note (in the middle of the view) and start typing in it'],
  ['Tab', 'go from sticky to sticky'],
  ['Enter or F2', 'edit the focused sticky; Escape ends editing'],
  ['Arrow keys', 'move the focused sticky (with Shift: further); on the board itself, pan'],
  ['Alt + arrow keys', 'resize the focused sticky'],
  ['Delete', 'remove the focused sticky'],
  ['V, P, H, E', 'select, pen, highlighter, eraser'],
  ['Ctrl+Z, Ctrl+Shift+Z', 'undo and redo your own changes'],
  ['+, −, 0', 'zoom in, zoom out, fit the board'],
]

interface StrokeCache {
  path: SVGPathElement
  points: number[]
  box: Box
  width: number
}

type Gesture =
  | { kind: 'pan'; pointer: number; sx: number; sy: number; tx0: number; ty0: number }
  | { kind: 'drag'; pointer: number; id: string; el: HTMLElement; ox: number; oy: number; sx: number; sy: number; moved: boolean; wasSelected: boolean; x: number; y: number; last: number }
  | { kind: 'resize'; pointer: number; id: string; el: HTMLElement; sx: number; sy: number; w0: number; h0: number; w: number; h: number; last: number }
  | { kind: 'draw'; pointer: number; id: string | null; points: number[]; sent: number; full: boolean }
  | { kind: 'erase'; pointer: number }
  | { kind: 'pinch'; a: number; b: number; d0: number; mx0: number; my0: number; s0: number; tx0: number; ty0: number }

export interface BoardOptions {
  awareness: Awareness
  me: () => { name: string; color: string }
}

export class Board {
  readonly el: HTMLElement
  readonly model: BoardModel
  private viewport: HTMLElement
  private world: HTMLElement
  private stickyLayer: HTMLElement
  private ink: SVGSVGElement
  private strokeLayer: SVGGElement
  private arrowLayer: SVGGElement
  private cursors: Cursors
  private toolbar: HTMLElement
  private summary: HTMLElement
  private toolButtons = new Map<Tool, HTMLButtonElement>()
  private swatches: HTMLElement
  private swatchLabel: HTMLElement
  private addButton: HTMLButtonElement
  private deleteButton: HTMLButtonElement
  private undoButton: HTMLButtonElement
  private redoButton: HTMLButtonElement
  private editTools: HTMLElement[] = []

  private stickyEls = new Map<string, HTMLElement>()
  private strokes = new Map<string, StrokeCache>()
  private dirty: BoardChange = { all: true, stickies: new Set(), strokes: new Set(), arrows: true }
  private frame = 0
  private view = { tx: 0, ty: 0, s: 0.25 }
  private fitted = false
  private tool: Tool = 'select'
  private inkColor: InkColor = 'black'
  private stickyColor: StickyColor = 'yellow'
  private selected: string | null = null
  private editing: { id: string; ta: HTMLTextAreaElement } | null = null
  private readOnly = true
  private ready = false
  private pointers = new Map<number, { x: number; y: number }>()
  private gesture: Gesture | null = null
  private writeTimer = 0
  private drawnMarked = false
  private unobserve: () => void
  private resizeObserver: ResizeObserver
  private limitShown = new Set<string>()

  constructor(
    doc: import('yjs').Doc,
    private opts: BoardOptions,
  ) {
    this.model = new BoardModel(doc)

    // ---- toolbar ----
    this.toolbar = h('div', { class: 'board-toolbar', role: 'toolbar', 'aria-label': 'Board tools', 'aria-controls': 'board-viewport' })
    const toolGroup = h('div', { class: 'board-group', role: 'group', 'aria-label': 'Tool' })
    for (const t of TOOLS) {
      const b = h(
        'button',
        {
          type: 'button',
          class: `tool board-tool board-tool-${t.tool}`,
          'aria-label': t.label,
          title: `${t.label} (${t.key})`,
          'aria-pressed': 'false',
          'data-tool': t.tool,
          onclick: () => this.setTool(t.tool),
        },
        h('span', { 'aria-hidden': 'true' }, t.icon),
      )
      this.toolButtons.set(t.tool, b)
      toolGroup.appendChild(b)
    }
    this.swatchLabel = h('span', { class: 'sr-only', id: 'board-colour-label' }, 'Sticky colour')
    this.swatches = h('div', { class: 'board-group board-swatches', role: 'group', 'aria-labelledby': 'board-colour-label' }, this.swatchLabel)
    this.addButton = h('button', { type: 'button', class: 'btn btn-small', id: 'board-add', title: 'Add a sticky note (N)', onclick: () => this.addSticky() }, '+ Sticky')
    this.addButton.setAttribute('aria-label', '+ Sticky: add a sticky note')
    this.deleteButton = h('button', { type: 'button', class: 'tool board-delete', 'aria-label': 'Delete: remove the selected sticky', title: 'Delete the selected sticky (Delete)', disabled: true, onclick: () => this.deleteSelected() }, 'Delete')
    this.undoButton = h('button', { type: 'button', class: 'tool', 'aria-label': 'Undo on the board', title: 'Undo your last change on the board (Ctrl+Z)', disabled: true, onclick: () => this.undo() }, h('span', { 'aria-hidden': 'true' }, '↶'))
    this.redoButton = h('button', { type: 'button', class: 'tool', 'aria-label': 'Redo on the board', title: 'Redo (Ctrl+Shift+Z)', disabled: true, onclick: () => this.redo() }, h('span', { 'aria-hidden': 'true' }, '↷'))
    const zoomGroup = h(
      'div',
      { class: 'board-group', role: 'group', 'aria-label': 'Zoom' },
      h('button', { type: 'button', class: 'tool', 'aria-label': 'Zoom out', title: 'Zoom out (−)', onclick: () => this.zoomBy(1 / 1.25) }, h('span', { 'aria-hidden': 'true' }, '−')),
      h('button', { type: 'button', class: 'tool', 'aria-label': 'Zoom in', title: 'Zoom in (+)', onclick: () => this.zoomBy(1.25) }, h('span', { 'aria-hidden': 'true' }, '+')),
      h('button', { type: 'button', class: 'tool board-fit', 'aria-label': 'Fit', title: 'Fit what is on the board (0)', onclick: () => this.fit() }, 'Fit'),
    )
    const keys = h(
      'details',
      { class: 'board-keys' },
      h('summary', {}, 'Keys'),
      h(
        'dl',
        {},
        BOARD_KEYS.flatMap(([k, what]) => [h('dt', {}, k), h('dd', {}, what)]),
      ),
    )
    const editGroup = h('div', { class: 'board-group' }, this.addButton, this.deleteButton, this.undoButton, this.redoButton)
    this.editTools = [toolGroup, this.swatches, editGroup]
    this.toolbar.append(toolGroup, this.swatches, editGroup, zoomGroup, keys)

    // ---- surface ----
    this.stickyLayer = h('div', { class: 'board-stickies' })
    this.ink = document.createElementNS(SVG, 'svg')
    this.ink.setAttribute('class', 'board-ink')
    this.ink.setAttribute('viewBox', `0 0 ${BOARD_W} ${BOARD_H}`)
    this.ink.setAttribute('width', String(BOARD_W))
    this.ink.setAttribute('height', String(BOARD_H))
    this.ink.setAttribute('aria-hidden', 'true')
    const defs = document.createElementNS(SVG, 'defs')
    const marker = document.createElementNS(SVG, 'marker')
    marker.setAttribute('id', 'board-arrowhead')
    marker.setAttribute('viewBox', '0 0 10 10')
    marker.setAttribute('refX', '9')
    marker.setAttribute('refY', '5')
    marker.setAttribute('markerWidth', '6')
    marker.setAttribute('markerHeight', '6')
    marker.setAttribute('orient', 'auto-start-reverse')
    const tip = document.createElementNS(SVG, 'path')
    tip.setAttribute('d', 'M0 0L10 5L0 10z')
    tip.setAttribute('fill', 'context-stroke')
    marker.appendChild(tip)
    defs.appendChild(marker)
    this.arrowLayer = document.createElementNS(SVG, 'g')
    this.strokeLayer = document.createElementNS(SVG, 'g')
    this.ink.append(defs, this.arrowLayer, this.strokeLayer)
    this.world = h('div', { class: 'board-world' }, h('div', { class: 'board-paper' }), this.stickyLayer)
    this.world.appendChild(this.ink)
    this.cursors = new Cursors(opts.awareness, () => this.view)
    this.summary = h('span', { class: 'sr-only', id: 'board-summary' })
    this.viewport = h(
      'div',
      {
        class: 'board-viewport',
        id: 'board-viewport',
        tabindex: 0,
        role: 'group',
        'aria-roledescription': 'board',
        'aria-label': 'Board',
        'aria-describedby': 'board-summary',
        'data-tool': 'select',
      },
      this.world,
      this.cursors.el,
    )
    this.el = h('section', { class: 'board', 'aria-label': 'Board' }, this.toolbar, this.viewport, this.summary)

    this.renderSwatches()
    this.setTool('select')
    this.setReadOnly(true)

    // ---- events ----
    this.unobserve = this.model.observe((c) => this.markDirty(c))
    this.model.undo.on('stack-item-added', this.refreshUndo)
    this.model.undo.on('stack-item-popped', this.refreshUndo)
    this.model.undo.on('stack-cleared', this.refreshUndo)
    this.viewport.addEventListener('pointerdown', this.onPointerDown)
    this.viewport.addEventListener('pointermove', this.onPointerMove)
    this.viewport.addEventListener('pointerup', this.onPointerUp)
    this.viewport.addEventListener('pointercancel', this.onPointerUp)
    this.viewport.addEventListener('pointerleave', this.onPointerLeave)
    this.viewport.addEventListener('wheel', this.onWheel, { passive: false })
    this.viewport.addEventListener('dblclick', this.onDoubleClick)
    this.viewport.addEventListener('focusin', this.onFocusIn)
    this.el.addEventListener('keydown', this.onKey)
    this.resizeObserver = new ResizeObserver(() => {
      if (!this.fitted && this.ready) this.fit()
      else this.applyView()
      // Shown for the first time (the Board tab): the render marks it drawn.
      this.schedule()
    })
    this.resizeObserver.observe(this.viewport)
    this.schedule()
  }

  // ---- lifecycle -------------------------------------------------------------

  /** The chart is loaded (first sync): the board's maps can be made if missing. */
  start(): void {
    this.ready = true
    if (!this.readOnly) this.model.ensure()
    this.markDirty({ all: true, stickies: new Set(), strokes: new Set(), arrows: true })
  }

  setReadOnly(ro: boolean): void {
    this.readOnly = ro
    for (const el of this.editTools) el.hidden = ro
    this.viewport.dataset.readonly = String(ro)
    this.el.classList.toggle('board-readonly', ro)
    if (ro) {
      this.stopEditing(false)
      this.endGesture()
      this.setTool('select')
    } else if (this.ready) this.model.ensure()
    this.refreshUndo()
    this.refreshSelection()
  }

  destroy(): void {
    cancelAnimationFrame(this.frame)
    clearInterval(this.writeTimer)
    clearTimeout(this.wheelTimer)
    this.unobserve()
    this.resizeObserver.disconnect()
    this.cursors.destroy()
    this.model.destroy()
  }

  // ---- drawing from the doc --------------------------------------------------------

  private markDirty(c: BoardChange): void {
    if (c.all) this.dirty.all = true
    for (const id of c.stickies) this.dirty.stickies.add(id)
    for (const id of c.strokes) this.dirty.strokes.add(id)
    if (c.arrows) this.dirty.arrows = true
    this.schedule()
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render())
  }

  private render(): void {
    this.frame = 0
    const d = this.dirty
    this.dirty = { all: false, stickies: new Set(), strokes: new Set(), arrows: false }
    const t0 = performance.now()
    if (d.all) {
      const ids = new Set(this.model.ids('stickies'))
      for (const id of this.stickyEls.keys()) if (!ids.has(id)) this.renderSticky(id)
      for (const id of ids) this.renderSticky(id)
      const sids = new Set(this.model.ids('strokes'))
      for (const id of this.strokes.keys()) if (!sids.has(id)) this.renderStroke(id)
      for (const id of sids) this.renderStroke(id)
    } else {
      for (const id of d.stickies) this.renderSticky(id)
      for (const id of d.strokes) this.renderStroke(id)
    }
    if (d.all || d.arrows) this.renderArrows()
    const g = this.gesture
    if (g?.kind === 'draw' && !g.id) this.drawPreview(g)
    // How long drawing everything took, for the measurements in BENCHMARKS.md.
    if (d.all && this.ready) this.viewport.dataset.renderMs = (performance.now() - t0).toFixed(1)
    const n = this.stickyEls.size
    const m = this.strokes.size
    const summary = `${n} sticky ${n === 1 ? 'note' : 'notes'}, ${m} ink ${m === 1 ? 'stroke' : 'strokes'}.${this.readOnly ? ' Read only.' : ' Press N to add a sticky note.'}`
    if (this.summary.textContent !== summary) this.summary.textContent = summary
    this.viewport.dataset.stickies = String(n)
    this.viewport.dataset.strokes = String(m)
    if (this.selected && !this.stickyEls.has(this.selected)) this.select(null)
    if (this.ready && !this.fitted && this.viewport.clientWidth > 0) this.fit()
    if (this.ready && !this.drawnMarked && this.viewport.clientWidth > 0) {
      this.drawnMarked = true
      // After the frame that paints it: the time from navigation to a drawn board.
      requestAnimationFrame(() =>
        setTimeout(() => {
          performance.mark('easel-board-drawn')
          this.viewport.dataset.drawnAt = String(Math.round(performance.now()))
        }),
      )
    }
  }

  private renderSticky(id: string): void {
    const s = this.model.sticky(id)
    let el = this.stickyEls.get(id)
    if (!s) {
      if (el) {
        if (this.editing?.id === id) this.editing = null
        const hadFocus = el.contains(document.activeElement)
        el.remove()
        this.stickyEls.delete(id)
        if (hadFocus) this.viewport.focus({ preventScroll: true })
      }
      return
    }
    if (!el) {
      el = h(
        'div',
        { class: 'sticky', tabindex: 0, role: 'group', 'aria-roledescription': 'sticky note', 'data-id': id },
        h('div', { class: 'sticky-text', 'aria-hidden': 'true' }),
        h('div', { class: 'sticky-resize', 'aria-hidden': 'true' }),
      )
      this.stickyEls.set(id, el)
      this.stickyLayer.appendChild(el)
    }
    const g = this.gesture
    const x = g?.kind === 'drag' && g.id === id ? g.x : s.x
    const y = g?.kind === 'drag' && g.id === id ? g.y : s.y
    const w = g?.kind === 'resize' && g.id === id ? g.w : s.w
    const hh = g?.kind === 'resize' && g.id === id ? g.h : s.h
    el.style.transform = `translate(${x}px, ${y}px)`
    el.style.width = `${w}px`
    el.style.height = `${hh}px`
    el.style.zIndex = String(Math.max(0, Math.min(1e6, Math.round(s.z))))
    el.style.background = STICKY_COLORS[s.color]
    el.dataset.color = s.color
    el.dataset.x = String(s.x)
    el.dataset.y = String(s.y)
    const textEl = el.firstElementChild as HTMLElement
    if (textEl.textContent !== s.text) textEl.textContent = s.text
    const label = `${s.text.trim().slice(0, 200) || 'Empty sticky note'}${s.author ? ` (by ${s.author})` : ''}`
    if (el.getAttribute('aria-label') !== label) el.setAttribute('aria-label', label)
    if (this.editing?.id === id && this.editing.ta.value !== s.text) {
      const ta = this.editing.ta
      const a = ta.selectionStart
      const b = ta.selectionEnd
      ta.value = s.text
      ta.setSelectionRange(Math.min(a, s.text.length), Math.min(b, s.text.length))
    }
  }

  private renderStroke(id: string): void {
    const s = this.model.stroke(id)
    let c = this.strokes.get(id)
    if (!s) {
      if (c) {
        c.path.remove()
        this.strokes.delete(id)
      }
      return
    }
    if (!c) {
      const path = document.createElementNS(SVG, 'path')
      path.dataset.id = id
      c = { path, points: [], box: bounds([]), width: s.width }
      this.strokes.set(id, c)
      this.strokeLayer.appendChild(path)
    }
    const g = this.gesture
    const points = g?.kind === 'draw' && g.id === id && g.points.length > s.points.length ? g.points : s.points
    c.points = points
    c.box = bounds(points)
    c.width = s.width
    c.path.dataset.done = String(s.done)
    c.path.dataset.points = String(s.points.length / 2)
    paintStroke(c.path, s, points)
  }

  private renderArrows(): void {
    const arrows = this.model.arrows()
    this.arrowLayer.replaceChildren()
    for (const a of arrows) {
      const from = this.model.sticky(a.from)
      const to = this.model.sticky(a.to)
      if (!from || !to || a.from === a.to) continue
      const fx = from.x + from.w / 2
      const fy = from.y + from.h / 2
      const tx = to.x + to.w / 2
      const ty = to.y + to.h / 2
      const edge = (cx: number, cy: number, w: number, hh: number, dx: number, dy: number) => {
        // How far along (dx, dy) from a sticky's centre its edge is.
        const t = Math.min(dx ? w / 2 / Math.abs(dx) : Infinity, dy ? hh / 2 / Math.abs(dy) : Infinity)
        return [cx + dx * t, cy + dy * t]
      }
      const [x0, y0] = edge(fx, fy, from.w, from.h, tx - fx, ty - fy)
      const [x1, y1] = edge(tx, ty, to.w, to.h, fx - tx, fy - ty)
      const line = document.createElementNS(SVG, 'line')
      line.setAttribute('x1', String(x0))
      line.setAttribute('y1', String(y0))
      line.setAttribute('x2', String(x1))
      line.setAttribute('y2', String(y1))
      line.setAttribute('stroke', INK_COLORS[a.color])
      line.setAttribute('stroke-width', '5')
      line.setAttribute('marker-end', 'url(#board-arrowhead)')
      this.arrowLayer.appendChild(line)
    }
  }

  // ---- view: pan and zoom ---------------------------------------------------------

  private minScale(): number {
    const vw = this.viewport.clientWidth || 1
    const vh = this.viewport.clientHeight || 1
    return Math.min(vw / BOARD_W, vh / BOARD_H) * MIN_SCALE_FACTOR
  }

  private applyView(): void {
    const vw = this.viewport.clientWidth
    const vh = this.viewport.clientHeight
    const v = this.view
    v.s = Math.max(this.minScale(), Math.min(MAX_SCALE, v.s))
    // Some of the board always stays in view.
    const bw = BOARD_W * v.s
    const bh = BOARD_H * v.s
    v.tx = Math.min(Math.max(v.tx, Math.min(0, vw - bw) - vw / 2), Math.max(0, vw - bw) + vw / 2)
    v.ty = Math.min(Math.max(v.ty, Math.min(0, vh - bh) - vh / 2), Math.max(0, vh - bh) + vh / 2)
    this.world.style.transform = `translate(${v.tx}px, ${v.ty}px) scale(${v.s})`
    this.viewport.dataset.scale = v.s.toFixed(3)
    this.cursors.render()
  }

  /** Shows what is on the board (everything, or the middle of an empty board). */
  fit(): void {
    const vw = this.viewport.clientWidth
    const vh = this.viewport.clientHeight
    if (!vw || !vh) return
    this.fitted = true
    let box: Box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity }
    for (const id of this.stickyEls.keys()) {
      const s = this.model.sticky(id)
      if (!s) continue
      box = { x0: Math.min(box.x0, s.x), y0: Math.min(box.y0, s.y), x1: Math.max(box.x1, s.x + s.w), y1: Math.max(box.y1, s.y + s.h) }
    }
    for (const c of this.strokes.values()) {
      if (!c.points.length) continue
      box = { x0: Math.min(box.x0, c.box.x0), y0: Math.min(box.y0, c.box.y0), x1: Math.max(box.x1, c.box.x1), y1: Math.max(box.y1, c.box.y1) }
    }
    if (!Number.isFinite(box.x0)) box = { x0: BOARD_W / 2 - 700, y0: BOARD_H / 2 - 500, x1: BOARD_W / 2 + 700, y1: BOARD_H / 2 + 500 }
    const m = 60
    const s = Math.min(1, vw / (box.x1 - box.x0 + 2 * m), vh / (box.y1 - box.y0 + 2 * m))
    this.view.s = Math.max(this.minScale(), s)
    this.view.tx = vw / 2 - ((box.x0 + box.x1) / 2) * this.view.s
    this.view.ty = vh / 2 - ((box.y0 + box.y1) / 2) * this.view.s
    this.applyView()
  }

  private zoomBy(f: number, cx = this.viewport.clientWidth / 2, cy = this.viewport.clientHeight / 2): void {
    const v = this.view
    const s = Math.max(this.minScale(), Math.min(MAX_SCALE, v.s * f))
    v.tx = cx - ((cx - v.tx) * s) / v.s
    v.ty = cy - ((cy - v.ty) * s) / v.s
    v.s = s
    this.applyView()
  }

  private toBoard(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.viewport.getBoundingClientRect()
    return { x: (clientX - r.left - this.view.tx) / this.view.s, y: (clientY - r.top - this.view.ty) / this.view.s }
  }

  private local(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.viewport.getBoundingClientRect()
    return { x: clientX - r.left, y: clientY - r.top }
  }

  private moving(on: boolean): void {
    // A cached layer while a gesture pans or zooms; drawn sharp again after.
    // Measured (BENCHMARKS.md, "The board"): without it a pan of the busy
    // board ran at 20-30 frames a second in chromium, with it at 60.
    this.world.classList.toggle('is-moving', on)
  }

  // ---- tools and toolbar -------------------------------------------------------------

  setTool(tool: Tool): void {
    if (this.readOnly && tool !== 'select') return
    this.tool = tool
    for (const [t, b] of this.toolButtons) b.setAttribute('aria-pressed', String(t === tool))
    this.viewport.dataset.tool = tool
    if (tool !== 'select') this.stopEditing(false)
    this.renderSwatches()
  }

  private renderSwatches(): void {
    const ink = this.tool === 'pen' || this.tool === 'highlighter'
    const sticky = this.tool === 'select'
    this.swatches.hidden = this.readOnly || !(ink || sticky)
    this.swatchLabel.textContent = ink ? 'Ink colour' : 'Sticky colour'
    this.swatches.querySelectorAll('button').forEach((b) => b.remove())
    const palette = ink ? INK_COLORS : STICKY_COLORS
    const current = ink ? this.inkColor : this.stickyColor
    for (const [name, hex] of Object.entries(palette)) {
      const b = h('button', {
        type: 'button',
        class: 'swatch',
        'aria-label': name[0].toUpperCase() + name.slice(1),
        title: ink ? `Ink: ${name}` : `Sticky: ${name}`,
        'aria-pressed': String(name === current),
        'data-color': name,
        onclick: () => {
          if (ink) this.inkColor = name as InkColor
          else {
            this.stickyColor = name as StickyColor
            if (this.selected && !this.readOnly) this.model.recolorSticky(this.selected, name as StickyColor)
          }
          this.renderSwatches()
        },
      })
      b.style.background = hex
      this.swatches.appendChild(b)
    }
  }

  private refreshUndo = (): void => {
    this.undoButton.disabled = this.readOnly || this.model.undo.undoStack.length === 0
    this.redoButton.disabled = this.readOnly || this.model.undo.redoStack.length === 0
  }

  private undo(): void {
    if (this.readOnly) return
    this.stopEditing(false)
    this.model.undo.undo()
  }

  private redo(): void {
    if (this.readOnly) return
    this.stopEditing(false)
    this.model.undo.redo()
  }

  private lastStep = ''
  /** Starts a new undo step, unless `tag` says this change continues the last one. */
  private step(tag = ''): void {
    if (!tag || tag !== this.lastStep) this.model.undo.stopCapturing()
    this.lastStep = tag
  }

  /** While a gesture lasts it is one undo step, however long the pen rests. */
  private holdUndo(on: boolean): void {
    this.model.undo.captureTimeout = on ? Number.MAX_SAFE_INTEGER : UNDO_CAPTURE_MS
  }

  private limit(e: unknown): void {
    if (e instanceof LimitError) toast(e.message, 'error')
    else toast(`The board cannot take this change: ${e instanceof Error ? e.message : String(e)}`, 'error')
  }

  // ---- stickies --------------------------------------------------------------------

  private select(id: string | null): void {
    if (this.selected === id) return
    this.stickyEls.get(this.selected ?? '')?.classList.remove('is-selected')
    this.selected = id
    this.refreshSelection()
    // The colour buttons show the selected sticky's colour.
    if (id) {
      const s = this.model.sticky(id)
      if (s && s.color !== this.stickyColor) {
        this.stickyColor = s.color
        this.renderSwatches()
      }
    }
  }

  private refreshSelection(): void {
    const el = this.selected ? this.stickyEls.get(this.selected) : null
    el?.classList.add('is-selected')
    this.deleteButton.disabled = this.readOnly || !el
  }

  /** Adds a sticky in the middle of the view, not exactly on top of another, and starts editing it. */
  addSticky(): void {
    if (this.readOnly) return
    if (!this.model.map('stickies')) this.model.ensure()
    // The middle of the part of the board on screen (on a phone the board can reach below it).
    const r = this.viewport.getBoundingClientRect()
    const top = Math.max(r.top, 0)
    const bottom = Math.min(r.bottom, window.innerHeight || r.bottom)
    const c = this.toBoard(r.left + r.width / 2, bottom > top ? (top + bottom) / 2 : r.top + r.height / 2)
    let x = Math.round(c.x - 100)
    let y = Math.round(c.y - 100)
    const taken = (x: number, y: number) =>
      this.model.ids('stickies').some((id) => {
        const s = this.model.sticky(id)
        return s && Math.abs(s.x - x) < 20 && Math.abs(s.y - y) < 20
      })
    for (let i = 0; i < 20 && taken(x, y); i++) {
      x += 30
      y += 30
    }
    try {
      this.step()
      const id = this.model.addSticky({ x, y, color: this.stickyColor, author: this.opts.me().name })
      this.render()
      this.select(id)
      this.startEditing(id)
    } catch (e) {
      this.limit(e)
    }
  }

  private deleteSelected(): void {
    if (this.readOnly || !this.selected) return
    const id = this.selected
    // Focus goes to the next sticky, or the board.
    const els = [...this.stickyEls.values()]
    const i = els.findIndex((e) => e.dataset.id === id)
    const next = els[i + 1] ?? els[i - 1]
    this.stopEditing(false)
    this.step()
    this.model.deleteSticky(id)
    this.render()
    this.select(null)
    if (next) next.focus({ preventScroll: true })
    else this.viewport.focus({ preventScroll: true })
  }

  startEditing(id: string): void {
    if (this.readOnly) return
    if (this.editing?.id === id) {
      this.editing.ta.focus()
      return
    }
    this.stopEditing(false)
    const el = this.stickyEls.get(id)
    const s = this.model.sticky(id)
    if (!el || !s) return
    this.setTool('select')
    const ta = h('textarea', { class: 'sticky-edit', maxlength: LIMITS.stickyChars, 'aria-label': 'Sticky note text', spellcheck: 'true' })
    ta.value = s.text
    this.editing = { id, ta }
    el.classList.add('is-editing')
    el.appendChild(ta)
    ta.addEventListener('input', () => {
      if (ta.value.length >= LIMITS.stickyChars) this.once('chars', `A sticky note holds at most ${LIMITS.stickyChars.toLocaleString('en')} characters.`)
      this.model.setStickyText(id, ta.value)
    })
    ta.addEventListener('blur', () => {
      if (this.editing?.ta === ta) this.stopEditing(false)
    })
    ta.focus({ preventScroll: true })
    ta.setSelectionRange(ta.value.length, ta.value.length)
    this.reveal(s.x, s.y, s.w, s.h)
  }

  private once(key: string, message: string): void {
    if (this.limitShown.has(key)) return
    this.limitShown.add(key)
    toast(message, 'error')
    setTimeout(() => this.limitShown.delete(key), 4000)
  }

  stopEditing(refocus: boolean): void {
    const ed = this.editing
    if (!ed) return
    this.editing = null
    this.step()
    const el = this.stickyEls.get(ed.id)
    el?.classList.remove('is-editing')
    if (refocus && el) el.focus({ preventScroll: true })
    ed.ta.remove()
    this.markDirty({ all: false, stickies: new Set([ed.id]), strokes: new Set(), arrows: false })
  }

  /** Pans so that a board rectangle is in view. */
  private reveal(x: number, y: number, w: number, hh: number): void {
    const v = this.view
    const vw = this.viewport.clientWidth
    const vh = this.viewport.clientHeight
    const sx = x * v.s + v.tx
    const sy = y * v.s + v.ty
    const m = 16
    if (sx < m) v.tx += m - sx
    else if (sx + w * v.s > vw - m) v.tx -= Math.min(sx - m, sx + w * v.s - (vw - m))
    if (sy < m) v.ty += m - sy
    else if (sy + hh * v.s > vh - m) v.ty -= Math.min(sy - m, sy + hh * v.s - (vh - m))
    this.applyView()
  }

  // ---- keyboard --------------------------------------------------------------------------

  private onFocusIn = (e: FocusEvent): void => {
    const el = (e.target as Element).closest?.('.sticky') as HTMLElement | null
    if (el?.dataset.id) {
      this.select(el.dataset.id)
      const s = this.model.sticky(el.dataset.id)
      if (s && !this.editing) this.reveal(s.x, s.y, s.w, s.h)
    }
  }

  private onKey = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement
    if (target instanceof HTMLTextAreaElement && target.classList.contains('sticky-edit')) {
      if (e.key === 'Escape' || (e.key === 'Enter' && (e.ctrlKey || e.metaKey))) {
        e.preventDefault()
        this.stopEditing(true)
      }
      return
    }
    const inToolbar = this.toolbar.contains(target)
    const mod = e.ctrlKey || e.metaKey
    if (mod && !e.altKey && (e.key === 'z' || e.key === 'Z')) {
      e.preventDefault()
      if (e.shiftKey) this.redo()
      else this.undo()
      return
    }
    if (mod && !e.altKey && (e.key === 'y' || e.key === 'Y')) {
      e.preventDefault()
      this.redo()
      return
    }
    if (mod || inToolbar) return
    const stickyEl = target.closest('.sticky') as HTMLElement | null
    const id = stickyEl?.dataset.id
    const arrow = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key]
    if (id && !this.readOnly) {
      const s = this.model.sticky(id)
      if (arrow && s) {
        e.preventDefault()
        const step = e.shiftKey ? 50 : 10
        // Key presses in a row on one sticky are one step to undo.
        this.step(`${e.altKey ? 'size' : 'move'}:${id}`)
        if (e.altKey) this.model.resizeSticky(id, s.w + arrow[0] * step, s.h + arrow[1] * step)
        else this.model.moveSticky(id, s.x + arrow[0] * step, s.y + arrow[1] * step)
        const n = this.model.sticky(id)
        if (n) this.reveal(n.x, n.y, n.w, n.h)
        return
      }
      if (e.key === 'Enter' || e.key === 'F2') {
        e.preventDefault()
        this.startEditing(id)
        return
      }
      if (e.key === 'Delete' || e.key === 'Backspace') {
        e.preventDefault()
        this.select(id)
        this.deleteSelected()
        return
      }
    }
    if (arrow && target === this.viewport) {
      e.preventDefault()
      this.view.tx -= arrow[0] * 60
      this.view.ty -= arrow[1] * 60
      this.applyView()
      return
    }
    if (e.altKey) return
    switch (e.key) {
      case 'n':
      case 'N':
        if (!this.readOnly) {
          e.preventDefault()
          this.addSticky()
        }
        return
      case '+':
      case '=':
        e.preventDefault()
        this.zoomBy(1.25)
        return
      case '-':
      case '_':
        e.preventDefault()
        this.zoomBy(1 / 1.25)
        return
      case '0':
        e.preventDefault()
        this.fit()
        return
    }
    const tool = TOOLS.find((t) => t.key.toLowerCase() === e.key.toLowerCase())
    if (tool && !this.readOnly) {
      e.preventDefault()
      this.setTool(tool.tool)
    }
  }

  // ---- pointer: drag, resize, draw, erase, pan, pinch ----------------------------------------

  private onPointerDown = (e: PointerEvent): void => {
    const target = e.target as HTMLElement
    if (target.classList.contains('sticky-edit')) return
    if (e.pointerType === 'mouse' && e.button !== 0 && e.button !== 1) return
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY })
    try {
      this.viewport.setPointerCapture(e.pointerId)
    } catch {
      // The pointer is already gone (or was never a real one): its moves still come here while over the board.
    }
    if (this.pointers.size === 2) {
      // A second finger: whatever the first one began becomes a pinch.
      this.endGesture(true)
      const [a, b] = [...this.pointers.keys()]
      const pa = this.pointers.get(a)!
      const pb = this.pointers.get(b)!
      const mid = this.local((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
      this.gesture = { kind: 'pinch', a, b, d0: Math.hypot(pa.x - pb.x, pa.y - pb.y) || 1, mx0: mid.x, my0: mid.y, s0: this.view.s, tx0: this.view.tx, ty0: this.view.ty }
      this.moving(true)
      return
    }
    if (this.pointers.size > 2 || this.gesture) return
    e.preventDefault()
    const p = this.toBoard(e.clientX, e.clientY)
    const stickyEl = target.closest('.sticky') as HTMLElement | null
    const pan = () => {
      this.gesture = { kind: 'pan', pointer: e.pointerId, sx: e.clientX, sy: e.clientY, tx0: this.view.tx, ty0: this.view.ty }
      this.moving(true)
    }
    if (e.button === 1 || this.readOnly) return pan()
    if (this.tool === 'select') {
      const id = stickyEl?.dataset.id
      const s = id ? this.model.sticky(id) : null
      if (!id || !s || !stickyEl) {
        this.stopEditing(false)
        this.select(null)
        return pan()
      }
      if (this.editing && this.editing.id !== id) this.stopEditing(false)
      this.step()
      this.holdUndo(true)
      if (target.classList.contains('sticky-resize')) {
        this.gesture = { kind: 'resize', pointer: e.pointerId, id, el: stickyEl, sx: p.x, sy: p.y, w0: s.w, h0: s.h, w: s.w, h: s.h, last: 0 }
      } else {
        const wasSelected = this.selected === id
        this.select(id)
        this.gesture = { kind: 'drag', pointer: e.pointerId, id, el: stickyEl, ox: p.x - s.x, oy: p.y - s.y, sx: e.clientX, sy: e.clientY, moved: false, wasSelected, x: s.x, y: s.y, last: 0 }
      }
      return
    }
    if (this.tool === 'eraser') {
      this.step()
      this.holdUndo(true)
      this.gesture = { kind: 'erase', pointer: e.pointerId }
      this.erase(p.x, p.y)
      return
    }
    // Pen or highlighter. The stroke goes into the doc at the first write, so a
    // touch that turns into a pinch leaves nothing behind.
    if (this.model.count('strokes') >= LIMITS.strokes) {
      toast(`A board holds at most ${LIMITS.strokes.toLocaleString('en')} strokes. Erase some to draw more.`, 'error')
      return
    }
    this.gesture = { kind: 'draw', pointer: e.pointerId, id: null, points: [Math.round(p.x), Math.round(p.y)], sent: 0, full: false }
    clearInterval(this.writeTimer)
    this.writeTimer = window.setInterval(() => this.flushStroke(false), WRITE_EVERY_MS)
  }

  private onPointerMove = (e: PointerEvent): void => {
    const p = this.toBoard(e.clientX, e.clientY)
    this.cursors.send(p)
    if (!this.pointers.has(e.pointerId)) return
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY })
    const g = this.gesture
    if (!g) return
    if (g.kind === 'pinch') {
      const pa = this.pointers.get(g.a)
      const pb = this.pointers.get(g.b)
      if (!pa || !pb) return
      const mid = this.local((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
      const s = Math.max(this.minScale(), Math.min(MAX_SCALE, (g.s0 * Math.hypot(pa.x - pb.x, pa.y - pb.y)) / g.d0))
      // The board point under the fingers' first midpoint follows the midpoint.
      this.view.s = s
      this.view.tx = mid.x - ((g.mx0 - g.tx0) * s) / g.s0
      this.view.ty = mid.y - ((g.my0 - g.ty0) * s) / g.s0
      this.applyView()
      return
    }
    if ('pointer' in g && g.pointer !== e.pointerId) return
    if (g.kind === 'pan') {
      this.view.tx = g.tx0 + e.clientX - g.sx
      this.view.ty = g.ty0 + e.clientY - g.sy
      this.applyView()
    } else if (g.kind === 'drag') {
      if (!g.moved && Math.hypot(e.clientX - g.sx, e.clientY - g.sy) < 4) return
      if (!g.moved) {
        g.moved = true
        this.model.raiseSticky(g.id)
      }
      const s = this.model.sticky(g.id)
      if (!s) return
      g.x = Math.round(Math.max(0, Math.min(BOARD_W - s.w, p.x - g.ox)))
      g.y = Math.round(Math.max(0, Math.min(BOARD_H - s.h, p.y - g.oy)))
      g.el.style.transform = `translate(${g.x}px, ${g.y}px)`
      if (performance.now() - g.last >= WRITE_EVERY_MS) {
        g.last = performance.now()
        this.model.moveSticky(g.id, g.x, g.y)
      }
    } else if (g.kind === 'resize') {
      g.w = Math.round(Math.max(40, Math.min(1000, g.w0 + p.x - g.sx)))
      g.h = Math.round(Math.max(40, Math.min(1000, g.h0 + p.y - g.sy)))
      g.el.style.width = `${g.w}px`
      g.el.style.height = `${g.h}px`
      if (performance.now() - g.last >= WRITE_EVERY_MS) {
        g.last = performance.now()
        this.model.resizeSticky(g.id, g.w, g.h)
      }
    } else if (g.kind === 'erase') {
      this.erase(p.x, p.y)
    } else if (g.kind === 'draw') {
      const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : []
      for (const ev of events.length ? events : [e]) this.addPoint(g, this.toBoard(ev.clientX, ev.clientY))
      this.markDirty({ all: false, stickies: new Set(), strokes: new Set(g.id ? [g.id] : []), arrows: false })
    }
  }

  private addPoint(g: Extract<Gesture, { kind: 'draw' }>, p: { x: number; y: number }): void {
    if (g.full) return
    const x = Math.round(Math.max(0, Math.min(BOARD_W, p.x)))
    const y = Math.round(Math.max(0, Math.min(BOARD_H, p.y)))
    const n = g.points.length
    // Whole board units, and no closer together than about a screen pixel.
    if (Math.hypot(x - g.points[n - 2], y - g.points[n - 1]) < Math.max(1, 1 / this.view.s)) return
    if (n / 2 >= LIMITS.strokePoints) {
      g.full = true
      toast(`A stroke holds at most ${LIMITS.strokePoints.toLocaleString('en')} points. Lift the pen and go on with a new stroke.`, 'error')
      return
    }
    g.points.push(x, y)
  }

  /** Before its first write, the stroke is drawn here only. */
  private preview: SVGPathElement | null = null
  private drawPreview(g: Extract<Gesture, { kind: 'draw' }>): void {
    if (!this.preview) {
      this.preview = document.createElementNS(SVG, 'path')
      this.strokeLayer.appendChild(this.preview)
    }
    const tool = this.tool === 'highlighter' ? 'highlighter' : 'pen'
    paintStroke(this.preview, { id: '', points: g.points, color: this.inkColor, width: WIDTH[tool], tool, author: '', done: false })
  }

  /** Writes the points drawn since the last write (the stroke itself at the first). */
  private flushStroke(done: boolean): void {
    const g = this.gesture
    if (!g || g.kind !== 'draw') return
    try {
      if (!g.id) {
        const tool = this.tool === 'highlighter' ? 'highlighter' : 'pen'
        this.step()
        this.holdUndo(true)
        g.id = this.model.startStroke({ points: g.points, color: this.inkColor, width: WIDTH[tool], tool, author: this.opts.me().name })
        g.sent = g.points.length
        this.preview?.remove()
        this.preview = null
        if (done) this.model.extendStroke(g.id, [], true)
        return
      }
      if (g.sent < g.points.length || done) {
        this.model.extendStroke(g.id, g.points.slice(g.sent), done)
        g.sent = g.points.length
      }
    } catch (e) {
      this.preview?.remove()
      this.preview = null
      this.gesture = null
      this.holdUndo(false)
      clearInterval(this.writeTimer)
      this.limit(e)
    }
  }

  private erase(x: number, y: number): void {
    const r = 10 / this.view.s
    const hit: string[] = []
    for (const [id, c] of this.strokes) if (touches(c.points, c.box, c.width, x, y, r)) hit.push(id)
    if (hit.length) this.model.deleteStrokes(hit)
  }

  private onPointerUp = (e: PointerEvent): void => {
    if (!this.pointers.has(e.pointerId)) return
    this.pointers.delete(e.pointerId)
    const g = this.gesture
    if (!g) return
    if (g.kind === 'pinch') {
      if (g.a === e.pointerId || g.b === e.pointerId) this.endGesture()
      return
    }
    if (g.pointer !== e.pointerId) return
    if (g.kind === 'drag' && !g.moved && e.type === 'pointerup') {
      // A tap: focus the sticky; a tap on the selected one edits it.
      this.gesture = null
      this.holdUndo(false)
      if (g.wasSelected && !this.readOnly) this.startEditing(g.id)
      else g.el.focus({ preventScroll: true })
      return
    }
    this.endGesture()
  }

  /** Ends the gesture in progress, writing what it did; `abandon` drops a stroke not yet written. */
  private endGesture(abandon = false): void {
    const g = this.gesture
    if (!g) return
    if (g.kind === 'draw') {
      clearInterval(this.writeTimer)
      if (abandon && !g.id) {
        this.preview?.remove()
        this.preview = null
      } else this.flushStroke(true)
      this.step()
    } else if (g.kind === 'drag') {
      if (g.moved) this.model.moveSticky(g.id, g.x, g.y)
      this.step()
    } else if (g.kind === 'resize') {
      this.model.resizeSticky(g.id, g.w, g.h)
      this.step()
    } else if (g.kind === 'erase') {
      this.step()
    }
    this.gesture = null
    this.holdUndo(false)
    this.moving(false)
    if (g.kind === 'drag' || g.kind === 'resize') this.markDirty({ all: false, stickies: new Set([g.id]), strokes: new Set(), arrows: true })
    if (g.kind === 'draw' && g.id) this.markDirty({ all: false, stickies: new Set(), strokes: new Set([g.id]), arrows: false })
  }

  private onPointerLeave = (e: PointerEvent): void => {
    if (!this.pointers.has(e.pointerId)) this.cursors.send(null)
  }

  private onDoubleClick = (e: MouseEvent): void => {
    const el = (e.target as HTMLElement).closest('.sticky') as HTMLElement | null
    if (el?.dataset.id && this.tool === 'select' && !this.readOnly) this.startEditing(el.dataset.id)
  }

  private wheelTimer = 0
  private onWheel = (e: WheelEvent): void => {
    e.preventDefault()
    // Wheel events come in runs: one cached layer for the run.
    if (!this.gesture) {
      this.moving(true)
      clearTimeout(this.wheelTimer)
      this.wheelTimer = window.setTimeout(() => {
        if (!this.gesture) this.moving(false)
      }, 200)
    }
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.viewport.clientHeight : 1
    if (e.ctrlKey || e.metaKey) {
      const p = this.local(e.clientX, e.clientY)
      this.zoomBy(Math.exp((-e.deltaY * unit) / 300), p.x, p.y)
    } else {
      this.view.tx -= (e.shiftKey ? e.deltaY : e.deltaX) * unit
      this.view.ty -= (e.shiftKey ? 0 : e.deltaY) * unit
      this.applyView()
    }
  }
}
