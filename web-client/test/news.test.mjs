// The live harvest in a real browser against the real server: a session
// finalized in one browser context lands on the news wall open in another
// within a second; the wall is public when the proceedings are; the Atom
// feed parses with a real feed parser and carries user text as text; the
// organizer dashboard marks an overdue empty session first. Run
// `npm run build` first.

import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import FeedParser from 'feedparser'
import { api, axeViolations, browserSuite, DESKTOP, eventually, makeConference, PHONE, proposeSession, screenshot } from './harness.mjs'

/** Every item of an Atom document, as feedparser reads it, and its meta. */
async function parseFeed(xml) {
  const parser = new FeedParser({ addmeta: false })
  const items = []
  let meta = null
  await new Promise((resolve, reject) => {
    parser.on('error', reject)
    parser.on('meta', (m) => (meta = m))
    parser.on('readable', () => {
      let item
      while ((item = parser.read())) items.push(item)
    })
    parser.on('end', resolve)
    Readable.from([xml]).pipe(parser)
  })
  return { meta, items }
}

async function typeUnderFirstHeading(page, text) {
  const ed = page.locator('#editor .tiptap')
  await ed.click()
  await page.keyboard.press('Control+Home')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type(text, { delay: 5 })
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
}

describe('the news wall, the Atom feed and the dashboard', () => {
  let base, c
  const suite = browserSuite()
  const open = suite.open
  const hostile = '<script>alert(1)</script> & "Retros" <b>bold</b>'

  before(async () => {
    ;({ base } = suite)
    c = await makeConference(base)
    for (const [topic, round, space] of [
      ['Async retros', 0, 0],
      [hostile, 0, 1],
      ['Pairing at a distance', 1, 0],
    ]) {
      const s = await proposeSession(base, c, topic, round, space)
      await api(base, 'PATCH', `/conferences/${c.id}/sessions/${s.id}`, c.org, { state: 'live' })
    }
  })

  it('a session finalized in one browser shows on the wall in another within a second', async (t) => {
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
    const retro = conf.sessions.find((s) => s.topic === 'Async retros')

    const writer = await open({ name: 'Ada' })
    await writer.page.goto(`${base}/#/chart/${retro.chart_id}?token=${c.edit}`)
    await typeUnderFirstHeading(writer.page, 'Retros work better written down first.')

    const wall = await open({})
    await wall.page.goto(`${base}/#/conference/${c.id}/news?token=${c.read}`)
    await wall.page.locator('#news-live', { hasText: 'Live' }).waitFor()
    await wall.page.locator('#news-empty:not([hidden])').waitFor()

    const organizer = await open({})
    await organizer.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    const select = organizer.page.locator(`#state-${retro.id}`)
    await select.waitFor()
    // Measured from before the organizer's change to the card being found:
    // an upper bound (it includes the test driver's round trips).
    const t0 = Date.now()
    await select.selectOption('final')
    const card = wall.page.locator(`#news-list [data-session="${retro.id}"]`)
    await card.waitFor({ timeout: 5000 })
    const elapsed = Date.now() - t0
    t.diagnostic(`report landed on the other browser's wall in ${elapsed} ms`)
    assert.ok(elapsed < 1000, `the report took ${elapsed} ms to land`)
    assert.equal(await card.locator('.report-topic').innerText(), 'Async retros')
    assert.equal(await card.locator('.report-summary').innerText(), 'Retros work better written down first.')
    assert.match(await card.locator('.report-meta').innerText(), /Garden · .* · Tester/)
    await wall.page.waitForTimeout(800) // the arrival animation
    await screenshot(wall.page, 'news-desktop')
    assert.deepEqual(wall.errors, [])
    assert.deepEqual(organizer.errors, [])
    assert.deepEqual(writer.errors, [])
  })

  it('is public with the proceedings, else needs a token; projector mode and phone', async () => {
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
    const other = conf.sessions.find((s) => s.topic === hostile)
    await api(base, 'PATCH', `/conferences/${c.id}/sessions/${other.id}`, c.org, { state: 'final' })

    const anon = await fetch(`${base}/api/v1/conferences/${c.id}/news`)
    assert.equal(anon.status, 401)
    const stranger = await open({})
    await stranger.page.goto(`${base}/#/conference/${c.id}/news`)
    await stranger.page.locator('#news-problem [role="alert"]').waitFor()

    await api(base, 'PATCH', `/conferences/${c.id}`, c.org, { proceedings_public: true })
    const pub = await open({ viewport: PHONE })
    await pub.page.goto(`${base}/#/conference/${c.id}/news`)
    const cards = pub.page.locator('#news-list [data-session]')
    await eventually(async () => (await cards.count()) === 2, { message: 'two reports' })
    // Newest first; the hostile topic is text, not markup.
    assert.equal(await cards.nth(0).locator('.report-topic').innerText(), hostile)
    assert.equal(await pub.page.locator('#news-list script, #news-list b').count(), 0)
    await pub.page.locator('#feed-link').waitFor()
    await screenshot(pub.page, 'news-phone')
    assert.deepEqual(await axeViolations(pub.page), [])

    const wall = await open({ viewport: { width: 1920, height: 1080 } })
    await wall.page.goto(`${base}/#/conference/${c.id}/news/projector`)
    await wall.page.locator('#news-list [data-session]').first().waitFor()
    assert.equal(await wall.page.locator('.topbar').isVisible(), false)
    const size = await wall.page.locator('.report-topic').first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    assert.ok(size >= 40, `projector topic type is ${size}px`)
    await screenshot(wall.page, 'news-projector')
    assert.deepEqual(await axeViolations(wall.page), [])
    // It scrolls by itself when the wall is taller than the screen.
    await wall.page.setViewportSize({ width: 800, height: 300 })
    const y0 = await wall.page.evaluate(() => window.scrollY)
    await eventually(async () => (await wall.page.evaluate(() => window.scrollY)) > y0 + 20, { timeout: 15000, message: 'auto-scroll' })
    for (const p of [pub, wall]) assert.deepEqual(p.errors, [])
  })

  it('serves an Atom feed that a feed parser reads, user text as text', async () => {
    const res = await fetch(`${base}/api/v1/conferences/${c.id}/feed.atom`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type'), /^application\/atom\+xml/)
    const xml = await res.text()
    const { meta, items } = await parseFeed(xml)
    assert.equal(meta['#type'], 'atom')
    assert.equal(meta.title, 'Browser Test Camp · reports')
    assert.equal(items.length, 2)
    const news = await api(base, 'GET', `/conferences/${c.id}/news`, c.read)
    // The element's text is the topic exactly (feedparser's own `title`
    // drops anything tag-like from it for display).
    assert.deepEqual(items.map((i) => i['atom:title']['#']), news.reports.map((r) => r.topic))
    assert.deepEqual(items.map((i) => i['atom:title']['@'].type ?? 'text'), ['text', 'text'])
    for (const [item, report] of items.map((it, k) => [it, news.reports[k]])) {
      assert.match(item.guid, /^urn:uuid:[0-9a-f-]{36}$/)
      assert.equal(new Date(item.date).toISOString(), new Date(report.finalized_at).toISOString())
      assert.equal(item.author, report.convener)
    }
    // The hostile topic: a title that is the text itself, a content whose
    // HTML holds it escaped, no element of it anywhere in the document.
    const bad = items.find((i) => i['atom:title']['#'] === hostile)
    assert.ok(bad)
    assert.ok(!/<script|<b>/i.test(bad.description ?? ''), bad.description)
    assert.ok(!/<script/i.test(xml))
    const retro = items.find((i) => i['atom:title']['#'] === 'Async retros')
    assert.match(retro.description, /Retros work better written down first\./)
    // Ids stay the same across requests.
    const again = await parseFeed(await (await fetch(`${base}/api/v1/conferences/${c.id}/feed.atom`)).text())
    assert.deepEqual(again.items.map((i) => i.guid), items.map((i) => i.guid))
  })

  it('the dashboard marks an overdue empty session first (organizer only)', async () => {
    const now = Date.now()
    const day = (ms) => new Date(ms).toISOString().slice(0, 10)
    const created = await api(base, 'POST', '/conferences', null, { name: 'Late Camp', time_zone: 'UTC', start_date: day(now - 86400000), end_date: day(now + 86400000) })
    const id = created.conference.id
    const org = created.organizer_token
    const space = (await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Garden', capacity: 2 })).spaces[0]
    const round = async (startMs, minutes) =>
      (await api(base, 'POST', `/conferences/${id}/rounds`, org, { starts_at: new Date(startMs).toISOString(), duration_minutes: minutes, kind: 'breakout' })).rounds
    await round(now - 80 * 60000, 60) // ended 20 minutes ago
    const rounds = await round(now - 10 * 60000, 60) // running
    const ended = rounds.find((r) => Date.parse(r.ends_at) < now)
    const running = rounds.find((r) => Date.parse(r.ends_at) > now)
    const edit = (await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'edit' })).token
    const post = (topic, r) => api(base, 'POST', `/conferences/${id}/sessions`, edit, { topic, convener: 'Bo', round_id: r.id, space_id: space.id })
    const running1 = (await post('Still going', running)).session
    const late = (await post('Forgotten chart', ended)).session

    const denied = await fetch(`${base}/api/v1/conferences/${id}/dashboard`, { headers: { Authorization: `Bearer ${edit}` } })
    assert.equal(denied.status, 403)

    const p = await open({ viewport: DESKTOP })
    await p.page.goto(`${base}/#/conference/${id}/dashboard?token=${org}`)
    const rows = p.page.locator('#dash-rows tr')
    await rows.first().waitFor()
    assert.equal(await rows.nth(0).getAttribute('data-session'), late.id)
    assert.equal(await rows.nth(0).getAttribute('data-status'), 'overdue')
    assert.match(await rows.nth(0).innerText(), /Round ended 2\d min ago; nothing written/)
    assert.match(await rows.nth(0).locator('td').nth(4).innerText(), /none/)
    assert.equal(await rows.nth(1).getAttribute('data-session'), running1.id)
    assert.equal(await rows.nth(1).getAttribute('data-status'), 'empty')

    // Live: someone opens the running session's chart and writes.
    const writer = await open({ name: 'Bo' })
    await writer.page.goto(`${base}/#/chart/${running1.chart_id}?token=${edit}`)
    await typeUnderFirstHeading(writer.page, 'First notes')
    const row = p.page.locator(`#dash-rows tr[data-session="${running1.id}"]`)
    await eventually(async () => (await row.getAttribute('data-status')) === 'writing', { message: 'row turns to writing' })
    await eventually(async () => /just now/.test(await row.innerText()), { message: 'last edit shown' })
    await eventually(async () => /1 \/ 2/.test(await row.innerText()), { message: 'head count against capacity' })
    await screenshot(p.page, 'dashboard-desktop')
    assert.deepEqual(await axeViolations(p.page), [])
    const phone = await open({ viewport: PHONE })
    await phone.page.goto(`${base}/#/conference/${id}/dashboard?token=${org}`)
    await phone.page.locator('#dash-rows tr').first().waitFor()
    await screenshot(phone.page, 'dashboard-phone')
    for (const x of [p, writer, phone]) assert.deepEqual(x.errors, [])
  })
})
