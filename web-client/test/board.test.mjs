// The agenda board in a real browser against the real server: a taken cell
// keeps the typed topic, the topic limit, tokens out of the address bar and
// the Share action, plain token errors, the message region, "+1 day",
// "Join call", seats against the head count, now/next and past rounds.
// Run `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  api,
  easelBinary,
  eventually,
  launchBrowser,
  makeConference,
  openPage,
  PHONE,
  proposeSession,
  screenshot,
  startServer,
  tempDataDir,
  unlabelled, browserSuite
} from './harness.mjs'

// A refused token is a refused request, and the browser logs each one.
const refused = /Failed to load resource: the server responded with a status of (401|403)/

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors.filter((e) => !refused.test(e)), [], 'console errors')
}

const minute = 60000
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

/**
 * A conference in UTC whose rounds sit around the present: one over, one
 * running, one to come; one space with a call link and two seats.
 */
async function conferenceAroundNow(base) {
  const now = Math.floor(Date.now() / minute) * minute
  const day = (ms) => new Date(ms).toISOString().slice(0, 10)
  const created = await api(base, 'POST', '/conferences', null, {
    name: 'Live Now Camp',
    time_zone: 'UTC',
    start_date: day(now - 86400000),
    end_date: day(now + 86400000),
  })
  const id = created.conference.id
  const org = created.organizer_token
  await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Online', video_url: 'https://meet.example.org/online-room', capacity: 2 })
  await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Porch' })
  for (const [start, kind] of [
    [now - 180 * minute, 'breakout'],
    [now - 10 * minute, 'breakout'],
    [now + 120 * minute, 'breakout'],
  ]) {
    await api(base, 'POST', `/conferences/${id}/rounds`, org, { starts_at: iso(start), duration_minutes: 60, kind })
  }
  const edit = await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'edit', label: 'Participants' })
  const read = await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'read', label: 'Wall' })
  const conf = await api(base, 'GET', `/conferences/${id}`, org)
  return { id, org, edit: edit.token, read: read.token, conf }
}

