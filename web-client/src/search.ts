// The search box of the conference pages: full-text search over the
// conference's charts (GET /conferences/{id}/search, docs/api.md), ranked
// hits with their highlighted words, each a link that opens the chart at
// the place the words are (`#/chart/{id}?at=4.0`, see chart/place.ts).
// Snippets are put in as text nodes and <mark> elements, never as HTML.

import { api, describeError, type SearchHit, type SearchResults } from './api'
import { h } from './util'

/** Milliseconds of quiet typing before the search runs. */
const TYPING_PAUSE = 250

/** The link a hit opens: the chart, at its place. */
export function hitLink(hit: SearchHit): string {
  const params = new URLSearchParams()
  if (hit.place.path && hit.place.path.length > 0) params.set('at', hit.place.path.join('.'))
  if (hit.place.sticky_id) params.set('sticky', hit.place.sticky_id)
  const q = params.toString()
  return `#/chart/${encodeURIComponent(hit.chart_id)}${q ? `?${q}` : ''}`
}

/** The snippet with its highlighted ranges (UTF-16 offsets) in <mark>. */
function snippetNodes(hit: SearchHit): Node[] {
  const out: Node[] = []
  let at = 0
  for (const [start, end] of hit.highlights) {
    if (start < at || end > hit.snippet.length || end <= start) continue
    if (start > at) out.push(document.createTextNode(hit.snippet.slice(at, start)))
    out.push(h('mark', {}, hit.snippet.slice(start, end)))
    at = end
  }
  if (at < hit.snippet.length) out.push(document.createTextNode(hit.snippet.slice(at)))
  return out
}

const KIND_LABEL: Record<string, string> = {
  topic: 'Topic',
  note: 'Notes',
  action: 'Action item',
  sticky: 'Sticky note',
}

export interface SearchBox {
  el: HTMLElement
  dispose(): void
}

export function searchBox(conferenceId: string, token: string | null): SearchBox {
  const input = h('input', {
    type: 'search',
    id: 'search-input',
    name: 'q',
    placeholder: 'Search notes, action items, stickies…',
    autocomplete: 'off',
    enterkeyhint: 'search',
  }) as HTMLInputElement
  const label = h('label', { for: 'search-input', class: 'sr-only' }, 'Search the charts of this conference')
  const status = h('p', { class: 'search-status muted', id: 'search-status', role: 'status' })
  const list = h('ol', { class: 'search-hits', id: 'search-hits', 'aria-label': 'Search results' })
  const form = h('form', { class: 'search-form', role: 'search', onsubmit: (e: Event) => (e.preventDefault(), run()) }, label, input)
  const el = h('section', { class: 'search', id: 'search', 'aria-label': 'Search' }, form, status, list)
  let timer = 0
  let seq = 0
  let disposed = false

  if (!token) {
    input.disabled = true
    status.textContent = 'Searching needs the link the organizers gave you.'
  }

  function render(results: SearchResults, q: string): void {
    list.replaceChildren()
    const n = results.hits.length
    status.textContent =
      n === 0
        ? `Nothing found for “${q}”.`
        : `${results.total} ${results.total === 1 ? 'match' : 'matches'}${results.total > n ? `, best ${n} shown` : ''}${results.lenient ? ' (searched for the words only)' : ''}.`
    for (const hit of results.hits) {
      const where = [KIND_LABEL[hit.kind] ?? hit.kind, hit.place.heading ? `under “${hit.place.heading}”` : null].filter(Boolean).join(' ')
      list.append(
        h(
          'li',
          { class: 'search-hit' },
          h(
            'a',
            { href: hitLink(hit), class: 'search-hit-link' },
            h('span', { class: 'search-hit-topic' }, hit.topic),
            h('span', { class: 'search-hit-where muted' }, where),
            h('span', { class: 'search-hit-snippet' }, ...snippetNodes(hit)),
          ),
        ),
      )
    }
  }

  async function run(): Promise<void> {
    clearTimeout(timer)
    const q = input.value.trim()
    const mine = ++seq
    if (!q || !token) {
      list.replaceChildren()
      status.textContent = ''
      return
    }
    status.textContent = 'Searching…'
    try {
      const results = await api<SearchResults>(
        'GET',
        `/conferences/${encodeURIComponent(conferenceId)}/search?q=${encodeURIComponent(q)}`,
        token,
      )
      if (disposed || mine !== seq) return
      render(results, q)
    } catch (e) {
      if (disposed || mine !== seq) return
      list.replaceChildren()
      status.textContent = describeError(e)
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = window.setTimeout(() => void run(), TYPING_PAUSE)
  })

  return {
    el,
    dispose() {
      disposed = true
      clearTimeout(timer)
    },
  }
}
