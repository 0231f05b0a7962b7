// Conference settings and publishing. The form is built once; a change from
// elsewhere updates the fields unless the organizer is editing them.

import type { ConferenceView } from '../api'
import { appLink, h } from '../util'
import type { OrgContext } from './context'

export function settingsSection(ctx: OrgContext): { el: HTMLElement; render(c: ConferenceView): void } {
  const name = h('input', { id: 'set-name', type: 'text', maxlength: 200 })
  const desc = h('textarea', { id: 'set-desc', rows: 2, maxlength: 2000 })
  const published = h('input', { id: 'set-published', type: 'checkbox' })
  const pub = h('input', { id: 'set-public', type: 'checkbox' })
  const dates = h('p', { class: 'muted small' })
  const form = h(
    'form',
    { class: 'stack' },
    h('label', { for: 'set-name' }, 'Name'),
    name,
    h('label', { for: 'set-desc' }, 'Description'),
    desc,
    dates,
    h('label', { class: 'check' }, published, ' Proceedings published'),
    h('label', { class: 'check' }, pub, ' Anyone may read the proceedings without a link'),
    h('div', { class: 'row' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save'), h('a', { class: 'btn btn-ghost', href: appLink(`/conference/${ctx.conferenceId}/proceedings`) }, 'Proceedings')),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    void ctx.mutate('PATCH', '', { name: name.value.trim(), description: desc.value, published: published.checked, proceedings_public: pub.checked }, 'Saved')
  })
  const el = h('section', { class: 'card', id: 'org-settings', 'aria-labelledby': 'set-h' }, h('h2', { id: 'set-h' }, 'Conference'), form)
  let shown = ''
  return {
    el,
    render(c) {
      const sig = JSON.stringify([c.name, c.description, c.published, c.proceedings_public, c.start_date, c.end_date, c.time_zone])
      if (sig === shown || form.contains(document.activeElement)) return
      shown = sig
      name.value = c.name
      desc.value = c.description
      published.checked = c.published
      pub.checked = c.proceedings_public
      dates.textContent = `${c.start_date} – ${c.end_date}, ${c.time_zone}`
    },
  }
}
