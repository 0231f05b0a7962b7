// The chart page tells the truth about its state: a session made final and
// reopened while people type, a connection that hangs, links that are
// wrong, revoked or lead nowhere, a server that is down, the token kept out
// of the address bar, the share action, the session's time, who took part,
// and edits made offline surviving a closed tab. Debian's chromium
// (playwright-core) against the real easel binary; `npm run build` first.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  api,
  DESKTOP,
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
} from './harness.mjs'

const editorText = (page) => page.locator('#editor .tiptap').innerText()
const status = (page) => page.locator('#save-status').innerText()
const docNotes = (page) => page.evaluate(() => window.easelChart.doc.getXmlFragment('notes').toString())

async function typeLine(page, text, delay = 5) {
  await page.locator('#editor .tiptap').click()
  // A new paragraph right under the first heading ("Summary").
  await page.keyboard.press('Control+Home')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type(text, { delay })
}

async function waitSaved(page, timeout = 15000) {
  await page.locator('#save-status[data-state="saved"]').waitFor({ timeout })
}

async function chartMarkdown(base, chartId, token) {
  const res = await fetch(`${base}/api/v1/charts/${chartId}/export.md?token=${token}`)
  assert.equal(res.status, 200)
  // CommonMark escapes punctuation in user text; compare what a reader sees.
  return (await res.text()).replace(/\\(.)/g, '$1')
}

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors, [], 'console errors')
}

// A refused request is logged by the browser itself; where a test sends
// one on purpose, that is the test, not the app.
function noErrorsBut401(...pages) {
  for (const p of pages) {
    const rest = p.errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[13]/.test(e))
    assert.deepEqual(rest, [], 'console errors')
  }
}

/**
 * Routes the page's chart WebSockets through the test, to make the network
 * misbehave: `hang` drops everything the server sends on the open
 * sockets (what the page sends still arrives) and refuses new ones;
 * `down` refuses every new socket and closes the open ones.
 */
async function controlSockets(page) {
  const net = { hang: false, down: false, sockets: new Set() }
  await page.routeWebSocket(/\/sync\//, (ws) => {
    if (net.hang || net.down) {
      ws.close()
      return
    }
    const server = ws.connectToServer()
    const link = { ws, server }
    net.sockets.add(link)
    ws.onMessage((m) => server.send(m))
    server.onMessage((m) => {
      if (!net.hang) ws.send(m)
    })
    ws.onClose(() => {
      net.sockets.delete(link)
      server.close()
    })
    server.onClose(() => {
      net.sockets.delete(link)
      ws.close()
    })
  })
  net.goDown = () => {
    net.down = true
    for (const { ws, server } of net.sockets) {
      ws.close()
      server.close()
    }
  }
  return net
}

