// Tokens out of the address bar, and the "Share" action.
//
// A link's token is the permission (docs/security.md), so an address bar
// that keeps `?token=` turns "copy the URL to share the agenda" into handing
// out whatever the token allows, organizer rights included. The token is
// taken from the URL on the first load, kept per conference in this tab
// (sessionStorage: two tabs may hold different roles) and for later tabs
// (localStorage), and the URL is replaced by the same page without it.
// Links inside the app carry no token: each page asks this module.
//
// Chart pages are addressed by chart id, so the pages that list sessions
// record which conference each chart belongs to (`rememberCharts`), and
// `tokenForChart` finds the token of that conference.

import { api, describeError, type MintedLink, type Role } from './api'
import { h, linkField, toast } from './util'

const TOKEN_KEY = 'easel.token.' // + conference id
const CHART_KEY = 'easel.chart.' // + chart id -> conference id
const CHART_TOKEN_KEY = 'easel.charttoken.' // + chart id, until its conference is known
const ROLE_KEY = 'easel.role.' // + a short fingerprint of the token, not the token
const MINTED_KEY = 'easel.shared.' // + conference id + role: a link minted by "Share"

// Used when storage is refused (some private modes): the app is one page,
// so tokens still last while it is open.
const memory = new Map<string, string>()

function get(store: 'session' | 'local', key: string): string | null {
  try {
    return (store === 'session' ? sessionStorage : localStorage).getItem(key)
  } catch {
    return null
  }
}

function set(store: 'session' | 'local', key: string, value: string): void {
  try {
    ;(store === 'session' ? sessionStorage : localStorage).setItem(key, value)
  } catch {
    // storage refused: `memory` still has it
  }
}

function remember(key: string, value: string): void {
  memory.set(key, value)
  set('session', key, value)
  set('local', key, value)
}

function recall(key: string): string | null {
  return get('session', key) ?? memory.get(key) ?? get('local', key)
}

/**
 * Removes `?token=` from the current address (history.replaceState, so no
 * navigation and no new history entry) and returns it, or null if the
 * address had none.
 */
export function takeTokenFromUrl(): string | null {
  const hash = location.hash
  const q = hash.indexOf('?')
  if (q < 0) return null
  const params = new URLSearchParams(hash.slice(q + 1))
  const token = params.get('token')
  if (token === null) return null
  params.delete('token')
  const rest = params.toString()
  const clean = `${location.pathname}${location.search}${hash.slice(0, q)}${rest ? `?${rest}` : ''}`
  history.replaceState(history.state, '', clean)
  return token || null
}

/** Keeps `token` as this browser's token for `conferenceId`. */
export function rememberToken(conferenceId: string, token: string): void {
  remember(TOKEN_KEY + conferenceId, token)
}

/** The token kept for a conference: this tab's first, else this browser's. */
export function tokenFor(conferenceId: string): string | null {
  return recall(TOKEN_KEY + conferenceId)
}

/**
 * The token for a conference page: the one in the address (taken out of it
 * and kept), else the kept one.
 */
export function conferenceToken(conferenceId: string): string | null {
  const fromUrl = takeTokenFromUrl()
  if (fromUrl) {
    rememberToken(conferenceId, fromUrl)
    return fromUrl
  }
  return tokenFor(conferenceId)
}

/** Notes which conference each chart belongs to, for `tokenForChart`. */
export function rememberCharts(conferenceId: string, chartIds: Iterable<string>): void {
  for (const id of chartIds) {
    if (recall(CHART_KEY + id) !== conferenceId) remember(CHART_KEY + id, conferenceId)
  }
}

/**
 * The token for a chart page: the one in the address (taken out of it and
 * kept for this chart until `rememberToken` files it under its conference),
 * else the token of the chart's conference, else one kept for the chart.
 */
export function tokenForChart(chartId: string): string | null {
  const fromUrl = takeTokenFromUrl()
  if (fromUrl) {
    remember(CHART_TOKEN_KEY + chartId, fromUrl)
    return fromUrl
  }
  const conf = recall(CHART_KEY + chartId)
  return (conf ? tokenFor(conf) : null) ?? recall(CHART_TOKEN_KEY + chartId)
}

// A role is kept against a short fingerprint of the token so that a page
// that once learned "this is the organizer's link" knows it on the next
// page without asking the server again; the token itself is not repeated.
function fingerprint(token: string): string {
  let x = 0x811c9dc5
  for (let i = 0; i < token.length; i++) x = Math.imul(x ^ token.charCodeAt(i), 0x01000193) >>> 0
  return x.toString(16)
}

export function rememberRole(token: string, role: Role): void {
  remember(ROLE_KEY + fingerprint(token), role)
}

export function knownRole(token: string | null): Role | null {
  if (!token) return null
  const r = recall(ROLE_KEY + fingerprint(token))
  return r === 'read' || r === 'edit' || r === 'organizer' ? r : null
}

/**
 * The full address of an app page (`path` like `/conference/ID`) that
 * opens with `token`; without a token, the page as anyone sees it.
 */
export function shareUrl(path: string, token: string | null): string {
  const base = `${location.origin}${location.pathname}`
  return token ? `${base}#${path}?token=${encodeURIComponent(token)}` : `${base}#${path}`
}

export interface ShareOptions {
  conferenceId: string
  /** The app page to share, e.g. `/conference/ID` or `/chart/ID`. */
  path: string
  /** The token this page runs with. */
  token: string | null
  /** What that token may do; null if unknown or none. */
  role: Role | null
  /** Whether the page can be read without any token (public proceedings). */
  publicWithoutToken?: boolean
  /** Names the page in the dialog ("the agenda", "this chart"). */
  what: string
  /**
   * A chart of the conference: when the role is unknown, its info tells it
   * (GET /charts/{id} answers the caller's role) without a refused request.
   */
  chartId?: string
}

