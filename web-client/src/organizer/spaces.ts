// Spaces: name, seats and video-call link (shown as "Join call" on the
// board). The add form is built once; the list follows the conference.

import type { ConferenceView, SpaceView } from '../api'
import { h, plural, replaceKeepingFocus } from '../util'
import type { OrgContext } from './context'

export function spacesSection(ctx: OrgContext): { el: HTMLElement; render(c: ConferenceView): void } {
  const list = h('ul', { class: 'plain-list', id: 'space-list' })
  const name = h('input', { id: 'space-name', type: 'text', required: true, maxlength: 200, placeholder: 'e.g. Garden' })
  const cap = h('input', { id: 'space-cap', type: 'number', min: 1, max: 10000, placeholder: 'Seats' })
  const video = h('input', { id: 'space-video', type: 'url', maxlength: 2048, placeholder: 'https://… (optional)' })
  const form = h(
    'form',
    { class: 'row wrap', id: 'space-form' },
    h('label', { for: 'space-name', class: 'sr-only' }, 'Space name'),
    name,
    h('label', { for: 'space-cap', class: 'sr-only' }, 'Seats'),
    cap,
    h('label', { for: 'space-video', class: 'sr-only' }, 'Video-call link'),
    video,
    h('button', { class: 'btn', type: 'submit' }, 'Add space'),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const body: Record<string, unknown> = { name: name.value.trim() }
    if (cap.value) body.capacity = Number(cap.value)
    if (video.value.trim()) body.video_url = video.value.trim()
    if (await ctx.mutate('POST', '/spaces', body, 'Space added')) form.reset()
  })
  const el = h(
    'section',
    { class: 'card', id: 'org-spaces', 'aria-labelledby': 'spaces-h' },
    h('h2', { id: 'spaces-h' }, 'Spaces'),
    h('p', { class: 'muted small' }, 'A video-call link shows as "Join call" on the board for the sessions in that space.'),
    list,
    form,
  )

  const open = new Set<string>() // spaces whose edit form is unfolded
  function item(s: SpaceView): HTMLElement {
    const path = `/spaces/${encodeURIComponent(s.id)}`
    const eName = h('input', { type: 'text', id: `space-name-${s.id}`, value: s.name, maxlength: 200, required: true })
    const eCap = h('input', { type: 'number', id: `space-cap-${s.id}`, min: 0, max: 10000, value: s.capacity ?? '' })
    const eVideo = h('input', { type: 'url', id: `space-video-${s.id}`, value: s.video_url ?? '', maxlength: 2048, placeholder: 'https://…' })
    const edit = h(
      'form',
      { class: 'stack space-edit' },
      h('label', { for: eName.id }, 'Name'),
      eName,
      h('label', { for: eCap.id }, 'Seats (empty: not said)'),
      eCap,
      h('label', { for: eVideo.id }, 'Video-call link (empty: none)'),
      eVideo,
      h('div', { class: 'row' }, h('button', { class: 'btn btn-small', type: 'submit' }, 'Save space')),
    )
    edit.addEventListener('submit', (e) => {
      e.preventDefault()
      void ctx.mutate('PATCH', path, { name: eName.value.trim(), capacity: eCap.value ? Number(eCap.value) : 0, video_url: eVideo.value.trim() }, `${eName.value.trim()} saved`)
    })
    const details = h('details', { class: 'space-details', open: open.has(s.id) }, h('summary', {}, `Edit ${s.name}`), edit)
    details.addEventListener('toggle', () => (details.open ? open.add(s.id) : open.delete(s.id)))
    return h(
      'li',
      { class: 'space-item', 'data-space': s.id },
      h(
        'div',
        { class: 'row space-head' },
        h('span', { class: 'grow' }, s.name, s.capacity ? h('span', { class: 'muted small' }, ` · ${plural(s.capacity, 'seat')}`) : null, s.video_url ? h('span', { class: 'muted small' }, ' · call link') : null),
        h('button', { type: 'button', class: 'btn-icon', 'aria-label': `Remove space ${s.name}`, onclick: () => void ctx.mutate('DELETE', path, undefined, 'Space removed') }, '×'),
      ),
      details,
    )
  }

  let shown = ''
  return {
    el,
    render(c) {
      const sig = JSON.stringify(c.spaces)
      if (sig === shown) return
      shown = sig
      replaceKeepingFocus(list, c.spaces.length === 0 ? [h('li', { class: 'muted' }, 'No spaces yet')] : c.spaces.map(item))
    },
  }
}
