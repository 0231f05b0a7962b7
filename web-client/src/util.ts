// Small DOM helpers. Everything user-provided goes in as text nodes or
// attributes, never as HTML, so topics and names cannot inject markup.

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v)
    } else if (k === 'class') {
      el.className = String(v)
    } else if (v === true) {
      el.setAttribute(k, '')
    } else {
      el.setAttribute(k, String(v))
    }
  }
  append(el, children)
  return el
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)))
  }
}

/**
 * Replaces `el`'s children; if focus was inside on an element with an id,
 * it goes to the element with that id in the new children.
 */
export function replaceKeepingFocus(el: Element, children: Node[]): void {
  const active = document.activeElement
  const id = active && el.contains(active) ? active.id : ''
  el.replaceChildren(...children)
  if (id) document.getElementById(id)?.focus()
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild)
}

/** The current hash route: `#/chart/abc?token=x` -> parts ['chart','abc'], params. */
export interface Route {
  parts: string[]
  params: URLSearchParams
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#/, '')
  const q = raw.indexOf('?')
  const path = q >= 0 ? raw.slice(0, q) : raw
  const query = q >= 0 ? raw.slice(q + 1) : ''
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .map((p) => decodeURIComponent(p))
  return { parts, params: new URLSearchParams(query) }
}

/**
 * A hash link to a page of this app. Pages find their token themselves
 * (share.ts), so links inside the app go without one; with a token, the
 * link opens the page with it (and the page removes it from the address).
 */
export function appLink(path: string, token?: string | null): string {
  return token ? `#${path}?token=${encodeURIComponent(token)}` : `#${path}`
}

export function wsBase(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`
}

export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

const timeFormats = new Map<string, Intl.DateTimeFormat>()
function fmt(zone: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = zone + JSON.stringify(opts)
  let f = timeFormats.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, { timeZone: zone, ...opts })
    timeFormats.set(key, f)
  }
  return f
}

/** "14:30" in the given zone. */
export function formatTime(iso: string | number | Date, zone: string): string {
  return fmt(zone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso))
}

/** "Mon 2 Nov" in the given zone. */
export function formatDay(iso: string | number | Date, zone: string): string {
  return fmt(zone, { weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(iso))
}

/** Short zone name such as "CET" or "GMT+1" for a zone at an instant. */
export function zoneAbbrev(iso: string | number | Date, zone: string): string {
  const parts = fmt(zone, { timeZoneName: 'short', hour: 'numeric' }).formatToParts(new Date(iso))
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? zone
}

/** Calendar date (YYYY-MM-DD) of an instant in a zone, for grouping by day. */
export function dateKey(iso: string | number | Date, zone: string): string {
  const parts = fmt(zone, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(
    new Date(iso),
  )
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')}`
}

/** Stable colour for a name (caret and presence chips). */
export function colorFor(seed: string): string {
  let x = 0
  for (const ch of seed) x = (x * 31 + ch.codePointAt(0)!) >>> 0
  // #rrggbb: the caret extension accepts only that form.
  const palette = ['#1f5fa8', '#b8431b', '#1e7d4a', '#7a3fb0', '#9a6700', '#b0306a', '#177e89', '#4f6b12']
  return palette[x % palette.length]
}

// One message region for the whole app: a new message replaces the last
// one instead of stacking, navigation clears it (`clearToasts`), and it is
// placed at the bottom of the viewport unless that would cover a control,
// else at the first height that covers none. Screen readers hear it
// through aria-live.
let toastTimer = 0

function toastRegion(): HTMLElement {
  let region = document.getElementById('toasts')
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' })
    document.body.appendChild(region)
  }
  return region
}

export function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  const region = toastRegion()
  region.replaceChildren(h('div', { class: `toast toast-${kind}` }, message))
  place(region)
  clearTimeout(toastTimer)
  toastTimer = window.setTimeout(() => region.replaceChildren(), kind === 'error' ? 8000 : 4000)
}

