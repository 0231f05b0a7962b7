// The organizer page's webhooks section in a real browser against the real
// server, with a receiver on loopback (allowed for this server only, by
// its environment): add an endpoint, see its secret once, see a failed
// attempt and the retry that got through, remove it after confirming.
// Run `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createHmac } from 'node:crypto'
import { api, eventually, makeConference, PHONE, proposeSession, screenshot, browserSuite } from './harness.mjs'

// Read by the server the suite starts (flags have EASEL_ twins).
process.env.EASEL_WEBHOOK_ALLOW_PRIVATE_TARGETS = 'true'
process.env.EASEL_WEBHOOK_RETRY_BASE_MS = '300'

describe('the organizer page: webhooks', () => {
  let base, receiver, receiverUrl
  const got = []
  let failNext = 1
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    base = suite.base
    receiver = http.createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        got.push({ headers: req.headers, body })
        res.statusCode = failNext > 0 ? 503 : 200
        failNext = Math.max(0, failNext - 1)
        res.end()
      })
    })
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`
  })
  after(() => receiver?.close())

  it('adds an endpoint, shows the secret once and the deliveries, and removes it after asking', async () => {
    const c = await makeConference(base)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    const section = o.page.locator('#org-webhooks')
    await section.waitFor()
    await o.page.locator('#webhook-url').fill(receiverUrl)
    await o.page.locator('#webhook-form button[type=submit]').click()
    const secretInput = o.page.locator('#webhook-secret input')
    await secretInput.waitFor()
    const secret = await secretInput.inputValue()
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/)
    const [hook] = await api(base, 'GET', `/conferences/${c.id}/webhooks`, c.org)
    assert.equal(hook.url, receiverUrl)
    assert.deepEqual(hook.events, ['session.created', 'session.finalized', 'proceedings.published', 'convergence.closed'])
    assert.ok(!JSON.stringify(hook).includes(secret), 'the list does not serve the secret')

    // A session: the first attempt gets 503, the retry 200.
    await proposeSession(base, c, 'Hooks & <friends>', 0, 0)
    await eventually(() => got.length >= 2, { timeout: 15000, message: 'two attempts' })
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    for (const r of got) {
      const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`
      const expected = 'v1,' + createHmac('sha256', key).update(signed).digest('base64')
      assert.equal(r.headers['webhook-signature'], expected)
    }
    assert.equal(JSON.parse(got[1].body).data.session.topic, 'Hooks & <friends>')

    const item = section.locator(`li[data-webhook="${hook.id}"]`)
    await item.getByRole('button', { name: 'Deliveries' }).click()
    await item.locator('table.deliveries tbody tr').nth(1).waitFor()
    const rows = await item.locator('table.deliveries tbody tr').allInnerTexts()
    assert.match(rows[0], /session\.created[\s\S]*2[\s\S]*HTTP 200/)
    assert.match(rows[1], /session\.created[\s\S]*1[\s\S]*HTTP 503[\s\S]*retry/)
    await section.scrollIntoViewIfNeeded()
    await screenshot(o.page, 'organizer-webhooks-desktop')
    await o.page.setViewportSize(PHONE)
    await section.scrollIntoViewIfNeeded()
    await screenshot(o.page, 'organizer-webhooks-phone')

    await item.getByRole('button', { name: /Remove webhook/ }).click()
    const dialog = o.page.locator('#confirm-dialog')
    await dialog.waitFor()
    await dialog.getByRole('button', { name: 'Remove' }).click()
    await item.waitFor({ state: 'detached' })
    assert.deepEqual(await api(base, 'GET', `/conferences/${c.id}/webhooks`, c.org), [])
    assert.deepEqual(o.errors.filter((e) => !/status of (401|403|409)/.test(e)), [], 'console errors')
  })

  it('shows the server\'s reason when a URL is refused', async () => {
    const c = await makeConference(base)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    await o.page.locator('#org-webhooks').waitFor()
    await o.page.locator('#webhook-url').fill('ftp://example.org/hook')
    // The browser's own URL check accepts ftp:, so the server answers.
    await o.page.locator('#webhook-form button[type=submit]').click()
    await o.page.getByText(/only http and https URLs are allowed/).first().waitFor()
    assert.deepEqual(await api(base, 'GET', `/conferences/${c.id}/webhooks`, c.org), [])
  })
})
