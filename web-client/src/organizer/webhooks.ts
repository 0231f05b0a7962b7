// Webhooks: endpoints that receive signed events (docs/api.md), each with
// its recent deliveries. The server makes the signing secret and shows it
// once, right after adding; it stays on show here until hidden, like a
// minted link. Removing asks first.

import { type CreatedWebhook, type WebhookAttempt, type WebhookView } from '../api'
import { confirmDialog, h, linkField, replaceKeepingFocus, toast } from '../util'
import type { OrgContext } from './context'

const EVENT_TYPES: { type: string; label: string }[] = [
  { type: 'session.created', label: 'Session created' },
  { type: 'session.finalized', label: 'Session finalized' },
  { type: 'chart.updated', label: 'Chart updated' },
  { type: 'proceedings.published', label: 'Proceedings published' },
  { type: 'convergence.closed', label: 'Convergence closed' },
]

export function webhooksSection(ctx: OrgContext): { el: HTMLElement; load(): Promise<void> } {
  let hooks: WebhookView[] = []
  let secretShown: { id: string; secret: string } | null = null
  const logs = new Map<string, WebhookAttempt[]>()
  const open = new Set<string>()

  const list = h('ul', { class: 'plain-list', id: 'webhook-list' })
  const secretBox = h('div', { id: 'webhook-secret', 'aria-live': 'polite' })
  const url = h('input', { id: 'webhook-url', type: 'url', required: true, placeholder: 'https://example.org/easel-hook', autocomplete: 'off' })
  const boxes = EVENT_TYPES.map((t) => {
    const box = h('input', { type: 'checkbox', id: `webhook-ev-${t.type.replace('.', '-')}`, value: t.type, checked: t.type !== 'chart.updated' })
    return h('label', { class: 'check' }, box, ` ${t.label}`)
  })
  const form = h(
    'form',
    { id: 'webhook-form' },
    h('label', { for: 'webhook-url' }, 'Endpoint URL'),
    h('div', { class: 'row wrap' }, url, h('button', { class: 'btn', type: 'submit' }, 'Add webhook')),
    h('fieldset', { class: 'webhook-events' }, h('legend', {}, 'Events'), boxes),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const events = [...form.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((b) => b.value)
    if (events.length === 0) {
      toast('Choose at least one event', 'error')
      return
    }
    const made = await ctx.call<CreatedWebhook>('POST', '/webhooks', { url: url.value.trim(), events }, 'Webhook added')
    if (!made) return
    secretShown = { id: made.webhook.id, secret: made.secret }
    url.value = ''
    await load()
    secretBox.querySelector<HTMLInputElement>('input')?.focus()
  })

  const el = h(
    'section',
    { class: 'card', id: 'org-webhooks', 'aria-labelledby': 'webhooks-h' },
    h('h2', { id: 'webhooks-h' }, 'Webhooks'),
    h('p', { class: 'muted small' }, 'The server sends each chosen event to the URL as signed JSON (Standard Webhooks), retrying until it is accepted.'),
    list,
    secretBox,
    form,
  )

  function drawSecret(): void {
    if (!secretShown || !hooks.some((w) => w.id === secretShown?.id)) {
      secretShown = null
      replaceKeepingFocus(secretBox, [])
      return
    }
    const field = linkField('Signing secret', secretShown.secret)
    field.append(
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-ghost',
          onclick: () => {
            secretShown = null
            drawSecret()
          },
        },
        'Hide',
      ),
    )
    replaceKeepingFocus(secretBox, [h('p', { class: 'small' }, 'Give this secret to the receiver to check signatures. It is shown only now.'), field])
  }

  function when(iso: string | null | undefined): string {
    return iso ? new Date(iso).toLocaleString() : ''
  }

  function attemptRow(a: WebhookAttempt): HTMLElement {
    const outcome = a.status != null ? `HTTP ${a.status}` : 'no answer'
    const detail = [a.error, a.next_retry ? `retry ${when(a.next_retry)}` : null, a.gave_up ? 'gave up' : null].filter(Boolean).join(' · ')
    const ok = a.status != null && a.status >= 200 && a.status < 300 && !a.error
    return h(
      'tr',
      {},
      h('td', {}, when(a.at)),
      h('td', {}, a.event_type, h('br'), h('code', { class: 'small' }, a.event_id)),
      h('td', {}, String(a.attempt)),
      h('td', { class: ok ? 'ok' : 'failed' }, outcome, detail ? h('div', { class: 'muted small' }, detail) : null),
    )
  }

  function deliveries(w: WebhookView): HTMLElement {
    const rows = logs.get(w.id) ?? []
    return rows.length === 0
      ? h('p', { class: 'muted small' }, 'No deliveries yet.')
      : h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'deliveries' },
            h('caption', { class: 'sr-only' }, `Recent deliveries to ${w.url}`),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'Try'), h('th', { scope: 'col' }, 'Outcome'))),
            h('tbody', {}, rows.slice(0, 20).map(attemptRow)),
          ),
        )
  }

  async function loadLog(w: WebhookView): Promise<void> {
    const rows = await ctx.call<WebhookAttempt[]>('GET', `/webhooks/${encodeURIComponent(w.id)}/deliveries?limit=20`)
    if (rows) logs.set(w.id, rows)
    draw()
  }

  async function remove(w: WebhookView): Promise<void> {
    const ok = await confirmDialog({
      title: 'Remove this webhook?',
      body: `${w.url} gets no more events, including any not yet delivered. Its delivery log goes too.`,
      confirm: 'Remove',
      cancel: 'Keep it',
    })
    if (!ok) return
    // A 204 has no body, so the call answers null either way; failures
    // show their own message.
    await ctx.call<null>('DELETE', `/webhooks/${encodeURIComponent(w.id)}`)
    logs.delete(w.id)
    await load()
  }

  function draw(): void {
    replaceKeepingFocus(
      list,
      hooks.map((w) => {
        const shown = open.has(w.id)
        return h(
          'li',
          { class: 'webhook-item', 'data-webhook': w.id },
          h(
            'div',
            { class: 'row wrap webhook-head' },
            h('span', { class: 'webhook-url' }, w.url),
            h(
              'span',
              { class: 'row webhook-actions' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small btn-ghost',
                  id: `webhook-log-${w.id}`,
                  'aria-expanded': shown ? 'true' : 'false',
                  onclick: () => {
                    if (open.has(w.id)) {
                      open.delete(w.id)
                      draw()
                    } else {
                      open.add(w.id)
                      void loadLog(w)
                    }
                  },
                },
                shown ? 'Hide deliveries' : 'Deliveries',
              ),
              h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: `webhook-remove-${w.id}`, 'aria-label': `Remove webhook ${w.url}`, onclick: () => void remove(w) }, 'Remove'),
            ),
          ),
          h('div', { class: 'small muted' }, w.events.join(', ')),
          shown ? deliveries(w) : null,
        )
      }),
    )
    drawSecret()
  }

  async function load(): Promise<void> {
    const got = await ctx.call<WebhookView[]>('GET', '/webhooks')
    if (!got) return
    hooks = got
    for (const id of [...open]) if (!hooks.some((w) => w.id === id)) open.delete(id)
    await Promise.all(hooks.filter((w) => open.has(w.id)).map((w) => ctx.call<WebhookAttempt[]>('GET', `/webhooks/${encodeURIComponent(w.id)}/deliveries?limit=20`).then((r) => r && logs.set(w.id, r))))
    draw()
  }

  return { el, load }
}
