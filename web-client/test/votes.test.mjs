// Convergence in a real browser against the real server: the organizer
// mints personal links from a list of names and opens voting; two voters
// place dots on the agenda board and the chart page, each sees the
// other's dots arrive live, the dot past their allowance is refused with
// the server's message, closing freezes the counts, and the proceedings
// page shows the ranking. Run `npm run build` first.

import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { api, browserSuite, eventually, makeConference, PHONE, proposeSession, repoRoot, screenshot, shotsDir } from './harness.mjs'

const refused = /Failed to load resource: the server responded with a status of (401|403|404|409)/

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors.filter((e) => !refused.test(e)), [], 'console errors')
}

/** A screenshot, also kept in docs/screenshots/. */
async function shot(page, name) {
  await screenshot(page, name)
  const docs = path.join(repoRoot, 'docs', 'screenshots')
  mkdirSync(docs, { recursive: true })
  copyFileSync(path.join(shotsDir, `${name}.png`), path.join(docs, `${name}.png`))
}

const count = (page, sessionId, item) =>
  page.locator(`.dots[data-session="${sessionId}"]${item ? `[data-item="${item}"]` : ':not([data-item])'} .dot-count`).first()

describe('convergence: dot voting', () => {
  let base
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    ;({ base } = suite)
  })

  it('two voters with personal links vote live; the extra dot is refused; closing freezes; the proceedings rank', async () => {
    const c = await makeConference(base)
    const one = await proposeSession(base, c, 'Remote-first teams', 0, 0)
    const two = await proposeSession(base, c, 'Better retros', 0, 1)

    // The organizer: personal links from a pasted list, two dots each, open.
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    await o.page.locator('#org-convergence').waitFor()
    await o.page.locator('#conv-status').filter({ hasText: 'not been opened' }).waitFor()
    await o.page.locator('#voter-names').fill('Ada Lovelace\nGrace Hopper\n')
    await o.page.locator('#personal-form button[type=submit]').click()
    await o.page.locator('#personal-list li').nth(1).waitFor()
    const urls = await o.page.locator('#personal-list input').evaluateAll((els) => els.map((e) => e.value))
    const labels = await o.page.locator('#personal-list .linkfield-label').allTextContents()
    assert.deepEqual(labels, ['Ada Lovelace', 'Grace Hopper'])
    const tokenOf = (u) => new URL(u.replace('#/', '/')).searchParams.get('token')
    const [ada, grace] = urls.map(tokenOf)
    // Each is a personal link of its own on the links list.
    const links = await api(base, 'GET', `/conferences/${c.id}/links`, c.org)
    assert.equal(links.filter((l) => l.personal).length, 2)
    // The CSV download lists name,link.
    const [download] = await Promise.all([o.page.waitForEvent('download'), o.page.locator('#personal-download').click()])
    const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8')
    assert.equal(csv.split('\n')[0], 'name,link')
    assert.ok(csv.includes(`Ada Lovelace,${urls[0]}`), csv)
    await o.page.locator('#conv-dots').fill('2')
    await o.page.locator('#conv-open').click()
    await o.page.locator('#conv-status[data-phase=open]').waitFor()
    await o.page.evaluate(() => document.getElementById('org-convergence')?.scrollIntoView())
    await shot(o.page, 'votes-organizer')

    // Two voters on the board.
    const a = await open({ name: 'Ada', timezoneId: 'Europe/Lisbon' })
    const g = await open({ name: 'Grace', timezoneId: 'Europe/Lisbon' })
    await a.page.goto(`${base}/#/conference/${c.id}?token=${ada}`)
    await g.page.goto(`${base}/#/conference/${c.id}?token=${grace}`)
    for (const p of [a, g]) {
      await p.page.locator('#live-status', { hasText: 'Live' }).waitFor()
      await p.page.locator('#dots-left', { hasText: '2 dots of 2 left' }).waitFor()
    }
    await a.page.getByRole('button', { name: `Place a dot on the session “Remote-first teams”` }).click()
    await a.page.locator('#dots-left', { hasText: '1 dot of 2 left' }).waitFor()
    // Live on the other voter's board.
    await eventually(async () => (await count(g.page, one.id).getAttribute('data-count')) === '1', { message: "Ada's dot on Grace's board" })
    await g.page.getByRole('button', { name: `Place a dot on the session “Better retros”` }).click()
    await eventually(async () => (await count(a.page, two.id).getAttribute('data-count')) === '1', { message: "Grace's dot on Ada's board" })

    // Ada's second dot, then the third is refused with the server's message.
    await a.page.getByRole('button', { name: `Place a dot on the session “Remote-first teams”` }).click()
    await a.page.locator('#dots-left', { hasText: '0 dots of 2 left' }).waitFor()
    await a.page.getByRole('button', { name: `Place a dot on the session “Better retros”` }).click()
    await a.page.locator('#votes-problem', { hasText: 'all your 2 dots are placed' }).waitFor()
    assert.equal(await count(a.page, two.id).getAttribute('data-count'), '1', 'nothing counted')
    await shot(a.page, 'votes-board-refused')
    await a.page.setViewportSize(PHONE)
    await a.page.locator(`.session[data-session="${one.id}"]`).scrollIntoViewIfNeeded()
    await shot(a.page, 'votes-board-phone')

    // The chart page: Grace writes an action item and dots it.
    await g.page.goto(`${base}/#/chart/${one.chart_id}?token=${grace}`)
    const nameDialog = g.page.getByRole('dialog')
    if (await nameDialog.isVisible().catch(() => false)) await nameDialog.getByRole('button').first().click()
    await g.page.locator('#dots-section').waitFor()
    await g.page.locator('#dots-left', { hasText: '1 dot of 2 left' }).waitFor()
    const editor = g.page.locator('#editor .ProseMirror')
    await editor.waitFor()
    await editor.click()
    await g.page.keyboard.press('Control+End')
    await g.page.keyboard.press('Enter')
    await g.page.getByRole('button', { name: 'Action items' }).click()
    await g.page.keyboard.type('Write the remote guide')
    const item = g.page.locator('.dot-item', { hasText: 'Write the remote guide' })
    await item.waitFor({ timeout: 15000 })
    const itemId = await item.getAttribute('data-item')
    assert.match(itemId, /^a-[0-9a-f]{16}$/)
    await item.getByRole('button', { name: /Place a dot on the action item/ }).click()
    await g.page.locator('#dots-left', { hasText: '0 dots of 2 left' }).waitFor()
    await eventually(async () => (await item.locator('.dot-count').getAttribute('data-count')) === '1')
    // Edits elsewhere in the chart keep the item's identity and its dot.
    await editor.click()
    await g.page.keyboard.press('Control+Home')
    await g.page.keyboard.type('Agreed: ')
    await g.page.waitForTimeout(600)
    assert.equal(await g.page.locator('.dot-item', { hasText: 'Write the remote guide' }).getAttribute('data-item'), itemId)
    await shot(g.page, 'votes-chart')

    // Closing freezes the counts everywhere.
    await o.page.locator('#conv-close').click()
    await o.page.locator('#conv-status[data-phase=closed]').waitFor()
    await a.page.setViewportSize({ width: 1280, height: 860 })
    await a.page.locator('#votes-bar', { hasText: 'Voting is closed' }).waitFor()
    assert.equal(await a.page.locator(`.dots[data-session="${one.id}"] .dot-add`).isHidden(), true, 'no more placing')
    await assert.rejects(api(base, 'POST', `/conferences/${c.id}/dots`, ada, { session_id: two.id }), /409.*voting_closed/)
    await shot(a.page, 'votes-board-closed')

    // The proceedings page ranks them: Remote-first (2 + 1 on actions), Better retros (1).
    await a.page.goto(`${base}/#/conference/${c.id}/proceedings?token=${ada}`)
    await a.page.locator('#priorities-list li').nth(1).waitFor()
    const ranked = await a.page.locator('#priorities-list li').evaluateAll((els) => els.map((e) => [e.getAttribute('value'), e.dataset.session, e.dataset.votes]))
    assert.deepEqual(ranked, [
      ['1', one.id, '2'],
      ['2', two.id, '1'],
    ])
    await a.page.locator('#priorities-note', { hasText: 'final ranking' }).waitFor()
    await shot(a.page, 'votes-proceedings')
    // And the documents open with it.
    const md = await (await fetch(`${base}/api/v1/conferences/${c.id}/proceedings.md?token=${ada}`)).text()
    assert.ok(md.indexOf('## Priorities') < md.indexOf('## Summary'), md.slice(0, 400))
    assert.ok(md.includes('Write the remote guide — 1 vote'), md.slice(0, 600))
    noErrors(o, a, g)
  })
})
