// The chart page's "Share" action: the link to hand on for the role you
// have. Never the organizer's token: an organizer gets freshly minted edit
// or read links (remembered in this tab, so sharing twice mints once).

import { api, describeError, type MintedLink, type Role } from '../api'
import { clear, h, linkField } from '../util'
import { chartLink } from './token'

export interface ShareContext {
  chartId: string
  conferenceId: string | null
  token: string | null
  role: Role | null
  topic: string
}

function field(label: string, url: string, note: string): HTMLElement {
  return h('div', { class: 'share-link' }, linkField(label, url), h('p', { class: 'muted small' }, note))
}

const EDIT_NOTE = 'Anyone with this link can write in these notes.'
const READ_NOTE = 'Anyone with this link can read these notes, not change them.'

function mintedKey(conferenceId: string, role: Role): string {
  return `easel.share.${conferenceId}.${role}`
}

async function minted(ctx: ShareContext, role: 'edit' | 'read'): Promise<string> {
  const k = mintedKey(ctx.conferenceId!, role)
  const kept = sessionStorage.getItem(k)
  if (kept) return kept
  const link = await api<MintedLink>('POST', `/conferences/${encodeURIComponent(ctx.conferenceId!)}/links`, ctx.token, {
    role,
    label: `Shared from the chart “${ctx.topic}”`.slice(0, 100),
  })
  sessionStorage.setItem(k, link.token)
  return link.token
}

/** Fills `panel` with the share links for `ctx`. */
export function renderShare(panel: HTMLElement, ctx: ShareContext): void {
  clear(panel)
  panel.append(h('h2', { id: 'share-h' }, 'Share this chart'))
  if (!ctx.token) {
    panel.append(field('Link', chartLink(ctx.chartId, null), 'These notes are public with the proceedings.'))
    return
  }
  if (ctx.role === 'edit') {
    panel.append(field('Edit link', chartLink(ctx.chartId, ctx.token), EDIT_NOTE))
    return
  }
  if (ctx.role === 'read' || !ctx.conferenceId) {
    panel.append(field('Read link', chartLink(ctx.chartId, ctx.role === 'read' ? ctx.token : null), READ_NOTE))
    return
  }
  // Organizer: their own token would hand on organizer rights.
  const out = h('div', { class: 'share-minted', 'aria-live': 'polite' })
  const mint = (role: 'edit' | 'read') => async () => {
    try {
      const token = await minted(ctx, role)
      out.querySelector(`[data-role="${role}"]`)?.remove()
      const f = field(role === 'edit' ? 'Edit link' : 'Read link', chartLink(ctx.chartId, token), role === 'edit' ? EDIT_NOTE : READ_NOTE)
      f.dataset.role = role
      out.append(f)
      f.querySelector('input')?.focus()
    } catch (e) {
      out.append(h('p', { class: 'notice notice-error' }, describeError(e)))
    }
  }
  panel.append(
    h('p', { class: 'small' }, 'Your own link lets its holder organize the whole conference; share one of these instead.'),
    h(
      'div',
      { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn btn-small', id: 'share-mint-edit', onclick: mint('edit') }, 'Make an edit link'),
      h('button', { type: 'button', class: 'btn btn-small', id: 'share-mint-read', onclick: mint('read') }, 'Make a read link'),
    ),
    out,
  )
}
