// Search in a real browser against the real server: a word typed a moment
// ago in a chart is found from the agenda board's search box, its snippet
// shows the typed markup as text with the word marked, and clicking the
// hit opens the chart at the place of the word, highlighted.
// Run `npm run build` first.

import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { browserSuite, makeConference, PHONE, proposeSession, screenshot } from './harness.mjs'

describe('search', () => {
  let base, c, session
  const suite = browserSuite()

  before(async () => {
    ;({ base } = suite)
    c = await makeConference(base)
    session = await proposeSession(base, c, 'Garden talk')
  })

  it('finds a word typed a moment ago and opens the chart at its place', async () => {
    const writer = await suite.open({ name: 'Writer' })
    await writer.page.goto(`${base}/#/chart/${session.chart_id}?token=${c.edit}`)
    const ed = writer.page.locator('#editor .tiptap')
    await ed.waitFor()
    await ed.click()
    // A new paragraph right under the first heading ("Summary"): the
    // second block of the notes.
    await writer.page.keyboard.press('Control+Home')
    await writer.page.keyboard.press('End')
    await writer.page.keyboard.press('Enter')
    await writer.page.keyboard.type('The pangolin plan <img src=x> needs a budget', { delay: 5 })
    await writer.page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
    const typedAt = Date.now()

    const reader = await suite.open({ name: 'Reader' })
    await reader.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    const input = reader.page.locator('#search-input')
    await input.fill('pangolin')
    const hit = reader.page.locator('#search-hits .search-hit-link').first()
    // The indexer may not have run yet: search again until the hit is there.
    const deadline = Date.now() + 15000
    while (!(await hit.isVisible())) {
      assert.ok(Date.now() < deadline, `no hit: ${await reader.page.locator('#search-status').innerText()}`)
      await reader.page.waitForTimeout(200)
      await input.press('Enter')
    }
    console.log(`found ${Date.now() - typedAt} ms after the editor said "saved"`)
    assert.equal(await hit.locator('mark').innerText(), 'pangolin')
    const snippet = await hit.locator('.search-hit-snippet').innerText()
    assert.match(snippet, /<img src=x>/, 'typed markup shows as text')
    assert.equal(await reader.page.locator('#search-hits img').count(), 0, 'and makes no element')
    assert.match(await hit.innerText(), /Garden talk/)
    assert.match(await hit.innerText(), /under “Summary”/)
    await screenshot(reader.page, 'search-board-desktop')

    await hit.click()
    await reader.page.waitForURL((u) => u.hash.startsWith(`#/chart/${session.chart_id}`) && u.hash.includes('at=1'))
    const target = reader.page.locator('#editor .search-target')
    await target.waitFor({ timeout: 15000 })
    assert.match(await target.innerText(), /pangolin plan/)
    assert.ok(await target.isVisible())
    await screenshot(reader.page, 'search-opened-chart')
    assert.deepEqual(writer.errors, [])
    assert.deepEqual(reader.errors, [])
  })

  it('shows hits at phone width and says when nothing matches', async () => {
    const phone = await suite.open({ name: 'Phone', viewport: PHONE })
    await phone.page.goto(`${base}/#/conference/${c.id}?token=${c.read}`)
    const input = phone.page.locator('#search-input')
    await input.fill('zzyzx')
    await phone.page.locator('#search-status', { hasText: 'Nothing found' }).waitFor()
    await input.fill('garden')
    await phone.page.locator('#search-hits .search-hit-link').first().waitFor()
    await screenshot(phone.page, 'search-board-phone')
    assert.deepEqual(phone.errors, [])
  })
})
