// The report and its follow-up: the template new session charts start
// with, attribution (named or anonymous), the kind of each round and the
// plenary charts of circles, which session continues which, and the
// action register as CSV and calendar. The forms are built once; a live
// change updates them unless the organizer is editing them.

import type { ConferenceView } from '../api'
import { appLink, downloadFromApi, h, replaceKeepingFocus, toast } from '../util'
import type { OrgContext } from './context'
import { KIND_LABEL } from './rounds'

type Section = { heading: string; kind: 'text' | 'actions' }

const SECTION_KIND: Record<Section['kind'], string> = { text: 'Text', actions: 'Action items' }

export function reportSection(ctx: OrgContext): { el: HTMLElement; render(c: ConferenceView): void } {
  let rows: Section[] = []
  const rowList = h('ol', { class: 'plain-list stack', id: 'template-sections' })
  const named = h('input', { id: 'attr-named', type: 'radio', name: 'attribution', value: 'named' })
  const anon = h('input', { id: 'attr-anon', type: 'radio', name: 'attribution', value: 'anonymous' })
  const keepOwners = h('input', { id: 'attr-keep-owners', type: 'checkbox' })
  const roundsList = h('ul', { class: 'plain-list stack', id: 'round-kinds' })
  const contList = h('ul', { class: 'plain-list stack', id: 'continuations' })

  function drawRows(): void {
    const items = rows.map((r, i) =>
      h(
        'li',
        { class: 'row wrap' },
        h('input', {
          id: `tpl-heading-${i}`,
          type: 'text',
          maxlength: 200,
          value: r.heading,
          'aria-label': `Section ${i + 1} heading`,
          oninput: (e: Event) => (rows[i].heading = (e.target as HTMLInputElement).value),
        }),
        h(
          'select',
          {
            id: `tpl-kind-${i}`,
            'aria-label': `Section ${i + 1} kind`,
            onchange: (e: Event) => (rows[i].kind = (e.target as HTMLSelectElement).value as Section['kind']),
          },
          (['text', 'actions'] as const).map((k) => h('option', { value: k, selected: k === r.kind }, SECTION_KIND[k])),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'btn-icon',
            'aria-label': `Remove section ${i + 1}`,
            onclick: () => {
              rows.splice(i, 1)
              drawRows()
            },
          },
          '×',
        ),
      ),
    )
    replaceKeepingFocus(rowList, items)
  }

  const templateForm = h(
    'form',
    { class: 'stack', id: 'template-form' },
    h('h3', {}, 'Report template'),
    h('p', { class: 'muted small' }, 'New session charts start with these sections; charts that exist keep theirs.'),
    rowList,
    h(
      'div',
      { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'tpl-add', onclick: () => { rows.push({ heading: '', kind: 'text' }); drawRows() } }, 'Add section'),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'tpl-open-space', onclick: () => void ctx.mutate('PUT', '/report', { preset: 'open_space' }, 'Template: Open Space report form') }, 'Use the Open Space form'),
      h('button', { class: 'btn btn-primary', type: 'submit', id: 'tpl-save' }, 'Save template'),
    ),
  )
  templateForm.addEventListener('submit', (e) => {
    e.preventDefault()
    void ctx.mutate('PUT', '/report', { template: rows.map((r) => ({ heading: r.heading, kind: r.kind })) }, 'Template saved')
  })

  const attrForm = h(
    'form',
    { class: 'stack', id: 'attribution-form' },
    h('h3', {}, 'Attribution'),
    h('label', { class: 'check' }, named, ' Named: conveners and participants are listed'),
    h('label', { class: 'check' }, anon, ' Anonymous: no one’s name in any export'),
    h('label', { class: 'check' }, keepOwners, ' Anonymous, but keep the owners of action items'),
    h('div', { class: 'row' }, h('button', { class: 'btn', type: 'submit', id: 'attr-save' }, 'Save attribution')),
  )
  attrForm.addEventListener('submit', (e) => {
    e.preventDefault()
    void ctx.mutate('PUT', '/report', { attribution: anon.checked ? 'anonymous' : 'named', keep_owners: keepOwners.checked }, 'Attribution saved')
  })

  const download = (path: string, name: string) => () =>
    void downloadFromApi(`/conferences/${ctx.cid}${path}`, ctx.token, name).catch((e) => toast(String(e), 'error'))

  const el = h(
    'section',
    { class: 'card', id: 'org-report', 'aria-labelledby': 'report-h' },
    h('h2', { id: 'report-h' }, 'Report and follow-up'),
    templateForm,
    attrForm,
    h('h3', {}, 'Rounds and circles'),
    h('p', { class: 'muted small' }, 'An opening or closing circle gets one plenary chart, placed in the proceedings where the circle happened.'),
    roundsList,
    h('h3', {}, 'Continuations'),
    h('p', { class: 'muted small' }, 'A session that picks up another one (the next cohort, the next day). The proceedings link both ways.'),
    contList,
    h('h3', {}, 'Action register'),
    h(
      'div',
      { class: 'row wrap' },
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'actions-csv', onclick: download('/actions.csv?group=owner', 'actions.csv') }, 'Actions by owner (CSV)'),
      h('button', { type: 'button', class: 'btn btn-ghost', id: 'actions-ics', onclick: download('/actions.ics', 'actions.ics') }, 'Due dates (calendar)'),
    ),
  )

  let shownTemplate = ''
  let shownRest = ''
  return {
    el,
    render(c) {
      const r = c.report
      const tpl = JSON.stringify(r.template)
      if (tpl !== shownTemplate && !templateForm.contains(document.activeElement)) {
        shownTemplate = tpl
        rows = r.template.map((s) => ({ heading: s.heading, kind: s.kind === 'actions' ? 'actions' : 'text' }))
        drawRows()
      }
      if (!attrForm.contains(document.activeElement)) {
        named.checked = r.attribution !== 'anonymous'
        anon.checked = r.attribution === 'anonymous'
        keepOwners.checked = r.keep_owners
      }
      const sig = JSON.stringify([c.rounds.map((x) => [x.id, x.kind, x.label]), c.sessions.map((s) => [s.id, s.topic]), r.circles, r.continues])
      if (sig === shownRest) return
      shownRest = sig
      replaceKeepingFocus(
        roundsList,
        c.rounds.map((round) => {
          const chart = r.circles[round.id]
          const circle = round.kind !== 'breakout' && chart
          return h(
            'li',
            { class: 'row wrap' },
            h('label', { for: `kind-${round.id}` }, `${round.local_display}${round.label ? ` · ${round.label}` : ''}`),
            h(
              'select',
              {
                id: `kind-${round.id}`,
                onchange: (e: Event) => void ctx.mutate('PATCH', `/rounds/${encodeURIComponent(round.id)}`, { kind: (e.target as HTMLSelectElement).value }, 'Round kind saved'),
              },
              Object.keys(KIND_LABEL).map((k) => h('option', { value: k, selected: k === round.kind }, KIND_LABEL[k])),
            ),
            circle ? h('a', { href: appLink(`/chart/${chart}`, ctx.token), id: `circle-chart-${round.id}` }, 'Plenary chart') : null,
          )
        }),
      )
      replaceKeepingFocus(
        contList,
        c.sessions.map((s) =>
          h(
            'li',
            { class: 'row wrap' },
            h('label', { for: `cont-${s.id}` }, s.topic),
            h(
              'select',
              {
                id: `cont-${s.id}`,
                onchange: (e: Event) => {
                  const v = (e.target as HTMLSelectElement).value
                  void ctx.mutate('PUT', `/sessions/${encodeURIComponent(s.id)}/continues`, { continues: v === '' ? null : v }, 'Continuation saved')
                },
              },
              h('option', { value: '', selected: !r.continues[s.id] }, 'continues no other session'),
              c.sessions
                .filter((o) => o.id !== s.id)
                .map((o) => h('option', { value: o.id, selected: r.continues[s.id] === o.id }, `continues: ${o.topic}`)),
            ),
          ),
        ),
      )
    },
  }
}