describe('the chart page follows the truth', () => {
  let bin, dataDir, server, browser, c, base
  const opened = []
  const open = async (opts) => {
    const p = await openPage(browser, opts)
    opened.push(p)
    return p
  }
  const chartUrl = (chartId, token) => `${base}/#/chart/${chartId}${token ? `?token=${token}` : ''}`

  before(async () => {
    bin = easelBinary()
    dataDir = tempDataDir()
    server = await startServer(bin, dataDir)
    base = server.url
    browser = await launchBrowser()
    c = await makeConference(base)
  })

  after(async () => {
    for (const p of opened) await p.context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it('a session made final while people type: read-only at once, nothing lost, editable again when reopened', async () => {
    const s = await proposeSession(base, c, 'Finalized mid-sentence', 0, 0)
    const patch = (state) => api(base, 'PATCH', `/conferences/${c.id}/sessions/${s.id}`, c.org, { state })
    await patch('live')
    const ada = await open({ name: 'Ada' })
    const bob = await open({ name: 'Bob', viewport: PHONE })
    // What Ada sends takes 400 ms to arrive, so that her last keystrokes
    // before the switch reach the server after the session became final.
    await ada.page.routeWebSocket(/\/sync\//, (ws) => {
      const server = ws.connectToServer()
      ws.onMessage((m) => setTimeout(() => server.send(m), 400))
      server.onMessage((m) => ws.send(m))
    })
    await ada.page.goto(chartUrl(s.chart_id, c.edit))
    await bob.page.goto(chartUrl(s.chart_id, c.edit))
    await ada.page.locator('.chart-head .badge', { hasText: 'live' }).waitFor()
    await eventually(async () => (await editorText(ada.page)).includes('Key points'), { message: 'template' })
    await eventually(async () => (await editorText(bob.page)).includes('Key points'), { message: 'template (Bob)' })
    await typeLine(ada.page, 'Ada before: ')
    await waitSaved(ada.page)

    // Ada keeps typing while the organizer finalizes the session.
    const typing = ada.page.keyboard.type('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3), { delay: 25 })
    await new Promise((r) => setTimeout(r, 1500))
    const finalizedAt = Date.now()
    await patch('final')
    await ada.page.locator('#editor .tiptap[contenteditable="false"]').waitFor({ timeout: 3000 })
    const switchMs = Date.now() - finalizedAt
    await ada.page.locator('#chart-notice', { hasText: 'This session is final: the notes are read-only' }).waitFor()
    await ada.page.locator('.chart-head .badge', { hasText: 'final' }).waitFor()
    await bob.page.locator('.chart-head .badge', { hasText: 'final' }).waitFor()
    await bob.page.locator('#editor .tiptap[contenteditable="false"]').waitFor({ timeout: 3000 })
    assert.equal(await ada.page.locator('.toolbar').isVisible(), false)
    await typing
    // Her last keystrokes were refused: kept in the browser, and said so.
    await ada.page.locator('#save-status', { hasText: 'your last changes are kept' }).waitFor({ timeout: 5000 })
    // Nothing the server refused is blamed on the link.
    assert.doesNotMatch(await ada.page.locator('#chart-notice').innerText(), /your link/)
    const typedLine = (await editorText(ada.page)).split('\n').find((l) => l.startsWith('Ada before: '))
    assert.ok(typedLine && typedLine.length > 'Ada before: '.length, `Ada typed something after the first save: ${typedLine}`)
    assert.ok(!(await chartMarkdown(base, s.chart_id, c.read)).includes(typedLine), 'the server refused the last keystrokes')
    await screenshot(ada.page, 'chart-final-desktop')
    await screenshot(bob.page, 'chart-final-phone')

    // Reopened: editable again without a reload, and what Ada typed up to
    // the switch reaches the server.
    await patch('live')
    await ada.page.locator('#editor .tiptap[contenteditable="true"]').waitFor({ timeout: 5000 })
    await ada.page.locator('.chart-head .badge', { hasText: 'live' }).waitFor()
    assert.equal(await ada.page.locator('#chart-notice').isVisible(), false)
    await waitSaved(ada.page)
    assert.doesNotMatch(await status(ada.page), /Not saved/)
    const md = await chartMarkdown(base, s.chart_id, c.read)
    assert.ok(md.includes(typedLine), `the export has Ada's whole line "${typedLine}"`)
    await eventually(async () => (await editorText(bob.page)).includes(typedLine), { message: 'Bob sees the whole line' })
    // And she can go on writing.
    await typeLine(ada.page, 'Ada after the reopening')
    await waitSaved(ada.page)
    assert.match(await chartMarkdown(base, s.chart_id, c.read), /Ada after the reopening/)
    console.log(`# read-only ${switchMs} ms after the finalize request`)
    noErrors(ada, bob)
  })

  it('the HTML export opens in the browser instead of downloading', async () => {
    const s = await proposeSession(base, c, 'Read in the browser', 1, 0)
    const p = await open({ name: 'Hana' })
    await p.page.goto(chartUrl(s.chart_id, c.edit))
    const link = p.page.locator('#exports a[data-format="html"]')
    await link.waitFor()
    assert.match(await link.getAttribute('href'), /[?&]inline=1/)
    let downloaded = false
    p.page.on('download', () => (downloaded = true))
    const [tab] = await Promise.all([p.context.waitForEvent('page'), link.click()])
    await tab.waitForLoadState()
    await tab.locator('body', { hasText: 'Read in the browser' }).waitFor()
    assert.equal(downloaded, false)
    await screenshot(tab, 'chart-html-edition-desktop')
    await tab.close()
    noErrors(p)
  })

  it('a connection that hangs: "Offline" within seconds, and "Saved" once the server has the text', async () => {
    const s = await proposeSession(base, c, 'Flaky wifi', 1, 1)
    const p = await open({ name: 'Wifi' })
    const net = await controlSockets(p.page)
    await p.page.goto(chartUrl(s.chart_id, c.edit))
    await eventually(async () => (await editorText(p.page)).includes('Key points'), { message: 'template' })
    await typeLine(p.page, 'Before the hang')
    await waitSaved(p.page)

    // The server stops answering; what the page sends still arrives.
    net.hang = true
    const hungAt = Date.now()
    await typeLine(p.page, 'Typed into a hung connection')
    await eventually(async () => (await chartMarkdown(base, s.chart_id, c.read)).includes('Typed into a hung connection'), {
      message: 'the server has the text',
    })
    await p.page.locator('#save-status', { hasText: 'Offline' }).waitFor({ timeout: 15000 })
    const offlineMs = Date.now() - hungAt
    assert.ok(offlineMs < 12000, `"Offline" after ${offlineMs} ms`)
    await screenshot(p.page, 'chart-hung-offline-desktop')

    // The network is back: the page reconnects and sees that the server
    // has everything, although the server echoes nothing new.
    net.hang = false
    const backAt = Date.now()
    await waitSaved(p.page, 15000)
    console.log(`# hung: "Offline" after ${offlineMs} ms; "Saved" ${Date.now() - backAt} ms after the network came back`)
    noErrors(p)
  })

  it('the token leaves the address bar, and Share gives the link for the role', async () => {
    const s = await proposeSession(base, c, 'Shared around', 0, 1)
    // An editor: the address loses the token, a reload still works.
    const e = await open({ name: 'Eve' })
    await e.page.goto(chartUrl(s.chart_id, c.edit))
    await e.page.locator('#chart-title', { hasText: 'Shared around' }).waitFor()
    await eventually(async () => !e.page.url().includes('token'), { message: 'token gone from the address' })
    await e.page.reload()
    await eventually(async () => (await editorText(e.page)).includes('Key points'), { message: 'loads after reload' })
    assert.equal(await e.page.locator('#editor .tiptap').getAttribute('contenteditable'), 'true')
    await typeLine(e.page, 'Written after a reload without the token')
    await waitSaved(e.page)
    await e.page.locator('#share').click()
    const editLink = await e.page.locator('#share-panel input').first().inputValue()
    assert.match(editLink, new RegExp(`#/chart/${s.chart_id}\\?token=${c.edit}$`))
    await screenshot(e.page, 'chart-share-desktop')

    // A reader shares a read link.
    const r = await open({ name: 'Rita', viewport: PHONE })
    await r.page.goto(chartUrl(s.chart_id, c.read))
    await r.page.locator('#chart-notice', { hasText: 'read-only' }).waitFor()
    await r.page.locator('#share').click()
    assert.match(await r.page.locator('#share-panel input').first().inputValue(), new RegExp(`\\?token=${c.read}$`))
    await screenshot(r.page, 'chart-share-phone')

    // An organizer never shares their own token: they make links.
    const o = await open({ name: 'Olga' })
    await o.page.goto(chartUrl(s.chart_id, c.org))
    await o.page.locator('#chart-title', { hasText: 'Shared around' }).waitFor()
    await eventually(async () => !o.page.url().includes(c.org), { message: 'organizer token gone from the address' })
    await o.page.locator('#share').click()
    assert.ok(!(await o.page.locator('#share-panel').innerText()).includes(c.org))
    assert.equal(await o.page.locator('#share-panel input').count(), 0)
    await o.page.locator('#share-mint-read').click()
    const readLink = await o.page.locator('#share-panel input').first().inputValue()
    assert.ok(!readLink.includes(c.org))
    const minted = new URL(readLink.replace('#/', '')).searchParams.get('token') ?? readLink.split('token=')[1]
    const asReader = await api(base, 'GET', `/charts/${s.chart_id}`, decodeURIComponent(minted))
    assert.equal(asReader.role, 'read')
    await o.page.locator('#share-mint-edit').click()
    await o.page.locator('#share-panel input').nth(1).waitFor()
    const editMinted = decodeURIComponent((await o.page.locator('#share-panel input').nth(1).inputValue()).split('token=')[1])
    assert.equal((await api(base, 'GET', `/charts/${s.chart_id}`, editMinted)).role, 'edit')
    noErrors(e, r, o)
  })

  it('a wrong token says the link is not valid, not "Connecting..."', async () => {
    c = await makeConference(base)
    const s = await proposeSession(base, c, 'Plain states', 0, 0)
    const w = await open({ name: 'Wendy' })
    await w.page.goto(chartUrl(s.chart_id, 'not-a-real-token'))
    await w.page.locator('#save-status', { hasText: 'This link is not valid' }).waitFor({ timeout: 5000 })
    await w.page.locator('#chart-notice', { hasText: 'not valid' }).waitFor()
    await screenshot(w.page, 'chart-bad-link-desktop')
    noErrorsBut401(w)
  })

  it('a chart that does not exist says so and offers no exports', async () => {
    const n = await open({ name: 'Nina', viewport: PHONE })
    await n.page.goto(chartUrl('c-doesnotexist0000000000', c.edit))
    await n.page.locator('#chart-notice', { hasText: 'does not exist' }).waitFor({ timeout: 5000 })
    assert.doesNotMatch(await n.page.locator('#chart-notice').innerText(), /link does not allow/)
    assert.equal(await n.page.locator('#exports').isVisible(), false)
    await screenshot(n.page, 'chart-missing-phone')
    noErrorsBut401(n)
  })

  it('a revoked link says so and stops reconnecting', async () => {
    const s = (await api(base, 'GET', `/conferences/${c.id}`, c.read)).sessions[0]
    const minted = await api(base, 'POST', `/conferences/${c.id}/links`, c.org, { role: 'edit', label: 'to revoke' })
    const v = await open({ name: 'Vera' })
    let sockets = 0
    v.page.on('websocket', () => sockets++)
    await v.page.goto(chartUrl(s.chart_id, minted.token))
    await waitSaved(v.page)
    await api(base, 'DELETE', `/conferences/${c.id}/links/${minted.id}`, c.org)
    await v.page.locator('#save-status', { hasText: 'Your link was revoked' }).waitFor({ timeout: 5000 })
    const after = sockets
    await new Promise((r) => setTimeout(r, 3000))
    assert.equal(sockets, after, 'no reconnection after a revoke')
    assert.doesNotMatch(await status(v.page), /reconnect/i)
    await screenshot(v.page, 'chart-revoked-desktop')
    noErrorsBut401(v)
  })

  it('a deleted chart says so, stops reconnecting and offers no exports', async () => {
    const gone = await makeConference(base)
    const gs = await proposeSession(base, gone, 'Soon deleted', 0, 0)
    const d = await open({ name: 'Dora', viewport: PHONE })
    let sockets = 0
    d.page.on('websocket', () => sockets++)
    await d.page.goto(chartUrl(gs.chart_id, gone.edit))
    await waitSaved(d.page)
    await api(base, 'DELETE', `/conferences/${gone.id}`, gone.org)
    await d.page.locator('#save-status', { hasText: 'This chart was deleted' }).waitFor({ timeout: 5000 })
    const after = sockets
    await new Promise((r) => setTimeout(r, 3000))
    assert.equal(sockets, after, 'no reconnection after a deletion')
    assert.equal(await d.page.locator('#exports').isVisible(), false)
    await screenshot(d.page, 'chart-deleted-phone')
    noErrorsBut401(d)
  })

  it('a chart opened while the server is down says it cannot reach it, and loads once it answers', async () => {
    // The page itself came from a cache or just before the server went away.
    const s = (await api(base, 'GET', `/conferences/${c.id}`, c.read)).sessions[0]
    const u = await open({ name: 'Uma' })
    const net = await controlSockets(u.page)
    net.goDown()
    const refuse = (route) => route.abort('connectionrefused')
    await u.page.route('**/api/v1/**', refuse)
    await u.page.goto(chartUrl(s.chart_id, c.edit))
    await u.page.locator('#save-status', { hasText: 'Cannot reach the server' }).waitFor({ timeout: 10000 })
    assert.doesNotMatch(await u.page.locator('#editor').innerText(), /Loading the notes/)
    await screenshot(u.page, 'chart-unreachable-desktop')
    net.down = false
    await u.page.unroute('**/api/v1/**', refuse)
    await u.page.locator('#chart-title', { hasText: s.topic }).waitFor({ timeout: 15000 })
    await waitSaved(u.page)
  })

  it('the session time has a date and the zones', async () => {
    c = await makeConference(base)
    const s = await proposeSession(base, c, 'Across the world', 0, 0)
    const tokyo = await open({ name: 'Kenji', timezoneId: 'Asia/Tokyo', viewport: PHONE })
    const lisbon = await open({ name: 'Marta', timezoneId: 'Europe/Lisbon' })
    await tokyo.page.goto(chartUrl(s.chart_id, c.edit))
    await lisbon.page.goto(chartUrl(s.chart_id, c.edit))
    // First breakout: 09:45-10:45 in Lisbon on 15 June (WEST), 17:45 in Tokyo.
    const head = tokyo.page.locator('.chart-head')
    await head.locator('text=Europe/Lisbon').waitFor()
    const t = await head.innerText()
    assert.match(t, /15 Jun|Jun 15/)
    assert.match(t, /17:45–18:45 Asia\/Tokyo/)
    assert.match(t, /09:45–10:45 Europe\/Lisbon/)
    await lisbon.page.locator('.chart-head', { hasText: 'Europe/Lisbon' }).waitFor()
    const l = await lisbon.page.locator('.chart-head').innerText()
    assert.match(l, /15 Jun|Jun 15/)
    assert.match(l, /09:45–10:45 Europe\/Lisbon/)
    assert.doesNotMatch(l, /Tokyo/)
    // "Add to calendar": the session as an event in UTC (09:45 WEST = 08:45Z).
    const [download] = await Promise.all([tokyo.page.waitForEvent('download'), tokyo.page.locator('#session-ics').click()])
    const ics = readFileSync(await download.path(), 'utf8')
    assert.match(ics.replace(/\r\n /g, ''), /SUMMARY:Across the world/)
    assert.match(ics, /DTSTART:20260615T084500Z/)
    await screenshot(tokyo.page, 'chart-when-phone')
    noErrors(tokyo, lisbon)
  })

  it('whoever edits the notes is a participant in the proceedings, readers are not', async () => {
    const s = (await api(base, 'GET', `/conferences/${c.id}`, c.read)).sessions.find((x) => x.topic === 'Across the world')
    const tokyo = await open({ name: 'Kenji', timezoneId: 'Asia/Tokyo', viewport: PHONE })
    const lisbon = await open({ name: 'Marta', timezoneId: 'Europe/Lisbon' })
    await tokyo.page.goto(chartUrl(s.chart_id, c.edit))
    await lisbon.page.goto(chartUrl(s.chart_id, c.edit))
    // Both write; neither presses "Add me".
    await eventually(async () => (await editorText(tokyo.page)).includes('Key points'), { message: 'template' })
    await typeLine(tokyo.page, 'Kenji was here')
    await eventually(async () => (await editorText(lisbon.page)).includes('Kenji was here'), { message: 'sync' })
    await typeLine(lisbon.page, 'Marta too')
    await waitSaved(tokyo.page)
    await waitSaved(lisbon.page)
    await lisbon.page.locator('#participants li', { hasText: 'Kenji' }).waitFor()
    await lisbon.page.locator('#participants li', { hasText: 'Marta' }).waitFor()
    // A reader who only reads is not listed.
    const reader = await open({ name: 'Quiet Reader' })
    await reader.page.goto(chartUrl(s.chart_id, c.read))
    await eventually(async () => (await editorText(reader.page)).includes('Marta too'), { message: 'reader sees' })
    const json = JSON.stringify(await api(base, 'GET', `/charts/${s.chart_id}/export.json`, c.read))
    assert.match(json, /Kenji/)
    assert.match(json, /Marta/)
    assert.doesNotMatch(json, /Quiet Reader/)
    const proceedings = await api(base, 'GET', `/conferences/${c.id}/proceedings.json`, c.read)
    for (const name of ['Kenji', 'Marta']) assert.ok(proceedings.participants.includes(name), `${name} in the proceedings`)
    noErrors(tokyo, lisbon, reader)
  })

  it('edits made offline survive closing the tab and reach the server later', async () => {
    const s = await proposeSession(base, c, 'Offline and closed', 0, 1)
    const p = await open({ name: 'Otto' })
    const net = await controlSockets(p.page)
    await p.page.goto(chartUrl(s.chart_id, c.edit))
    await eventually(async () => (await editorText(p.page)).includes('Key points'), { message: 'template' })
    await waitSaved(p.page)
    net.goDown()
    await p.page.locator('#save-status', { hasText: 'Offline' }).waitFor({ timeout: 10000 })
    await typeLine(p.page, 'Written offline, then the tab was closed')
    await p.page.locator('#save-status', { hasText: 'unsaved changes kept' }).waitFor()
    await screenshot(p.page, 'chart-offline-desktop')
    // y-indexeddb writes each update as it happens; give it a moment.
    await new Promise((r) => setTimeout(r, 500))
    await p.page.close()
    assert.doesNotMatch(await chartMarkdown(base, s.chart_id, c.read), /Written offline/)

    // Back online, a new tab of the same browser.
    const tab = await p.context.newPage()
    await tab.goto(chartUrl(s.chart_id, c.edit))
    await eventually(async () => (await editorText(tab)).includes('Written offline, then the tab was closed'), {
      message: 'the offline text is back in the new tab',
    })
    await waitSaved(tab)
    assert.match(await chartMarkdown(base, s.chart_id, c.read), /Written offline, then the tab was closed/)
    noErrors(p)
  })
})
