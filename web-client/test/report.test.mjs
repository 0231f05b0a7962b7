// The report settings on the organizer page in a real browser against the
// real server: the template editor, attribution, a round's kind with its
// plenary chart, a continuation; and the action-item hint on the chart
// page. Run `npm run build` first.

import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { api, eventually, makeConference, PHONE, proposeSession, screenshot, browserSuite } from './harness.mjs'

describe('report settings', () => {
  let base
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    ;({ base } = suite)
  })

  it('edits the template, attribution, round kinds and continuations', async () => {
    const c = await makeConference(base)
    const one = await proposeSession(base, c, 'Retros (Europe)', 0, 0)
    const two = await proposeSession(base, c, 'Retros (Americas)', 1, 0)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    const p = o.page
    // The Open Space form is the default; replace its first heading, drop
    // the rest but the actions, add a section.
    await p.locator('#tpl-heading-0').waitFor()
    assert.equal(await p.locator('#tpl-heading-0').inputValue(), 'Summary')
    await p.locator('#tpl-heading-0').fill('What happened')
    for (let i = 0; i < 3; i++) await p.getByRole('button', { name: 'Remove section 2' }).click()
    await p.locator('#tpl-add').click()
    await p.locator('#tpl-heading-2').fill('Open questions')
    await p.locator('#tpl-save').click()
    await eventually(async () => {
      const conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
      return JSON.stringify(conf.report.template) ===
        JSON.stringify([{ heading: 'What happened', kind: 'text' }, { heading: 'Next steps / actions', kind: 'actions' }, { heading: 'Open questions', kind: 'text' }])
    }, { message: 'the template saved' })
    // An empty heading: the server's message, nothing stored.
    await p.locator('#tpl-heading-2').fill('   ')
    await p.locator('#tpl-save').click()
    await p.locator('.toast', { hasText: 'section 3: the heading is empty' }).first().waitFor()
    assert.equal((await api(base, 'GET', `/conferences/${c.id}`, c.org)).report.template[2].heading, 'Open questions')

    await p.locator('#attr-anon').check()
    await p.locator('#attr-save').click()
    await eventually(async () => (await api(base, 'GET', `/conferences/${c.id}`, c.org)).report.attribution === 'anonymous', { message: 'anonymous saved' })

    // The opening circle (made a circle when it was added) has its plenary
    // chart; a free round made a closing circle here gets one too.
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
    const opening = conf.rounds.find((r) => r.kind === 'opening_circle')
    await p.locator(`#circle-chart-${opening.id}`).waitFor()
    const added = await api(base, 'POST', `/conferences/${c.id}/rounds`, c.org, { local_start: '2026-06-15T18:00', duration_minutes: 30, kind: 'breakout' })
    const late = added.rounds.find((r) => r.local_start.includes('T18:00'))
    await p.reload()
    await p.locator(`#kind-${late.id}`).waitFor()
    assert.equal(await p.locator(`#circle-chart-${late.id}`).count(), 0)
    await p.locator(`#kind-${late.id}`).selectOption('closing_circle')
    await p.locator(`#circle-chart-${late.id}`).waitFor()
    const free = opening
    // Continuation: the second cohort continues the first.
    await p.locator(`#cont-${two.id}`).selectOption(one.id)
    await eventually(async () => (await api(base, 'GET', `/conferences/${c.id}`, c.org)).report.continues[two.id] === one.id, { message: 'continuation saved' })
    await p.evaluate(() => document.getElementById('org-report')?.scrollIntoView())
    await screenshot(p, 'organizer-report-desktop')
    await p.setViewportSize(PHONE)
    await p.evaluate(() => document.getElementById('org-report')?.scrollIntoView())
    await screenshot(p, 'organizer-report-phone')

    // The plenary chart opens as the circle, with the action-item hint.
    const href = await p.locator(`#circle-chart-${free.id}`).getAttribute('href')
    await p.setViewportSize({ width: 1280, height: 900 })
    await p.goto(`${base}/${href}`)
    await p.locator('#chart-title', { hasText: 'Opening circle' }).waitFor()
    await p.locator('#action-hint').waitFor()
    assert.match(await p.locator('#action-hint').innerText(), /@Name.*due 2026-12-10/s)
    await screenshot(p, 'chart-circle-hint')
  })
})
