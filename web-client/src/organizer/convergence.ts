// Convergence, for organizers: open and close the voting phase (now, or at
// set times, which the server keeps by its clock), the dots per voter,
// whether shared links vote, and personal links in bulk: a pasted list of
// names (one per line, or CSV with a name column) becomes one edit link
// per person, shown once, to copy or download as name,link CSV.

import type { PersonalLinks, VotesView } from '../api'
import { h, linkField, plural, toast } from '../util'
import type { OrgContext } from './context'

/** `datetime-local` value in this browser's zone for an ISO instant. */
function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

function fromLocalInput(value: string): string {
  return value ? new Date(value).toISOString() : ''
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }))
  const a = h('a', { href: url, download: name })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

export function convergenceSection(ctx: OrgContext, linksChanged: () => Promise<unknown>): { el: HTMLElement; load(): Promise<void> } {
  let view: VotesView | null = null
  const status = h('p', { id: 'conv-status', role: 'status' })
  const dots = h('input', { id: 'conv-dots', type: 'number', min: 1, max: 50, value: 5, class: 'narrow' })
  const opens = h('input', { id: 'conv-opens', type: 'datetime-local' })
  const closes = h('input', { id: 'conv-closes', type: 'datetime-local' })
  const shared = h('input', { id: 'conv-shared', type: 'checkbox' })
  const openNow = h('button', { type: 'button', class: 'btn btn-primary', id: 'conv-open' }, 'Open voting now')
  const closeNow = h('button', { type: 'button', class: 'btn', id: 'conv-close' }, 'Close voting now')

  async function change(body: Record<string, unknown>, ok: string): Promise<void> {
    const v = await ctx.call<VotesView>('PATCH', '/convergence', body, ok)
    if (v) {
      view = v
      draw()
    }
  }
  openNow.addEventListener('click', () => void change({ dots: Number(dots.value), action: 'open' }, 'Voting is open'))
  closeNow.addEventListener('click', () => void change({ action: 'close' }, 'Voting is closed'))
  const form = h(
    'form',
    { class: 'stack', id: 'conv-form' },
    h('label', { for: 'conv-dots' }, 'Dots per voter'),
    dots,
    h('label', { for: 'conv-opens' }, 'Opens at (your time; empty: open by hand)'),
    opens,
    h('label', { for: 'conv-closes' }, 'Closes at (your time; empty: close by hand)'),
    closes,
    h('label', { class: 'check' }, shared, ' Shared edit links may vote too (one vote set per browser, not verified)'),
    h('div', { class: 'row' }, h('button', { class: 'btn', type: 'submit' }, 'Save')),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    void change(
      { dots: Number(dots.value), opens_at: fromLocalInput(opens.value), closes_at: fromLocalInput(closes.value), shared_links_vote: shared.checked },
      'Saved',
    )
  })

  function draw(): void {
    const v = view
    if (!v) return
    const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '')
    const total = Object.values(v.tallies.sessions).reduce((a, b) => a + b, 0) + Object.values(v.tallies.items).reduce((a, m) => a + Object.values(m).reduce((x, y) => x + y, 0), 0)
    const phase =
      v.phase === 'open'
        ? `Voting is open${v.closes_at ? ` until ${when(v.closes_at)}` : ''}.`
        : v.phase === 'scheduled'
          ? `Voting opens ${when(v.opens_at)}.`
          : v.phase === 'closed'
            ? `Voting closed ${when(v.closes_at)}.`
            : 'Voting has not been opened.'
    status.textContent = `${phase} ${plural(v.tallies.voters, 'voter')}, ${plural(total, 'dot')} placed.`
    status.dataset.phase = v.phase
    openNow.hidden = v.phase === 'open'
    closeNow.hidden = v.phase !== 'open'
    if (!form.contains(document.activeElement)) {
      dots.value = String(v.dots)
      opens.value = toLocalInput(v.opens_at)
      closes.value = v.phase === 'closed' && !v.closes_at ? '' : toLocalInput(v.closes_at)
      shared.checked = v.shared_links_vote
    }
  }

  // ---- personal links ----------------------------------------------------
  const names = h('textarea', { id: 'voter-names', rows: 5, placeholder: 'Ada Lovelace\nGrace Hopper\n…' })
  const file = h('input', { id: 'voter-file', type: 'file', accept: '.csv,.txt,text/csv,text/plain' })
  file.addEventListener('change', async () => {
    const f = file.files?.[0]
    if (f) names.value = await f.text()
  })
  const result = h('div', { id: 'personal-links', 'aria-live': 'polite' })
  const bulk = h(
    'form',
    { class: 'stack', id: 'personal-form' },
    h('label', { for: 'voter-names' }, 'Names, one per line (or CSV with a "name" column)'),
    names,
    h('label', { for: 'voter-file' }, 'Or read them from a file'),
    file,
    h('div', { class: 'row' }, h('button', { class: 'btn', type: 'submit' }, 'Make personal links')),
    result,
  )
  bulk.addEventListener('submit', async (e) => {
    e.preventDefault()
    const made = await ctx.call<PersonalLinks>('POST', '/links/personal', { names: names.value })
    if (!made) return
    names.value = ''
    file.value = ''
    toast(`${plural(made.links.length, 'personal link')} made`)
    result.replaceChildren(
      h('p', { class: 'small' }, 'Each link is one person’s vote; the server shows them only now. Copy or download them before you leave the page.'),
      h(
        'div',
        { class: 'row wrap' },
        h('button', { type: 'button', class: 'btn btn-small', id: 'personal-download', onclick: () => download('personal-links.csv', made.csv) }, 'Download CSV (name,link)'),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            id: 'personal-copy',
            onclick: () =>
              navigator.clipboard?.writeText(made.csv).then(
                () => toast('Copied as name,link'),
                () => toast('Copying was refused: use the download'),
              ),
          },
          'Copy all',
        ),
      ),
      h('ul', { class: 'plain-list minted-list', id: 'personal-list' }, made.links.map((l) => h('li', { 'data-link': l.id }, linkField(l.name, l.url)))),
    )
    await linksChanged()
  })

  const el = h(
    'section',
    { class: 'card', id: 'org-convergence', 'aria-labelledby': 'conv-h' },
    h('h2', { id: 'conv-h' }, 'Convergence'),
    h('p', { class: 'muted small' }, 'Everyone places dots on the session reports and action items that matter most to them; the proceedings open with the ranking.'),
    status,
    h('div', { class: 'row wrap' }, openNow, closeNow),
    form,
    h('h3', {}, 'Personal links'),
    h('p', { class: 'muted small' }, 'One edit link per person: each is one voter and can be revoked alone in the list of links.'),
    bulk,
  )

  async function load(): Promise<void> {
    const v = await ctx.call<VotesView>('GET', '/votes')
    if (v) {
      view = v
      draw()
    }
  }
  return { el, load }
}
