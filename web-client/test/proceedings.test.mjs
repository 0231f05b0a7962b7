// The proceedings page in a real browser against the real server: the token
// leaves the address bar, Share gives the reader's link (or the plain link
// when the proceedings are public), and the HTML edition opens in the
// browser instead of downloading. Run `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { api, easelBinary, launchBrowser, makeConference, openPage, PHONE, proposeSession, screenshot, startServer, tempDataDir, browserSuite } from './harness.mjs'

describe('the proceedings page', () => {
  let server, browser, base, c
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    ;({ server, browser, base } = suite)
    c = await makeConference(base)
    await proposeSession(base, c, 'Written up', 0, 0)
  })

  it('drops the token from the address, shares the read link, opens the HTML edition inline (bugs 3, 7)', async () => {
    const p = await open({ viewport: PHONE })
    await p.page.goto(`${base}/#/conference/${c.id}/proceedings?token=${c.read}`)
    await p.page.locator('#proceedings-sessions .topic', { hasText: 'Written up' }).waitFor()
    assert.equal(new URL(p.page.url()).hash, `#/conference/${c.id}/proceedings`)
    await p.page.locator('#share-btn').click()
    const field = p.page.locator('#share-dialog input')
    await field.waitFor()
    assert.equal(await field.inputValue(), `${base}/#/conference/${c.id}/proceedings?token=${c.read}`)
    await screenshot(p.page, 'proceedings-share-phone')
    await p.page.keyboard.press('Escape')
    const href = await p.page.locator('#html-edition').getAttribute('href')
    assert.match(href, /proceedings\.html\?inline=1&token=/)
    const res = await fetch(`${base}${href}`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-disposition') ?? '', /^inline/)
    assert.deepEqual(p.errors, [])
  })

  it('shares the plain link when anyone may read the proceedings', async () => {
    await api(base, 'PATCH', `/conferences/${c.id}`, c.org, { proceedings_public: true })
    const p = await open({})
    await p.page.goto(`${base}/#/conference/${c.id}/proceedings?token=${c.org}`)
    await p.page.locator('#proceedings-sessions .topic').first().waitFor()
    await p.page.locator('#share-btn').click()
    const field = p.page.locator('#share-dialog input')
    await field.waitFor()
    assert.equal(await field.inputValue(), `${base}/#/conference/${c.id}/proceedings`)
    assert.deepEqual(p.errors, [])
  })
})
