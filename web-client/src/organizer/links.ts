// Capability links: the list, minting and revoking. Every link minted in
// this tab stays on show with its address until the organizer hides it
// (kept in sessionStorage, so a reload does not lose one that was not
// copied yet): the server shows a token once only. Revoking asks first.

import { api, describeError, type LinkView, type MintedLink } from '../api'
import { confirmDialog, h, linkField, replaceKeepingFocus, toast } from '../util'
import type { OrgContext } from './context'

interface Kept {
  id: string
  role: string
  label: string
  url: string
}

export function linksSection(ctx: OrgContext): { el: HTMLElement; load(): Promise<boolean> } {
  const storeKey = `easel.minted.${ctx.conferenceId}`
  let links: LinkView[] = []
  let minted: Kept[] = readKept()

  function readKept(): Kept[] {
    try {
      const v = JSON.parse(sessionStorage.getItem(storeKey) ?? '[]')
      return Array.isArray(v) ? v : []
    } catch {
      return []
    }
  }
  function keep(): void {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify(minted))
    } catch {
      // storage refused: the list lasts while the page is open
    }
  }

  const list = h('ul', { class: 'plain-list', id: 'link-list' })
  const mintedBox = h('div', { id: 'minted', 'aria-live': 'polite' })
  const role = h('select', { id: 'link-role' }, ['edit', 'read', 'organizer'].map((r) => h('option', { value: r }, r)))
  const label = h('input', { id: 'link-label', type: 'text', maxlength: 100, placeholder: 'Label, e.g. Participants' })
  const form = h(
    'form',
    { class: 'row wrap', id: 'link-form' },
    h('label', { for: 'link-role', class: 'sr-only' }, 'Role'),
    role,
    h('label', { for: 'link-label', class: 'sr-only' }, 'Label'),
    label,
    h('button', { class: 'btn', type: 'submit' }, 'Create link'),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const m = await ctx.call<MintedLink>('POST', '/links', { role: role.value, label: label.value.trim() || undefined })
    if (!m) return
    minted = [{ id: m.id, role: m.role, label: m.label, url: m.url }, ...minted]
    keep()
    label.value = ''
    await load()
    mintedBox.querySelector<HTMLInputElement>('input')?.focus()
  })
  const el = h(
    'section',
    { class: 'card', id: 'org-links', 'aria-labelledby': 'links-h' },
    h('h2', { id: 'links-h' }, 'Links'),
    h('p', { class: 'muted small' }, 'A link is the permission: edit links let people post topics and take notes, read links only read.'),
    list,
    form,
    mintedBox,
  )

  function drawMinted(): void {
    const live = minted.filter((k) => !links.some((l) => l.id === k.id && l.revoked))
    if (live.length !== minted.length) {
      minted = live
      keep()
    }
    replaceKeepingFocus(
      mintedBox,
      minted.length === 0
        ? []
        : [
            h('p', { class: 'small' }, 'Links made here. The server shows each only once: copy them before you hide them.'),
            h(
              'ul',
              { class: 'plain-list minted-list' },
              minted.map((k) => {
                const field = linkField(`${k.role} link${k.label ? ` “${k.label}”` : ''}`, k.url)
                field.append(
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'btn btn-small btn-ghost',
                      'aria-label': `Hide the ${k.role} link ${k.label}`,
                      onclick: () => {
                        minted = minted.filter((x) => x.id !== k.id)
                        keep()
                        drawMinted()
                      },
                    },
                    'Hide',
                  ),
                )
                return h('li', { class: 'minted-item', 'data-link': k.id }, field)
              }),
            ),
          ],
    )
  }

  async function revoke(l: LinkView): Promise<void> {
    const ok = await confirmDialog({
      title: `Revoke the ${l.role} link${l.label ? ` “${l.label}”` : ''}?`,
      body: 'Everyone using it loses access at once: open charts disconnect and the link stops working. This cannot be undone; you can make a new link.',
      confirm: 'Revoke',
      cancel: 'Keep it',
    })
    if (!ok) return
    try {
      await api('DELETE', `/conferences/${ctx.cid}/links/${encodeURIComponent(l.id)}`, ctx.token)
      toast('Link revoked')
    } catch (e) {
      toast(describeError(e), 'error')
    }
    await load()
  }

  function draw(): void {
    replaceKeepingFocus(
      list,
      links.map((l) =>
        h(
          'li',
          { class: l.revoked ? 'revoked' : '', 'data-link': l.id },
          h('span', {}, h('span', { class: 'badge badge-role' }, l.role), ` ${l.label || '(no label)'}`, l.revoked ? h('span', { class: 'muted small' }, ' · revoked') : null),
          l.revoked ? null : h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: `revoke-${l.id}`, 'aria-label': `Revoke ${l.role} link ${l.label}`, onclick: () => void revoke(l) }, 'Revoke'),
        ),
      ),
    )
    drawMinted()
  }

  /** Loads the list; false if this token may not see it. */
  async function load(): Promise<boolean> {
    try {
      links = await api<LinkView[]>('GET', `/conferences/${ctx.cid}/links`, ctx.token)
      draw()
      return true
    } catch (e) {
      toast(describeError(e), 'error')
      return false
    }
  }

  return { el, load }
}
