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

/** A hash link to a page of this app, keeping the token. */
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

export function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  let region = document.getElementById('toasts')
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' })
    document.body.appendChild(region)
  }
  const t = h('div', { class: `toast toast-${kind}` }, message)
  region.appendChild(t)
  setTimeout(() => t.remove(), 3500)
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