/**
 * A "Share" button that opens a dialog with the right link for the role:
 * readers get their read link; editors their edit link; organizers choose
 * a read or an edit link (made for them, listed on the organizer page and
 * revocable there). The organizer's own token is never offered.
 */
export function shareButton(opts: ShareOptions): HTMLButtonElement {
  return h('button', { type: 'button', class: 'btn btn-small', id: 'share-btn', onclick: () => void openShareDialog(opts) }, 'Share')
}

const explain = (text: string) => h('p', { class: 'muted small' }, text)

export async function openShareDialog(opts: ShareOptions): Promise<void> {
  const body = h('div', { class: 'stack', id: 'share-body' })
  const close = h('button', { type: 'button', class: 'btn', id: 'share-close' }, 'Close')
  const dialog = h(
    'dialog',
    { class: 'dialog', id: 'share-dialog', 'aria-labelledby': 'share-title' },
    h('h2', { id: 'share-title' }, `Share ${opts.what}`),
    body,
    h('div', { class: 'row dialog-actions' }, close),
  )
  close.addEventListener('click', () => dialog.close())
  dialog.addEventListener('close', () => dialog.remove())
  document.body.appendChild(dialog)
  dialog.showModal()

  if (!opts.publicWithoutToken && opts.token && !opts.role) {
    body.append(explain('Finding out what your link allows…'))
    const role = await probeRole(opts)
    body.replaceChildren()
    opts = { ...opts, role }
  }
  if (opts.publicWithoutToken) {
    body.append(explain('Anyone can read this without a link of their own.'), linkField('Link', shareUrl(opts.path, null)))
  } else if (!opts.token) {
    body.append(explain('This page was opened without a link token; ask the organizers for a link to share.'))
  } else if (opts.role === 'organizer') {
    organizerChoice(body, opts)
  } else if (opts.role === 'edit') {
    body.append(
      explain('Your link lets people post topics and take notes. Anyone you give it to can do the same.'),
      linkField('Edit link', shareUrl(opts.path, opts.token)),
    )
  } else if (opts.role === 'read') {
    body.append(explain('A read link: people can follow the agenda and read the notes, not change them.'), linkField('Read link', shareUrl(opts.path, opts.token)))
  } else {
    body.append(explain('Your link lets others do what it lets you do.'), linkField('Link', shareUrl(opts.path, opts.token)))
  }
  body.querySelector<HTMLElement>('input, button')?.focus()
}

async function probeRole(opts: ShareOptions): Promise<Role | null> {
  if (opts.chartId && opts.token) {
    try {
      const info = await api<{ role?: string | null }>('GET', `/charts/${encodeURIComponent(opts.chartId)}`, opts.token)
      const role = info.role === 'read' || info.role === 'edit' || info.role === 'organizer' ? info.role : null
      if (role) rememberRole(opts.token, role)
      return role
    } catch {
      return null
    }
  }
  try {
    await api('GET', `/conferences/${encodeURIComponent(opts.conferenceId)}/links`, opts.token)
    if (opts.token) rememberRole(opts.token, 'organizer')
    return 'organizer'
  } catch {
    return null
  }
}

function organizerChoice(body: HTMLElement, opts: ShareOptions): void {
  const out = h('div', { id: 'share-link', 'aria-live': 'polite' })
  const make = (role: 'read' | 'edit') => async () => {
    out.replaceChildren(h('p', { class: 'muted small' }, 'Making the link…'))
    try {
      const token = await sharedToken(opts.conferenceId, role, opts.token!)
      const field = linkField(role === 'read' ? 'Read link' : 'Edit link', shareUrl(opts.path, token))
      out.replaceChildren(
        h('p', { class: 'small' }, role === 'read' ? 'People with this link can read, not change anything.' : 'People with this link can post topics and take notes.'),
        field,
      )
      field.querySelector('input')?.focus()
    } catch (e) {
      out.replaceChildren(h('p', { class: 'notice notice-error' }, describeError(e)))
    }
  }
  body.append(
    h('p', { class: 'muted small' }, 'Your own link has organizer rights: keep it to yourself. Share one of these instead (listed under Links on the organizer page, where you can revoke them):'),
    h(
      'div',
      { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn btn-small', id: 'share-read', onclick: make('read') }, 'Read link'),
      h('button', { type: 'button', class: 'btn btn-small', id: 'share-edit', onclick: make('edit') }, 'Edit link'),
    ),
    out,
  )
}

/**
 * A read or edit token for organizers to share: the one this browser made
 * for sharing before if it is still valid, else a new link "Shared by an
 * organizer".
 */
async function sharedToken(conferenceId: string, role: 'read' | 'edit', orgToken: string): Promise<string> {
  const cid = encodeURIComponent(conferenceId)
  const kept = recall(`${MINTED_KEY}${conferenceId}.${role}`)
  if (kept) {
    const [id, token] = kept.split(' ')
    const links = await api<{ id: string; revoked: string | null }[]>('GET', `/conferences/${cid}/links`, orgToken)
    if (links.some((l) => l.id === id && !l.revoked) && token) return token
  }
  const m = await api<MintedLink>('POST', `/conferences/${cid}/links`, orgToken, { role, label: `Shared (${role})` })
  remember(`${MINTED_KEY}${conferenceId}.${role}`, `${m.id} ${m.token}`)
  rememberRole(m.token, role)
  toast(`A new ${role} link was made; it is listed on the organizer page`)
  return m.token
}