describe('the agenda board', () => {
  let server, browser, base, c
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    ;({ server, browser, base } = suite)
    c = await makeConference(base)
  })

  it('keeps a typed topic when someone takes the cell, and posts it in another (bug 5)', async () => {
    const ana = await open({ name: 'Ana', timezoneId: 'Europe/Lisbon' })
    await ana.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await ana.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    const breakouts = c.conf.rounds.filter((r) => r.kind === 'breakout')
    const cell = ana.page.locator(`tr[data-round="${breakouts[0].id}"] td[data-space="${c.conf.spaces[0].id}"]`)
    await cell.locator('.propose-btn').click()
    await ana.page.keyboard.type('Topic Ana is still typing')
    // Someone else takes that very cell.
    await proposeSession(base, c, 'Taken first by Bo', 0, 0)
    await cell.locator('.session .topic', { hasText: 'Taken first by Bo' }).waitFor()
    const form = ana.page.locator('#propose-form')
    assert.equal(await form.locator('#topic-input').inputValue(), 'Topic Ana is still typing', 'the typed topic is kept')
    await form.locator('.taken-note', { hasText: 'Taken first by Bo' }).waitFor()
    assert.match(await form.locator('.taken-note').innerText(), /pick another slot/)
    await screenshot(ana.page, 'board-cell-taken-desktop')
    // Pick another free slot and post there.
    const slot = form.locator('#topic-slot')
    const target = `${breakouts[1].id}|${c.conf.spaces[1].id}`
    await slot.selectOption(target)
    await form.locator('button[type="submit"]').click()
    await ana.page.locator(`tr[data-round="${breakouts[1].id}"] td[data-space="${c.conf.spaces[1].id}"] .topic`, { hasText: 'Topic Ana is still typing' }).waitFor()
    await form.waitFor({ state: 'detached' })
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.edit)
    const mine = conf.sessions.find((s) => s.topic === 'Topic Ana is still typing')
    assert.deepEqual([mine.round_id, mine.space_id], target.split('|'))
    noErrors(ana)
  })

  it('lets the person who posted a topic rename and withdraw it, nobody else (#24)', async () => {
    const c = await makeConference(base)
    const ana = await open({ name: 'Ana', timezoneId: 'Europe/Lisbon' })
    await ana.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await ana.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    const breakouts = c.conf.rounds.filter((r) => r.kind === 'breakout')
    const cell = ana.page.locator(`tr[data-round="${breakouts[0].id}"] td[data-space="${c.conf.spaces[0].id}"]`)
    await cell.locator('.propose-btn').click()
    await ana.page.keyboard.type('Ana posts this')
    await ana.page.locator('#propose-form button[type="submit"]').click()
    const own = cell.locator('.session', { hasText: 'Ana posts this' })
    await own.locator('[data-action="rename"]').waitFor()
    // Bo has the same edit link but did not post it: no such buttons.
    const bo = await open({ name: 'Bo', timezoneId: 'Asia/Tokyo' })
    await bo.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    const seen = bo.page.locator(`tr[data-round="${breakouts[0].id}"] td[data-space="${c.conf.spaces[0].id}"] .session`)
    await seen.locator('.topic', { hasText: 'Ana posts this' }).waitFor()
    assert.equal(await seen.locator('[data-action="rename"], [data-action="withdraw"]').count(), 0)
    // Rename: Bo's board follows.
    ana.page.once('dialog', (d) => d.accept('Ana renamed this'))
    await own.locator('[data-action="rename"]').click()
    await seen.locator('.topic', { hasText: 'Ana renamed this' }).waitFor()
    await screenshot(ana.page, 'board-own-topic-desktop')
    // Withdraw, behind a confirmation reachable by keyboard.
    await cell.locator('[data-action="withdraw"]').focus()
    await ana.page.keyboard.press('Enter')
    await ana.page.locator('dialog [data-action="confirm"]').click()
    await seen.waitFor({ state: 'detached' })
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.edit)
    assert.ok(!conf.sessions.some((x) => x.topic.startsWith('Ana')), 'withdrawn from the agenda')
    // The whole agenda as a calendar, from the board.
    const [download] = await Promise.all([bo.page.waitForEvent('download'), bo.page.locator('#agenda-ics').click()])
    const ics = readFileSync(await download.path(), 'utf8')
    assert.match(ics, /^BEGIN:VCALENDAR/)
    assert.equal(download.suggestedFilename(), 'agenda.ics')
    noErrors(ana, bo)
  })

  it('says the 200-character topic limit where people type (bug 8)', async () => {
    const p = await open({ name: 'Lim', viewport: PHONE, timezoneId: 'Europe/Lisbon' })
    await p.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await p.page.locator('.propose-btn').first().click()
    const topic = p.page.locator('#topic-input')
    assert.equal(await topic.getAttribute('maxlength'), '200')
    const counter = p.page.locator('#topic-count')
    assert.equal(await counter.innerText(), '0/200')
    assert.equal(await topic.getAttribute('aria-describedby'), 'topic-count')
    await p.page.keyboard.type('Short')
    assert.equal(await counter.innerText(), '5/200')
    // A pasted topic longer than the limit: cut, and the counter says so.
    await topic.fill('')
    await p.page.evaluate((text) => {
      const input = document.getElementById('topic-input')
      input.focus()
      const data = new DataTransfer()
      data.setData('text', text)
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
      // What the browser's own paste does for an input with maxlength.
      input.value = text.slice(0, 200)
      input.dispatchEvent(new Event('input', { bubbles: true }))
    }, 'x'.repeat(250))
    await p.page.locator('#topic-count', { hasText: 'Cut to 200 characters' }).waitFor()
    assert.match(await counter.innerText(), /^200\/200/)
    await screenshot(p.page, 'board-topic-limit-phone')
    noErrors(p)
  })

  it('takes the token out of the address bar; reload, chart links and Share still work (bug 7)', async () => {
    const session = await proposeSession(base, c, 'Shared things', 1, 0)
    // A reader.
    const r = await open({ name: 'Reader', timezoneId: 'Europe/Lisbon' })
    await r.page.goto(`${base}/#/conference/${c.id}?token=${c.read}`)
    await r.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    assert.equal(new URL(r.page.url()).hash, `#/conference/${c.id}`, 'no token in the address')
    assert.ok(!r.page.url().includes(c.read))
    // Links inside the app carry no token either.
    const hrefs = await r.page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))
    assert.ok(hrefs.every((href) => !href.includes('token=')), `links without tokens: ${hrefs.join(' ')}`)
    await r.page.reload()
    await r.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    await r.page.locator('.session .topic', { hasText: 'Shared things' }).click()
    await r.page.locator('#chart-title', { hasText: 'Shared things' }).waitFor()
    assert.ok(!r.page.url().includes('token='))
    await r.page.goBack()
    await r.page.locator('#share-btn').click()
    const dialog = r.page.locator('#share-dialog')
    await dialog.waitFor()
    const readLink = await dialog.locator('input').inputValue()
    assert.equal(readLink, `${base}/#/conference/${c.id}?token=${c.read}`)
    await r.page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })

    // An organizer: Share never offers the organizer token; it makes a read
    // or an edit link, and the read link opens the board read-only.
    const o = await open({ name: 'Org', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}?token=${c.org}`)
    await o.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    assert.ok(!o.page.url().includes(c.org))
    await o.page.locator('#share-btn').click()
    await o.page.locator('#share-dialog #share-read').waitFor()
    await screenshot(o.page, 'board-share-organizer-desktop')
    assert.equal(await o.page.locator('#share-dialog input').count(), 0, 'nothing to copy before a role is chosen')
    await o.page.locator('#share-read').click()
    const field = o.page.locator('#share-link input')
    await field.waitFor()
    const shared = await field.inputValue()
    assert.ok(!shared.includes(c.org), 'the organizer token is not handed out')
    const sharedToken = new URL(shared.replace('#/', '/')).searchParams.get('token')
    const links = await api(base, 'GET', `/conferences/${c.id}/links`, c.org)
    assert.ok(links.some((l) => l.role === 'read' && l.label === 'Shared (read)' && !l.revoked), 'the link is listed for the organizers')
    // Asking again gives the same link, not a new one each time.
    await o.page.locator('#share-read').click()
    await eventually(async () => (await o.page.locator('#share-link input').inputValue()) === shared, { message: 'same read link' })
    await o.page.locator('#share-edit').click()
    await eventually(async () => {
      const v = await o.page.locator('#share-link input').inputValue()
      return v !== shared && !v.includes(c.org) && v.includes('token=')
    }, { message: 'an edit link' })
    await allLabelled(o.page)
    await o.page.locator('#share-close').click()
    const guest = await open({ name: 'Guest', timezoneId: 'Europe/Lisbon' })
    await guest.page.goto(shared.replace(/^http:\/\/[^/]+/, base))
    await guest.page.locator('.session .topic', { hasText: 'Shared things' }).waitFor()
    // The board learns a link's role from its first chart's info, a moment after the sessions show.
    await eventually(async () => (await guest.page.locator('.propose-btn').count()) === 0, { message: 'a read link cannot propose' })
    const info = await api(base, 'GET', `/charts/${session.chart_id}`, sharedToken)
    assert.equal(info.role, 'read')
    noErrors(r, o, guest)
  })

  it('says plainly when the link is wrong (bug 9)', async () => {
    const p = await open({ timezoneId: 'Europe/Lisbon' })
    await p.page.goto(`${base}/#/conference/${c.id}?token=not-a-real-token`)
    await p.page.locator('#board-problem', { hasText: 'This link is not valid' }).waitFor()
    const status = await p.page.locator('#live-status').innerText()
    assert.ok(!/Connecting/.test(status), `status says "${status}"`)
    await screenshot(p.page, 'board-wrong-token-desktop')
    noErrors(p)
  })

  it('says the link was revoked instead of reconnecting (bug 9)', async () => {
    const minted = await api(base, 'POST', `/conferences/${c.id}/links`, c.org, { role: 'read', label: 'Soon revoked' })
    const p = await open({ timezoneId: 'Europe/Lisbon' })
    await p.page.goto(`${base}/#/conference/${c.id}?token=${minted.token}`)
    await p.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    await api(base, 'DELETE', `/conferences/${c.id}/links/${minted.id}`, c.org)
    await p.page.locator('#board-problem', { hasText: 'This link is not valid' }).waitFor({ timeout: 20000 })
    assert.equal(await p.page.locator('#live-status').innerText(), 'Not connected')
    noErrors(p)
  })

  it('shows one message at a time, not over buttons, gone on navigation; "1 session"; "+1 day" (bug 10)', async () => {
    const created = await api(base, 'POST', '/conferences', null, { name: 'Midnight Camp', time_zone: 'UTC', start_date: '2026-06-15', end_date: '2026-06-15' })
    const id = created.conference.id
    const org = created.organizer_token
    await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Roof' })
    await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Cellar' })
    await api(base, 'POST', `/conferences/${id}/rounds`, org, { local_start: '2026-06-15T23:30', duration_minutes: 60, kind: 'breakout' })
    const edit = (await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'edit' })).token
    const p = await open({ name: 'Night', timezoneId: 'UTC', viewport: PHONE })
    await p.page.goto(`${base}/#/conference/${id}?token=${edit}`)
    await p.page.locator('tr.round th .time', { hasText: '23:30–00:30 +1 day' }).waitFor()
    // Two messages in a row: the second replaces the first.
    for (const topic of ['Stars', 'Moon']) {
      await p.page.locator('.propose-btn').first().click()
      await p.page.locator('#topic-input').fill(topic)
      await p.page.locator('#propose-form button[type="submit"]').click()
      await p.page.locator('#toasts .toast', { hasText: `Posted “${topic}”` }).waitFor()
    }
    assert.equal(await p.page.locator('#toasts .toast').count(), 1)
    const region = p.page.locator('#toasts')
    assert.equal(await region.getAttribute('aria-live'), 'polite')
    const box = await region.boundingBox()
    const covered = await p.page.evaluate(({ x, y, width, height }) => {
      const out = []
      for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
        if (el.closest('#toasts')) continue
        const r = el.getBoundingClientRect()
        if (r.width && r.height && r.left < x + width && r.right > x && r.top < y + height && r.bottom > y) out.push(el.outerHTML.slice(0, 80))
      }
      return out
    }, box)
    assert.deepEqual(covered, [], 'the message covers no control')
    await screenshot(p.page, 'board-midnight-phone')
    await p.page.locator('a', { hasText: 'Proceedings' }).click()
    await p.page.locator('#proceedings-state', { hasText: '2 sessions, 0 final' }).waitFor()
    assert.equal(await p.page.locator('#toasts .toast').count(), 0, 'navigation clears the message')
    const after = await api(base, 'GET', `/conferences/${id}`, edit)
    await api(base, 'DELETE', `/conferences/${id}/sessions/${after.sessions[0].id}`, org)
    await p.page.reload()
    await p.page.locator('#proceedings-state', { hasText: '1 session, 0 final' }).waitFor()
    noErrors(p)
  })

  it('shows Join call, seats against the head count, now and next, past rounds dimmed', async () => {
    const n = await conferenceAroundNow(base)
    const [past, current, next] = n.conf.rounds
    const online = n.conf.spaces.find((s) => s.name === 'Online')
    const res = await api(base, 'POST', `/conferences/${n.id}/sessions`, n.edit, { topic: 'Happening now', convener: 'Kim', round_id: current.id, space_id: online.id })
    const board = await open({ timezoneId: 'UTC' })
    await board.page.goto(`${base}/#/conference/${n.id}?token=${n.read}`)
    const cell = board.page.locator(`.session[data-session="${res.session.id}"]`)
    await cell.locator('.people', { hasText: '0/2 here' }).waitFor()
    const join = cell.locator('a.join-call')
    assert.equal(await join.getAttribute('href'), 'https://meet.example.org/online-room')
    assert.equal(await join.getAttribute('target'), '_blank')
    assert.match(await join.getAttribute('rel'), /noopener/)
    assert.equal(await join.innerText(), 'Join call')
    const chart = await open({ name: 'Joiner' })
    await chart.page.goto(`${base}/#/chart/${res.session.chart_id}?token=${n.edit}`)
    await cell.locator('.people', { hasText: '1/2 here' }).waitFor()
    const row = (r) => board.page.locator(`tr[data-round="${r.id}"]`)
    assert.equal(await row(current).locator('.when').textContent(), 'Now')
    assert.equal(await row(next).locator('.when').textContent(), 'Next')
    assert.equal(await row(past).locator('.when').isVisible(), false)
    assert.match(await row(past).getAttribute('class'), /round-past/)
    const opacity = await row(past).locator('th').first().evaluate((el) => Number(getComputedStyle(el).opacity))
    assert.ok(opacity < 1, 'past rounds are dimmed')
    assert.equal(Number(await row(current).locator('th').first().evaluate((el) => getComputedStyle(el).opacity)), 1)
    await screenshot(board.page, 'board-now-desktop')
    await board.page.setViewportSize(PHONE)
    await screenshot(board.page, 'board-now-phone')
    await allLabelled(board.page)
    noErrors(board, chart)
  })
})

async function allLabelled(page) {
  assert.deepEqual(await unlabelled(page), [], 'controls without an accessible name')
}

