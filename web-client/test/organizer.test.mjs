// The organizer page in a real browser against the real server: every
// minted link stays on show, Revoke and Finalize all ask first (by
// keyboard), call links and seats per space, overlapping rounds named as
// people know them, and links that cannot organize said plainly.
// Run `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
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

const refused = /Failed to load resource: the server responded with a status of (401|403|409)/

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors.filter((e) => !refused.test(e)), [], 'console errors')
}

describe('the organizer page', () => {
  let server, browser, base
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    ;({ server, browser, base } = suite)
  })

  it('keeps every minted link on show until hidden, across a reload (bug 6)', async () => {
    const c = await makeConference(base)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    assert.ok(!o.page.url().includes(c.org), 'the organizer token left the address bar')
    await o.page.locator('#link-list li').first().waitFor()
    for (const label of ['Kitchen team', 'Garden team', 'Wall screen']) {
      await o.page.locator('#link-label').fill(label)
      await o.page.locator('#link-form button').click()
      await o.page.locator('#minted li', { hasText: label }).waitFor()
    }
    const urls = await o.page.locator('#minted input').evaluateAll((els) => els.map((e) => e.value))
    assert.equal(urls.length, 3, 'all three links are on show')
    assert.equal(new Set(urls).size, 3)
    // Each one works.
    for (const u of urls) {
      const token = new URL(u.replace('#/', '/')).searchParams.get('token')
      await api(base, 'GET', `/conferences/${c.id}`, token)
    }
    await o.page.reload()
    await o.page.locator('#minted li').first().waitFor()
    assert.deepEqual(await o.page.locator('#minted input').evaluateAll((els) => els.map((e) => e.value)), urls, 'a reload keeps them')
    await o.page.evaluate(() => document.getElementById('org-links')?.scrollIntoView())
    await screenshot(o.page, 'organizer-links-desktop')
    await o.page.locator('#minted li', { hasText: 'Garden team' }).getByRole('button', { name: /Hide/ }).click()
    assert.equal(await o.page.locator('#minted input').count(), 2)
    await o.page.setViewportSize(PHONE)
    await o.page.evaluate(() => document.getElementById('org-links')?.scrollIntoView())
    await screenshot(o.page, 'organizer-links-phone')
    noErrors(o)
  })

  it('asks before Revoke and Finalize all, in a dialog reachable by keyboard (bug 6)', async () => {
    const c = await makeConference(base)
    await proposeSession(base, c, 'One', 0, 0)
    await proposeSession(base, c, 'Two', 1, 1)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    const links = await api(base, 'GET', `/conferences/${c.id}/links`, c.org)
    const readers = links.find((l) => l.label === 'Readers')
    const revoke = o.page.locator(`#revoke-${readers.id}`)
    // Keyboard: focus the button, Enter opens the dialog with focus on the
    // safe choice; Escape keeps the link.
    await revoke.focus()
    await o.page.keyboard.press('Enter')
    const dialog = o.page.locator('#confirm-dialog')
    await dialog.waitFor()
    assert.match(await dialog.locator('#confirm-title').innerText(), /Revoke the read link “Readers”\?/)
    assert.equal(await o.page.evaluate(() => document.activeElement?.dataset.action), 'keep')
    await screenshot(o.page, 'organizer-revoke-confirm-desktop')
    await o.page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    await api(base, 'GET', `/conferences/${c.id}`, c.read) // still valid
    // Again, and confirm with Tab + Enter.
    await revoke.focus()
    await o.page.keyboard.press('Enter')
    await dialog.waitFor()
    await o.page.keyboard.press('Tab')
    assert.equal(await o.page.evaluate(() => document.activeElement?.dataset.action), 'confirm')
    await o.page.keyboard.press('Enter')
    await o.page.locator(`#link-list li[data-link="${readers.id}"]`, { hasText: 'revoked' }).waitFor()
    await assert.rejects(api(base, 'GET', `/conferences/${c.id}`, c.read), (e) => e.status === 401)

    // Finalize all: "Not now" changes nothing; confirming finalizes both.
    await o.page.locator('#finalize-all').click()
    await dialog.waitFor()
    assert.match(await dialog.innerText(), /2 charts will become read-only/)
    await dialog.getByRole('button', { name: 'Not now' }).click()
    await dialog.waitFor({ state: 'detached' })
    let conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
    assert.ok(conf.sessions.every((s) => s.state !== 'final'), 'nothing finalized')
    await o.page.locator('#finalize-all').click()
    await dialog.getByRole('button', { name: 'Finalize 2 charts' }).click()
    await eventually(async () => {
      conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
      return conf.sessions.every((s) => s.state === 'final')
    }, { message: 'all final' })
    await o.page.locator('#finalize-all:disabled').waitFor()
    noErrors(o)
  })

  it('sets a space\'s call link and seats; the board shows Join call', async () => {
    const c = await makeConference(base)
    const s = await proposeSession(base, c, 'Call me', 0, 0)
    const garden = c.conf.spaces[0]
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    const item = o.page.locator(`#space-list li[data-space="${garden.id}"]`)
    await item.locator('summary').click()
    await item.locator(`#space-video-${garden.id}`).fill('https://meet.example.org/garden')
    await item.locator(`#space-cap-${garden.id}`).fill('12')
    await item.getByRole('button', { name: 'Save space' }).click()
    await item.locator('.space-head', { hasText: '12 seats' }).waitFor()
    const conf = await api(base, 'GET', `/conferences/${c.id}`, c.read)
    const saved = conf.spaces.find((x) => x.id === garden.id)
    assert.equal(saved.video_url, 'https://meet.example.org/garden')
    assert.equal(saved.capacity, 12)
    // A new space with its link straight away.
    await o.page.locator('#space-name').fill('Online')
    await o.page.locator('#space-video').fill('https://meet.example.org/online')
    await o.page.locator('#space-form button').click()
    await o.page.locator('#space-list li', { hasText: 'Online' }).waitFor()
    await allLabelled(o.page)
    await o.page.evaluate(() => document.getElementById('org-spaces')?.scrollIntoView())
    await screenshot(o.page, 'organizer-spaces-desktop')
    const board = await open({ timezoneId: 'Europe/Lisbon', viewport: PHONE })
    await board.page.goto(`${base}/#/conference/${c.id}?token=${c.read}`)
    const join = board.page.locator(`.session[data-session="${s.id}"] a.join-call`)
    await join.waitFor()
    assert.equal(await join.getAttribute('href'), 'https://meet.example.org/garden')
    await board.page.locator(`.session[data-session="${s.id}"] .people`, { hasText: '0/12 here' }).waitFor()
    // Removing the link removes the button.
    await item.locator(`#space-video-${garden.id}`).fill('')
    await item.getByRole('button', { name: 'Save space' }).click()
    await join.waitFor({ state: 'detached' })
    noErrors(o, board)
  })

  it('names overlapping rounds by label and time, not by id (bug 9)', async () => {
    const c = await makeConference(base)
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.org}`)
    await o.page.locator('#round-list li').first().waitFor()
    // The opening circle runs 09:00-09:30 in Lisbon.
    await o.page.locator('#round-start').fill('2026-06-15T09:15')
    await o.page.locator('#round-form button[type="submit"]').click()
    const msg = o.page.locator('#toasts .toast-error')
    await msg.waitFor()
    const text = await msg.innerText()
    assert.match(text, /Opening circle/)
    assert.match(text, /09:00–09:30/)
    assert.ok(!/\br-[0-9a-z]/i.test(text), `no raw ids in "${text}"`)
    noErrors(o)
  })

  it('says plainly when a link cannot organize, or is wrong (bug 9)', async () => {
    const c = await makeConference(base)
    const e = await open({ timezoneId: 'Europe/Lisbon' })
    await e.page.goto(`${base}/#/conference/${c.id}/organize?token=${c.edit}`)
    await e.page.locator('#org-problem', { hasText: 'This link cannot organize the conference' }).waitFor()
    assert.equal(await e.page.locator('#space-form').count(), 0, 'no forms that would be refused')
    await screenshot(e.page, 'organizer-edit-link-desktop')
    const w = await open({ timezoneId: 'Europe/Lisbon', viewport: PHONE })
    await w.page.goto(`${base}/#/conference/${c.id}/organize?token=wrong`)
    await w.page.locator('#org-problem', { hasText: 'This link is not valid' }).waitFor()
    noErrors(e, w)
  })
})

async function allLabelled(page) {
  assert.deepEqual(await unlabelled(page), [], 'controls without an accessible name')
}
