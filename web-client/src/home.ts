// Start page: what Easel is, open a link you were given, create a conference.

import { api, describeError, type CreatedConference } from './api'
import { rememberRole, rememberToken } from './share'
import { appLink, clear, h, linkField, setTitle, viewerZone } from './util'

export function homePage(root: HTMLElement): () => void {
  clear(root)
  setTitle('')

  const linkInput = h('input', {
    type: 'url',
    id: 'open-link',
    placeholder: 'https://…/#/chart/…?token=…',
    autocomplete: 'off',
  })
  const openForm = h(
    'form',
    { class: 'stack', id: 'open-form' },
    h('label', { for: 'open-link' }, 'Paste a link you were given'),
    h('div', { class: 'row' }, linkInput, h('button', { type: 'submit', class: 'btn' }, 'Open')),
  )
  openForm.addEventListener('submit', (e) => {
    e.preventDefault()
    const v = linkInput.value.trim()
    const i = v.indexOf('#/')
    if (i >= 0) location.hash = v.slice(i + 1)
  })

  const today = new Date().toISOString().slice(0, 10)
  const name = h('input', { type: 'text', id: 'conf-name', required: true, maxlength: 200 })
  const zone = h('input', { type: 'text', id: 'conf-zone', required: true, value: viewerZone(), list: 'zones' })
  const start = h('input', { type: 'date', id: 'conf-start', required: true, value: today })
  const end = h('input', { type: 'date', id: 'conf-end', required: true, value: today })
  const result = h('div', { id: 'create-result', 'aria-live': 'polite' })
  const zones = h(
    'datalist',
    { id: 'zones' },
    (typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []).map((z) =>
      h('option', { value: z }),
    ),
  )
  const createForm = h(
    'form',
    { class: 'stack', id: 'create-form' },
    h('label', { for: 'conf-name' }, 'Conference name'),
    name,
    h('label', { for: 'conf-zone' }, 'Time zone of the venue (IANA, e.g. Europe/Lisbon)'),
    zone,
    zones,
    h(
      'div',
      { class: 'row wrap' },
      h('div', { class: 'stack' }, h('label', { for: 'conf-start' }, 'First day'), start),
      h('div', { class: 'stack' }, h('label', { for: 'conf-end' }, 'Last day'), end),
    ),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create conference')),
    result,
  )
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault()
    clear(result)
    try {
      const created = await api<CreatedConference>('POST', '/conferences', null, {
        name: name.value.trim(),
        time_zone: zone.value.trim(),
        start_date: start.value,
        end_date: end.value || start.value,
      })
      // Kept for this browser, so the next page opens without the token in
      // its address.
      rememberToken(created.conference.id, created.organizer_token)
      rememberRole(created.organizer_token, 'organizer')
      const organize = appLink(`/conference/${created.conference.id}/organize`)
      result.append(
        h('p', { class: 'notice notice-info' }, 'Created. This organizer link is shown only once: keep it safe.'),
        linkField('Organizer link', created.organizer_link),
        h('p', {}, h('a', { class: 'btn btn-primary', href: organize }, 'Set up the agenda →')),
      )
    } catch (err) {
      result.append(h('p', { class: 'notice notice-error' }, describeError(err)))
    }
  })

  root.append(
    h(
      'div',
      { class: 'page narrow' },
      h('h1', {}, 'Easel'),
      h(
        'p',
        { class: 'lead' },
        'Live flip charts for Open Space conferences: post topics on the agenda wall, take notes together in each session, and publish the proceedings at the end.',
      ),
      h('section', { class: 'card' }, h('h2', {}, 'Join'), openForm),
      h('section', { class: 'card' }, h('h2', {}, 'Organize a conference'), createForm),
    ),
  )
  linkInput.focus()
  return () => {}
}