export function clearToasts(): void {
  clearTimeout(toastTimer)
  document.getElementById('toasts')?.replaceChildren()
}

function place(region: HTMLElement): void {
  region.style.top = ''
  const box = region.getBoundingClientRect()
  if (box.height === 0) return
  const controls: DOMRect[] = []
  for (const el of document.querySelectorAll('button, a[href], input, select, textarea, summary')) {
    if (region.contains(el)) continue
    const r = el.getBoundingClientRect()
    if (r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight) controls.push(r)
  }
  const free = (top: number) =>
    !controls.some((r) => r.left < box.right && r.right > box.left && r.top < top + box.height && r.bottom > top)
  const bottom = innerHeight - box.height - 16
  if (free(bottom)) return
  for (let top = bottom - 8; top >= 8; top -= 8) {
    if (free(top)) {
      region.style.top = `${top}px`
      return
    }
  }
}

/** "1 session", "2 sessions"; `many` defaults to `one` + "s". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * " +1 day" (or "+2 days") when `end` falls on a later calendar day than
 * `start` in `zone`, else "". A round ending exactly at midnight ends on
 * the day it started.
 */
export function dayShift(start: string | number | Date, end: string | number | Date, zone: string): string {
  const last = new Date(new Date(end).getTime() - 1)
  const a = Date.parse(`${dateKey(start, zone)}T00:00:00Z`)
  const b = Date.parse(`${dateKey(last, zone)}T00:00:00Z`)
  const days = Math.round((b - a) / 86400000)
  return days > 0 ? ` +${days} ${days === 1 ? 'day' : 'days'}` : ''
}

/** "14:30–15:30", with " +1 day" when it ends on the next day in `zone`. */
export function formatSpan(start: string, end: string, zone: string): string {
  return `${formatTime(start, zone)}–${formatTime(end, zone)}${dayShift(start, end, zone)}`
}

/**
 * Asks before a step that cannot be undone, in a modal dialog: focus starts
 * on the safe choice, Tab reaches both, Escape keeps things as they are.
 * Resolves true only for the confirming button.
 */
export function confirmDialog(opts: { title: string; body: string; confirm: string; cancel?: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'confirm' }, opts.confirm)
    const no = h('button', { type: 'button', class: 'btn', 'data-action': 'keep' }, opts.cancel ?? 'Cancel')
    const dialog = h(
      'dialog',
      { class: 'dialog', id: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-body' },
      h('h2', { id: 'confirm-title' }, opts.title),
      h('p', { id: 'confirm-body' }, opts.body),
      h('div', { class: 'row dialog-actions' }, no, yes),
    )
    let answer = false
    yes.addEventListener('click', () => {
      answer = true
      dialog.close()
    })
    no.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => {
      dialog.remove()
      resolve(answer)
    })
    document.body.appendChild(dialog)
    dialog.showModal()
    no.focus()
  })
}

export function setTitle(...parts: string[]): void {
  document.title = [...parts.filter(Boolean), 'Easel'].join(' · ')
}

/** Copyable link field: a read-only input plus a Copy button. */
export function linkField(label: string, url: string): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, value: url, 'aria-label': label })
  input.value = url
  const btn = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small',
      onclick: () => {
        input.select()
        navigator.clipboard?.writeText(url).then(
          () => toast(`${label} copied`),
          () => toast('Select the link and copy it'),
        )
      },
    },
    'Copy',
  )
  return h('div', { class: 'linkfield' }, h('span', { class: 'linkfield-label' }, label), input, btn)
}

/**
 * Downloads an API file with the token in a header, so that no link on the
 * page carries a token (a copied link would hand out access).
 */
export async function downloadFromApi(path: string, token: string | null, filename: string): Promise<void> {
  const res = await fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
  if (!res.ok) throw new Error(`download failed (${res.status})`)
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}
