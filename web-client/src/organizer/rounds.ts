// Rounds: the list, one round at a time, and the repeating-pattern helper
// (opening circle, N breakouts with breaks, closing circle, per day). The
// forms are built once, so a live change does not reset what is typed.

import type { ConferenceView, RoundView } from '../api'
import { append, formatDay, formatSpan, formatTime, h, plural, replaceKeepingFocus, viewerZone } from '../util'
import type { OrgContext } from './context'

export const KIND_LABEL: Record<string, string> = {
  opening_circle: 'Opening circle',
  breakout: 'Breakout',
  closing_circle: 'Closing circle',
}

export function roundsSection(ctx: OrgContext): { el: HTMLElement; render(c: ConferenceView): void } {
  const el = h('section', { class: 'card', id: 'org-rounds', 'aria-labelledby': 'rounds-h' })
  const zoneNote = h('p', { class: 'muted small' })
  const list = h('ul', { class: 'plain-list', id: 'round-list' })
  let built = false
  let shown = ''

  function item(r: RoundView, c: ConferenceView): HTMLElement {
    return h(
      'li',
      {},
      h('span', {}, `${formatDay(r.starts_at, c.time_zone)} ${formatSpan(r.starts_at, r.ends_at, c.time_zone)} `, h('span', { class: 'muted small' }, `${KIND_LABEL[r.kind] ?? r.kind}${r.label && r.label !== KIND_LABEL[r.kind] ? ` · ${r.label}` : ''}`)),
      h('button', { type: 'button', class: 'btn-icon', id: `remove-round-${r.id}`, 'aria-label': `Remove round at ${formatTime(r.starts_at, c.time_zone)}`, onclick: () => void ctx.mutate('DELETE', `/rounds/${encodeURIComponent(r.id)}`, undefined, 'Round removed') }, '×'),
    )
  }

  function build(c: ConferenceView): void {
    const at = h('input', { id: 'round-start', type: 'datetime-local', required: true, value: `${c.start_date}T09:00` })
    const dur = h('input', { id: 'round-dur', type: 'number', min: 5, max: 600, value: 60, required: true })
    const kind = h('select', { id: 'round-kind' }, Object.keys(KIND_LABEL).map((k) => h('option', { value: k, selected: k === 'breakout' }, KIND_LABEL[k])))
    const startLabel = h('label', { for: 'round-start' }, `Start (${c.time_zone})`)
    const one = h(
      'form',
      { class: 'stack', id: 'round-form' },
      h('h3', {}, 'Add one round'),
      h(
        'div',
        { class: 'row wrap' },
        h('div', { class: 'stack' }, startLabel, at),
        h('div', { class: 'stack' }, h('label', { for: 'round-dur' }, 'Minutes'), dur),
        h('div', { class: 'stack' }, h('label', { for: 'round-kind' }, 'Kind'), kind),
      ),
      h('div', { class: 'row' }, h('button', { class: 'btn', type: 'submit' }, 'Add round')),
    )
    one.addEventListener('submit', (e) => {
      e.preventDefault()
      void ctx.mutate('POST', '/rounds', { local_start: at.value, duration_minutes: Number(dur.value), kind: kind.value }, 'Round added')
    })

    const pDay = h('input', { id: 'p-day', type: 'date', value: c.start_date, min: c.start_date, max: c.end_date })
    const pAll = h('input', { id: 'p-all', type: 'checkbox' })
    const pStart = h('input', { id: 'p-start', type: 'time', value: '09:00' })
    const pOpen = h('input', { id: 'p-open', type: 'number', min: 0, max: 240, value: 30 })
    const pCount = h('input', { id: 'p-count', type: 'number', min: 1, max: 20, value: 4 })
    const pLen = h('input', { id: 'p-len', type: 'number', min: 5, max: 240, value: 60 })
    const pGap = h('input', { id: 'p-gap', type: 'number', min: 0, max: 240, value: 15 })
    const pClose = h('input', { id: 'p-close', type: 'number', min: 0, max: 240, value: 30 })
    const preview = h('p', { class: 'muted small', id: 'p-preview', 'aria-live': 'polite' })
    const field = (input: HTMLElement, label: string) => h('div', { class: 'stack' }, h('label', { for: input.id }, label), input)
    const pattern = h(
      'form',
      { class: 'stack', id: 'pattern-form' },
      h('h3', {}, 'Repeating pattern'),
      h('p', { class: 'muted small' }, `Opening circle, breakout rounds with breaks, closing circle. Times in ${c.time_zone}.`),
      h('div', { class: 'row wrap' }, field(pDay, 'Day'), h('label', { class: 'check' }, pAll, ' every conference day')),
      h('div', { class: 'row wrap' }, field(pStart, 'Starts at'), field(pOpen, 'Opening (min, 0 = none)'), field(pCount, 'Breakouts'), field(pLen, 'Breakout (min)'), field(pGap, 'Break (min)'), field(pClose, 'Closing (min, 0 = none)')),
      preview,
      h('div', { class: 'row' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Add these rounds')),
    )
    const n = (i: HTMLInputElement) => Math.max(0, Number(i.value) || 0)
    const days = (): string[] => {
      const conf = ctx.conf() ?? c
      if (!pAll.checked) return [pDay.value]
      const out: string[] = []
      for (let d = new Date(`${conf.start_date}T00:00:00Z`); d <= new Date(`${conf.end_date}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
        out.push(d.toISOString().slice(0, 10))
      }
      return out
    }
    const segments = () => {
      const zone = (ctx.conf() ?? c).time_zone
      const segs: unknown[] = []
      for (const day of days()) {
        const start = { type: 'at', start: { type: 'civil', datetime: `${day}T${pStart.value || '09:00'}`, time_zone: zone } }
        let first = true
        const next = () => {
          if (first) {
            first = false
            return start
          }
          return { type: 'after_previous', gap_minutes: n(pGap) }
        }
        if (n(pOpen) > 0) segs.push({ kind: 'opening_circle', count: 1, start: next(), interval_minutes: n(pOpen), duration_minutes: n(pOpen), label: 'Opening circle' })
        segs.push({ kind: 'breakout', count: Math.max(1, n(pCount)), start: next(), interval_minutes: n(pLen) + n(pGap), duration_minutes: n(pLen) })
        if (n(pClose) > 0) segs.push({ kind: 'closing_circle', count: 1, start: next(), interval_minutes: n(pClose), duration_minutes: n(pClose), label: 'Closing circle' })
      }
      return segs
    }
    const updatePreview = () => {
      const [hh, mm] = (pStart.value || '09:00').split(':').map(Number)
      let t = hh * 60 + mm
      const fmt = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}${m >= 1440 ? ` (+${Math.floor(m / 1440)} day)` : ''}`
      const parts: string[] = []
      if (n(pOpen) > 0) {
        parts.push(`opening ${fmt(t)}`)
        t += n(pOpen) + n(pGap)
      }
      for (let i = 0; i < Math.max(1, n(pCount)); i++) {
        parts.push(`${fmt(t)}`)
        t += n(pLen) + n(pGap)
      }
      if (n(pClose) > 0) parts.push(`closing ${fmt(t)}`)
      preview.textContent = `${plural(days().length, 'day')}: ${parts.join(', ')}`
    }
    pattern.addEventListener('input', updatePreview)
    updatePreview()
    pattern.addEventListener('submit', (e) => {
      e.preventDefault()
      void ctx.mutate('POST', '/rounds/pattern', { segments: segments() }, 'Rounds added')
    })
    append(el, [h('h2', { id: 'rounds-h' }, 'Rounds'), zoneNote, list, pattern, one])
  }

  return {
    el,
    render(c) {
      if (!built) {
        build(c)
        built = true
      }
      zoneNote.textContent = viewerZone() !== c.time_zone ? `Listed in the conference zone ${c.time_zone}.` : ''
      zoneNote.hidden = viewerZone() === c.time_zone
      const sig = JSON.stringify([c.rounds, c.time_zone])
      if (sig === shown) return
      shown = sig
      replaceKeepingFocus(list, c.rounds.length === 0 ? [h('li', { class: 'muted' }, 'No rounds yet')] : c.rounds.map((r) => item(r, c)))
    },
  }
}
