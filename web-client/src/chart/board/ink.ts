// Ink: a stroke's points as an SVG path, and whether a point touches a stroke.

import { getStroke } from 'perfect-freehand'
import { INK_COLORS, type Stroke } from './model'

export interface Box {
  x0: number
  y0: number
  x1: number
  y1: number
}

export function bounds(points: number[]): Box {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (let i = 0; i + 1 < points.length; i += 2) {
    const x = points[i]
    const y = points[i + 1]
    if (x < x0) x0 = x
    if (x > x1) x1 = x
    if (y < y0) y0 = y
    if (y > y1) y1 = y
  }
  return { x0, y0, x1, y1 }
}

const r1 = (v: number) => Math.round(v * 10) / 10

/**
 * Sets `path`'s shape and paint for `s`. A pen stroke is perfect-freehand's
 * outline (thinner where the pen moved fast) filled; a highlighter is a wide
 * translucent line of even width. `points` overrides the stored points while
 * this browser draws the stroke.
 */
export function paintStroke(path: SVGPathElement, s: Stroke, points = s.points): void {
  const color = INK_COLORS[s.color]
  if (points.length < 2) {
    path.setAttribute('d', '')
    return
  }
  if (s.tool === 'highlighter') {
    let d = `M${points[0]} ${points[1]}`
    if (points.length === 2) d += `l0.1 0`
    for (let i = 2; i + 1 < points.length; i += 2) d += `L${points[i]} ${points[i + 1]}`
    path.setAttribute('d', d)
    path.setAttribute('fill', 'none')
    path.setAttribute('stroke', color)
    path.setAttribute('stroke-width', String(s.width))
    path.setAttribute('stroke-linecap', 'round')
    path.setAttribute('stroke-linejoin', 'round')
    path.setAttribute('stroke-opacity', '0.35')
    return
  }
  const input: [number, number][] = []
  for (let i = 0; i + 1 < points.length; i += 2) input.push([points[i], points[i + 1]])
  const outline = getStroke(input, { size: s.width, thinning: 0.45, smoothing: 0.5, streamline: 0.4, simulatePressure: true, last: s.done })
  if (outline.length === 0) {
    path.setAttribute('d', '')
    return
  }
  let d = `M${r1(outline[0][0])} ${r1(outline[0][1])}`
  for (let i = 1; i < outline.length; i++) d += `L${r1(outline[i][0])} ${r1(outline[i][1])}`
  path.setAttribute('d', `${d}Z`)
  path.setAttribute('fill', color)
  path.removeAttribute('stroke')
}

/** Does the point (x, y) come within `r` of the stroke's line (widened by its own width)? */
export function touches(points: number[], box: Box, width: number, x: number, y: number, r: number): boolean {
  const reach = r + width / 2
  if (x < box.x0 - reach || x > box.x1 + reach || y < box.y0 - reach || y > box.y1 + reach) return false
  const r2 = reach * reach
  if (points.length === 2) return (points[0] - x) ** 2 + (points[1] - y) ** 2 <= r2
  for (let i = 0; i + 3 < points.length; i += 2) {
    const ax = points[i]
    const ay = points[i + 1]
    const dx = points[i + 2] - ax
    const dy = points[i + 3] - ay
    const len2 = dx * dx + dy * dy
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2))
    const px = ax + t * dx - x
    const py = ay + t * dy - y
    if (px * px + py * py <= r2) return true
  }
  return false
}
