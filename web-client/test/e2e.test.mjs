// End-to-end browser tests: Debian's chromium (playwright-core) against the
// real easel binary serving web-client/dist. Run `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import {
  api,
  DESKTOP,
  easelBinary,
  eventually,
  launchBrowser,
  makeConference,
  metric,
  openPage,
  PHONE,
  proposeSession,
  screenshot,
  startServer,
  tempDataDir,
  unlabelled,
} from './harness.mjs'

const editorText = (page) => page.locator('#editor .tiptap').innerText()

async function typeInEditor(page, text) {
  const ed = page.locator('#editor .tiptap')
  await ed.click()
  // A new paragraph right under the first heading ("Summary").
  await page.keyboard.press('Control+Home')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type(text, { delay: 5 })
}

async function waitSaved(page) {
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
}

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors, [], 'console errors')
}

async function allLabelled(page) {
  assert.deepEqual(await unlabelled(page), [], 'controls without an accessible name')
}

describe('easel web client in a real browser', () => {
  let bin, dataDir, server, browser, c, base, port
  const opened = []
  const open = async (opts) => {
    const p = await openPage(browser, opts)
    opened.push(p)
    return p
  }

  before(async () => {
    bin = easelBinary()
    dataDir = tempDataDir()
    server = await startServer(bin, dataDir)
    base = server.url
    port = new URL(base).port
    browser = await launchBrowser()
    c = await makeConference(base)
  })

  after(async () => {
    for (const p of opened) await p.context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('serves the app with security headers, and the start page works', async () => {
    const res = await fetch(`${base}/`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    const a = await open({ viewport: DESKTOP })
    await a.page.goto(`${base}/`)
    await a.page.getByRole('heading', { name: 'Easel', level: 1 }).waitFor()
    await screenshot(a.page, 'home-desktop')
    const b = await open({ viewport: PHONE })
    await b.page.goto(`${base}/`)
    await b.page.getByRole('heading', { name: 'Organize a conference' }).waitFor()
    await screenshot(b.page, 'home-phone')
    await allLabelled(a.page)
    noErrors(a, b)
  })

  let session
  it('two contexts type into the same chart, converge and see each other', async () => {
    session = await proposeSession(base, c, 'Remote-first retros', 0, 0)
    const url = `${base}/#/chart/${session.chart_id}?token=${c.edit}`
    const ada = await open({ name: 'Ada' })
    const grace = await open({ name: 'Grace', viewport: PHONE })
    await ada.page.goto(url)
    await grace.page.goto(url)
    await ada.page.locator('#chart-title', { hasText: 'Remote-first retros' }).waitFor()
    // The server seeded the report template.
    await eventually(async () => (await editorText(ada.page)).includes('Key points'), { message: 'template' })
    await typeInEditor(ada.page, 'Ada says: async standups work')
    await typeInEditor(grace.page, 'Grace says: keep cameras optional')
    for (const p of [ada.page, grace.page]) {
      await eventually(async () => {
        const t = await editorText(p)
        return t.includes('Ada says: async standups work') && t.includes('Grace says: keep cameras optional')
      }, { message: 'convergence' })
    }
    const notes = (p) => p.evaluate(() => window.easelChart.doc.getXmlFragment('notes').toString())
    await eventually(async () => (await notes(ada.page)) === (await notes(grace.page)), { message: 'identical Y.Doc notes' })
    // An action item in the template's task list (test/join.test.mjs: that
    // list survives two people typing right after joining).
    await ada.page.locator('#editor ul[data-type="taskList"] li p').first().click()
    await ada.page.keyboard.type('Send the summary to the wiki')
    await grace.page.locator('#editor ul[data-type="taskList"] li', { hasText: 'Send the summary to the wiki' }).waitFor()
    // Presence: each sees the other, and a caret with the other's name.
    await ada.page.locator('#presence li[data-name="Grace"]').waitFor()
    await grace.page.locator('#presence li[data-name="Ada"]').waitFor()
    await ada.page.locator('.collaboration-carets__label', { hasText: 'Grace' }).waitFor()
    // Participants list (meta.participants) is shared too: typing listed Ada.
    await ada.page.locator('#participants li', { hasText: 'Ada' }).waitFor()
    await grace.page.locator('#participants li', { hasText: 'Ada' }).waitFor()
    await waitSaved(ada.page)
    await waitSaved(grace.page)
    await screenshot(ada.page, 'chart-desktop')
    await screenshot(grace.page, 'chart-phone')
    await allLabelled(ada.page)
    noErrors(ada, grace)
  })

  it('asks a newcomer for a name once, by keyboard, and remembers it', async () => {
    const url = `${base}/#/chart/${session.chart_id}?token=${c.edit}`
    const n = await open({ viewport: PHONE })
    await n.page.goto(url)
    const input = n.page.locator('dialog #name-input')
    await input.waitFor()
    await n.page.keyboard.type('Nadia')
    await n.page.keyboard.press('Enter')
    await n.page.locator('#presence li[data-name="Nadia"]').waitFor()
    await n.page.reload()
    // Nadia is listed once, as "you", even while her connection from before
    // the reload may still be closing on the server.
    const nadia = n.page.locator('#presence li[data-name="Nadia"]')
    await nadia.first().waitFor()
    assert.equal(await n.page.locator('dialog').count(), 0)
    // A second tab in the same browser is the same person: both tabs are
    // live clients of the chart, and each lists Nadia once.
    const tab = await n.context.newPage()
    await tab.goto(url)
    await tab.locator('#presence li[data-name="Nadia"]').first().waitFor()
    const nadiaClients = (page) =>
      page.evaluate(() =>
        [...window.easelChart.provider.awareness.getStates().values()].filter((s) => s.user?.name === 'Nadia').length,
      )
    await eventually(async () => (await nadiaClients(n.page)) >= 2 && (await nadiaClients(tab)) >= 2, {
      message: 'both tabs see both of Nadia\'s clients',
    })
    for (const page of [n.page, tab]) {
      assert.equal(await page.locator('#presence li[data-name="Nadia"]').count(), 1)
      assert.match(await page.locator('#presence li[data-name="Nadia"]').innerText(), /\(you\)/)
    }
    await tab.close()
    // The toolbar and the editor are reachable with Tab.
    await n.page.locator('#editor .tiptap').focus()
    await n.page.keyboard.press('Shift+Tab')
    assert.equal(await n.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Redo')
    noErrors(n)
  })

  it('a read-only link cannot change the chart, and the server stored nothing', async () => {
    const url = `${base}/#/chart/${session.chart_id}?token=${c.read}`
    const refusedBefore = await metric(base, 'easel_read_only_refusals_total')
    const reader = await open({ name: 'Reader' })
    await reader.page.goto(url)
    await reader.page.locator('#chart-notice', { hasText: 'read-only' }).waitFor()
    await eventually(async () => (await editorText(reader.page)).includes('Ada says'), { message: 'reader sees notes' })
    assert.equal(await reader.page.locator('#editor .tiptap').getAttribute('contenteditable'), 'false')
    assert.equal(await reader.page.locator('.toolbar').isVisible(), false)
    // Typing does nothing.
    await reader.page.locator('#editor .tiptap').click()
    await reader.page.keyboard.type('READER TYPED THIS')
    // A hostile script writing to the Y.Doc directly is refused by the server.
    await reader.page.evaluate(() => {
      window.easelChart.doc.getMap('meta').set('sneaky', 'SNEAKY WRITE')
    })
    await reader.page.locator('#save-status', { hasText: 'Not saved' }).waitFor()
    // The server counted the refused write: it arrived and was not applied.
    await eventually(async () => (await metric(base, 'easel_read_only_refusals_total')) > refusedBefore, { message: 'refusal counted' })
    await screenshot(reader.page, 'chart-readonly-desktop')
    // A fresh editor context (fresh from the server) sees neither.
    const fresh = await open({ name: 'Checker' })
    await fresh.page.goto(`${base}/#/chart/${session.chart_id}?token=${c.edit}`)
    await eventually(async () => (await editorText(fresh.page)).includes('Ada says'), { message: 'fresh load' })
    assert.ok(!(await editorText(fresh.page)).includes('READER TYPED THIS'))
    const sneaky = await fresh.page.evaluate(() => window.easelChart.doc.getMap('meta').get('sneaky') ?? null)
    assert.equal(sneaky, null)
    const md = await (await fetch(`${base}/api/v1/charts/${session.chart_id}/export.md?token=${c.read}`)).text()
    assert.match(md.replace(/\\(.)/g, '$1'), /Ada says: async standups work/)
    assert.ok(!md.includes('READER TYPED THIS'), 'the export has no reader text')
    noErrors(reader, fresh)
  })

  it('a topic posted on one board appears on the other board live', async () => {
    const boardUrl = `${base}/#/conference/${c.id}?token=${c.edit}`
    const one = await open({ name: 'Poster', timezoneId: 'Europe/Lisbon' })
    const two = await open({ name: 'Watcher', timezoneId: 'Europe/Lisbon', viewport: PHONE })
    await one.page.goto(boardUrl)
    await two.page.goto(boardUrl)
    await one.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    await two.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    const free = one.page.locator('.propose-btn').first()
    await free.click()
    await one.page.locator('form.propose input').first().fill('Pairing across time zones')
    await one.page.locator('form.propose button[type="submit"]').click()
    await two.page.locator('.session .topic', { hasText: 'Pairing across time zones' }).waitFor({ timeout: 10000 })
    await screenshot(one.page, 'board-desktop')
    await screenshot(two.page, 'board-phone')
    noErrors(one, two)
  })

  it('the board shows how many people are in each chart, live', async () => {
    const counted = await proposeSession(base, c, 'Counted on the board', 1, 0)
    const board = await open({ timezoneId: 'Europe/Lisbon' })
    await board.page.goto(`${base}/#/conference/${c.id}?token=${c.read}`)
    const badge = board.page.locator(`.session[data-session="${counted.id}"] .people`)
    await badge.waitFor()
    assert.equal(await badge.innerText(), '0 here')
    const chartUrl = `${base}/#/chart/${counted.chart_id}?token=${c.edit}`
    const one = await open({ name: 'Uno' })
    const two = await open({ name: 'Dos', viewport: PHONE })
    await one.page.goto(chartUrl)
    await two.page.goto(chartUrl)
    // Without a reload: the board's event stream pushes the counts.
    await board.page.locator(`.session[data-session="${counted.id}"] .people`, { hasText: /^2 here$/ }).waitFor()
    assert.equal(await badge.getAttribute('title'), '2 people in the chart now')
    await screenshot(board.page, 'board-presence-desktop')
    await two.context.close()
    await board.page.locator(`.session[data-session="${counted.id}"] .people`, { hasText: /^1 here$/ }).waitFor()
    // The rest of the board is not re-rendered for a count: an open
    // proposal form keeps what was typed (edit link).
    const poster = await open({ name: 'Poster', timezoneId: 'Europe/Lisbon' })
    await poster.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await poster.page.locator(`.session[data-session="${counted.id}"] .people`, { hasText: /^1 here$/ }).waitFor()
    await poster.page.locator('.propose-btn').first().click()
    await poster.page.keyboard.type('Half-typed topic')
    await one.context.close()
    await poster.page.locator(`.session[data-session="${counted.id}"] .people`, { hasText: /^0 here$/ }).waitFor()
    assert.equal(await poster.page.locator('form.propose input').first().inputValue(), 'Half-typed topic')
    assert.equal(await poster.page.evaluate(() => document.activeElement?.id ?? ''), await poster.page.locator('form.propose input').first().getAttribute('id'))
    await allLabelled(board.page)
    noErrors(board, poster)
  })

  it('the board works by keyboard: propose a topic without a mouse', async () => {
    const k = await open({ name: 'Keys', timezoneId: 'Europe/Lisbon' })
    await k.page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await k.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    const target = k.page.locator('.propose-btn').first()
    const label = await target.getAttribute('aria-label')
    // Tab from the top of the page until the first free cell has focus.
    let reached = false
    for (let i = 0; i < 40 && !reached; i++) {
      await k.page.keyboard.press('Tab')
      reached = (await k.page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '')) === label
    }
    assert.ok(reached, `Tab reaches "${label}"`)
    await k.page.keyboard.press('Enter')
    await k.page.keyboard.type('Typed by keyboard')
    await k.page.keyboard.press('Tab')
    assert.equal(await k.page.evaluate(() => document.activeElement?.id?.startsWith('convener-')), true, 'convener field comes next')
    await k.page.keyboard.press('Enter')
    await k.page.locator('.session .topic', { hasText: 'Typed by keyboard' }).waitFor()
    noErrors(k)
  })

  it('the agenda in another time zone shows shifted times', async () => {
    const boardUrl = `${base}/#/conference/${c.id}?token=${c.read}`
    const lisbon = await open({ timezoneId: 'Europe/Lisbon' })
    const tokyo = await open({ timezoneId: 'Asia/Tokyo' })
    await lisbon.page.goto(boardUrl)
    await tokyo.page.goto(boardUrl)
    const first = (p) => p.locator('tr.round th.time-col .time').first().innerText()
    await lisbon.page.locator('tr.round').first().waitFor()
    await tokyo.page.locator('tr.round').first().waitFor()
    // 09:00 in Lisbon (WEST, +01:00 in June) is 17:00 in Tokyo (+09:00).
    assert.equal(await first(lisbon.page), '09:00–09:30')
    assert.equal(await first(tokyo.page), '17:00–17:30')
    await tokyo.page.locator('#zone-note', { hasText: 'Asia/Tokyo' }).waitFor()
    await tokyo.page.locator('#zone-note', { hasText: 'Europe/Lisbon' }).waitFor()
    await tokyo.page.locator('.conf-time', { hasText: '09:00' }).first().waitFor()
    await screenshot(tokyo.page, 'board-tokyo-desktop')
    noErrors(lisbon, tokyo)
  })

  it('the proceedings download contains what was typed', async () => {
    const p = await open({ viewport: DESKTOP })
    await p.page.goto(`${base}/#/conference/${c.id}/proceedings?token=${c.read}`)
    await p.page.locator('#proceedings-sessions .topic', { hasText: 'Remote-first retros' }).waitFor()
    await screenshot(p.page, 'proceedings-desktop')
    const phone = await open({ viewport: PHONE })
    await phone.page.goto(`${base}/#/conference/${c.id}/proceedings?token=${c.read}`)
    await phone.page.locator('#proceedings-sessions .topic').first().waitFor()
    await screenshot(phone.page, 'proceedings-phone')
    await allLabelled(p.page)
    const [download] = await Promise.all([
      p.page.waitForEvent('download'),
      p.page.locator('#proceedings-downloads a[data-format="md"]').click(),
    ])
    const file = await download.path()
    const { readFileSync } = await import('node:fs')
    // CommonMark escapes punctuation in user text (`Remote\-first`): compare
    // what a reader sees, with the backslash escapes removed.
    const md = readFileSync(file, 'utf8').replace(/\\(.)/g, '$1')
    assert.match(md, /Remote-first retros/)
    assert.match(md, /Ada says: async standups work/)
    assert.match(md, /Grace says: keep cameras optional/)
    noErrors(p, phone)
  })

  it('the organizer page sets up a conference from the start page', async () => {
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Berlin' })
    await o.page.goto(`${base}/`)
    await o.page.locator('#conf-name').fill('Organizer UI Camp')
    await o.page.locator('#conf-zone').fill('Europe/Berlin')
    await o.page.locator('#conf-start').fill('2026-09-01')
    await o.page.locator('#conf-end').fill('2026-09-02')
    await o.page.locator('#create-form button[type="submit"]').click()
    await o.page.getByRole('link', { name: /Set up the agenda/ }).click()
    await o.page.locator('#space-name').fill('Main hall')
    await o.page.locator('#space-form button').click()
    await o.page.locator('#org-spaces li', { hasText: 'Main hall' }).waitFor()
    await o.page.locator('#space-name').fill('Kitchen')
    await o.page.locator('#space-form button').click()
    await o.page.locator('#org-spaces li', { hasText: 'Kitchen' }).waitFor()
    await o.page.locator('#p-all').check()
    await o.page.locator('#pattern-form button[type="submit"]').click()
    // 2 days x (opening + 4 breakouts + closing)
    await eventually(async () => (await o.page.locator('#round-list li').count()) === 12, { message: '12 rounds' })
    await o.page.locator('#link-label').fill('Attendees')
    await o.page.locator('#link-form button').click()
    await o.page.locator('#minted input').waitFor()
    const minted = await o.page.locator('#minted input').inputValue()
    assert.match(minted, /#\/conference\/.+\?token=/)
    await o.page.evaluate(() => window.scrollTo(0, 0))
    await o.page.locator('.toast').first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => {})
    await screenshot(o.page, 'organizer-desktop')
    await o.page.setViewportSize(PHONE)
    await o.page.evaluate(() => window.scrollTo(0, 0))
    await screenshot(o.page, 'organizer-phone')
    // The minted edit link opens the board with its rounds.
    const guest = await open({ name: 'Guest', timezoneId: 'Europe/Berlin' })
    await guest.page.goto(minted.replace(/^http:\/\/[^/]+/, base))
    await guest.page.locator('.propose-btn').first().waitFor()
    assert.equal(await guest.page.locator('table.agenda').count(), 2)
    noErrors(o, guest)
  })

  it('the organizer moves, merges and cancels sessions, and the board follows live', async () => {
    const c2 = await makeConference(base)
    const alpha = await proposeSession(base, c2, 'Alpha topic', 0, 0)
    const beta = await proposeSession(base, c2, 'Beta topic', 0, 1)
    const gamma = await proposeSession(base, c2, 'Gamma topic', 1, 0)
    const breakouts = c2.conf.rounds.filter((r) => r.kind === 'breakout')
    const spaces = c2.conf.spaces
    const o = await open({ name: 'Olga', timezoneId: 'Europe/Lisbon' })
    const board = await open({ timezoneId: 'Europe/Lisbon', viewport: PHONE })
    await board.page.goto(`${base}/#/conference/${c2.id}?token=${c2.read}`)
    await board.page.locator('#live-status', { hasText: 'Live' }).waitFor()
    await o.page.goto(`${base}/#/conference/${c2.id}/organize?token=${c2.org}`)
    const row = (s) => o.page.locator(`#session-admin li[data-session="${s.id}"]`)
    await row(alpha).waitFor()
    await allLabelled(o.page)

    // Move Alpha to the one free cell (second breakout, second space).
    await row(alpha).locator('summary').click()
    const moveTo = row(alpha).locator('form[data-action="move"] select')
    assert.equal(await moveTo.locator('option').count(), 1, 'one free cell')
    await moveTo.selectOption(`${breakouts[1].id}|${spaces[1].id}`)
    await row(alpha).locator('form[data-action="move"] button').click()
    await board.page.locator(`tr[data-round="${breakouts[1].id}"] td[data-space="${spaces[1].id}"] .topic`, { hasText: 'Alpha topic' }).waitFor()
    let conf = await api(base, 'GET', `/conferences/${c2.id}`, c2.read)
    const moved = conf.sessions.find((x) => x.id === alpha.id)
    assert.deepEqual([moved.round_id, moved.space_id], [breakouts[1].id, spaces[1].id])
    // The actions stay unfolded across the re-render.
    assert.equal(await row(alpha).locator('details').getAttribute('open'), '')

    // Merge Gamma into Beta.
    await row(beta).locator('summary').click()
    await row(beta).locator('form[data-action="merge"] select').selectOption(gamma.id)
    await row(beta).locator('form[data-action="merge"] button').click()
    await row(gamma).waitFor({ state: 'detached' })
    conf = await api(base, 'GET', `/conferences/${c2.id}`, c2.read)
    assert.equal(conf.sessions.some((x) => x.id === gamma.id), false, 'the absorbed session left the agenda')
    assert.match(conf.sessions.find((x) => x.id === beta.id).topic, /Beta topic.*Gamma topic/)
    const gammaInfo = await api(base, 'GET', `/charts/${gamma.chart_id}`, c2.edit)
    assert.equal(gammaInfo.merged_into, beta.chart_id)
    assert.equal(gammaInfo.read_only, true)
    await board.page.locator('.session .topic', { hasText: 'Gamma topic' }).first().waitFor()
    assert.equal(await board.page.locator('.session').count(), 2)

    // Cancel Alpha, by keyboard: the confirm step takes focus, Escape-free.
    await row(alpha).locator('[data-action="cancel"]').focus()
    await o.page.keyboard.press('Enter')
    const confirm = row(alpha).locator('[data-action="cancel-confirm"]')
    await confirm.waitFor()
    assert.equal(await confirm.evaluate((el) => el === document.activeElement), true, 'focus moves to the confirmation')
    const showSessions = () => o.page.evaluate(() => {
      document.getElementById('toasts')?.replaceChildren()
      document.getElementById('org-sessions')?.scrollIntoView()
    })
    await showSessions()
    await screenshot(o.page, 'organizer-sessions-desktop')
    await o.page.keyboard.press('Enter')
    await row(alpha).waitFor({ state: 'detached' })
    conf = await api(base, 'GET', `/conferences/${c2.id}`, c2.read)
    assert.deepEqual(conf.sessions.map((x) => x.id), [beta.id])
    const alphaInfo = await api(base, 'GET', `/charts/${alpha.chart_id}`, c2.edit)
    assert.equal(alphaInfo.read_only, true, 'a cancelled chart is kept read-only')
    const note = await open({ name: 'Late' })
    await note.page.goto(`${base}/#/chart/${alpha.chart_id}?token=${c2.edit}`)
    await note.page.locator('#chart-notice', { hasText: 'cancelled' }).waitFor()
    assert.equal(await note.page.locator('#editor .tiptap').getAttribute('contenteditable'), 'false')
    await note.page.goto(`${base}/#/chart/${gamma.chart_id}?token=${c2.edit}`)
    await note.page.locator('#chart-notice', { hasText: 'merged' }).waitFor()
    await board.page.locator('.session .topic', { hasText: 'Alpha topic' }).waitFor({ state: 'detached' })
    await o.page.setViewportSize(PHONE)
    await showSessions()
    await screenshot(o.page, 'organizer-sessions-phone')
    noErrors(o, board, note)
  })

  it('after a server restart, reloading shows everything', async () => {
    const url = `${base}/#/chart/${session.chart_id}?token=${c.edit}`
    const a = await open({ name: 'Ada' })
    await a.page.goto(url)
    await eventually(async () => (await editorText(a.page)).includes('Grace says'), { message: 'loaded' })
    await typeInEditor(a.page, 'Written just before the restart')
    await waitSaved(a.page)
    await server.stop()
    await a.page.locator('#save-status', { hasText: 'Offline' }).waitFor()
    // The editor stays usable offline; the edit waits in the tab.
    await typeInEditor(a.page, 'Written while the server was down')
    await a.page.locator('#save-status', { hasText: 'unsaved changes kept in this tab' }).waitFor()
    server = await startServer(bin, dataDir, `127.0.0.1:${port}`)
    // The open page reconnects by itself and sends the offline edit...
    await waitSaved(a.page)
    // ...and a reload (and a new reader) shows everything.
    await a.page.reload()
    for (const page of [a.page]) {
      await eventually(async () => {
        const t = await editorText(page)
        return (
          t.includes('Ada says') &&
          t.includes('Grace says') &&
          t.includes('Written just before the restart') &&
          t.includes('Written while the server was down')
        )
      }, { message: 'content after restart' })
    }
    const board = await open({ timezoneId: 'Europe/Lisbon' })
    await board.page.goto(`${base}/#/conference/${c.id}?token=${c.read}`)
    await board.page.locator('.session .topic', { hasText: 'Pairing across time zones' }).waitFor()
    noErrors(a, board)
  })
})
