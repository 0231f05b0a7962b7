// Accessibility in chromium: axe-core on every page of the app (home, board, chart, organizer,
// proceedings; desktop and phone width) with no serious or critical violation, and the main
// journey done with the keyboard alone: Tab to a chart on the board, type, export.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  axeViolations,
  DESKTOP,
  easelBinary,
  launchBrowser,
  makeConference,
  openPage,
  PHONE,
  proposeSession,
  startServer,
  tempDataDir,
} from './harness.mjs'

const NOTES = '#editor .tiptap'

function report(violations) {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`).join('\n')
}

describe('accessibility (axe-core, keyboard only)', () => {
  let server, base, c, browser, session
  const opened = []
  const open = async (opts) => {
    const p = await openPage(browser, opts)
    opened.push(p)
    return p
  }

  before(async () => {
    server = await startServer(easelBinary(), tempDataDir())
    base = server.url
    browser = await launchBrowser()
    c = await makeConference(base)
    session = await proposeSession(base, c, 'Accessible agendas', 0, 0)
    await proposeSession(base, c, 'Captions for every talk', 1, 1)
    // Notes by two people, so the chart shows another person's caret and the proceedings
    // list a chart with content.
    const writer = await open({ name: 'Writer' })
    await writer.page.goto(`${base}/#/chart/${session.chart_id}?token=${c.edit}`)
    await writer.page.locator(NOTES, { hasText: 'Key points' }).waitFor()
    await writer.page.locator(NOTES).click()
    await writer.page.keyboard.press('Control+Home')
    await writer.page.keyboard.press('End')
    await writer.page.keyboard.press('Enter')
    await writer.page.keyboard.type('Alt text on every slide')
    await writer.page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
    // The board: two stickies and a stroke, so its pages show each kind of item.
    await writer.page.locator('#board-viewport[data-readonly="false"]').waitFor({ state: 'attached' })
    await writer.page.evaluate(() => {
      const m = window.easelChart.board.model
      m.addSticky({ x: 1800, y: 1300, color: 'yellow', author: 'Writer', text: 'Captions' })
      m.addSticky({ x: 2050, y: 1300, color: 'blue', author: 'Writer', text: 'Sign language' })
      const id = m.startStroke({ points: [1800, 1560, 1900, 1600, 2000, 1580, 2200, 1620], color: 'red', width: 6, tool: 'pen', author: 'Writer' })
      m.extendStroke(id, [], true)
    })
    await writer.page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
  })

  after(async () => {
    for (const p of opened) await p.context.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  // Each page, reached as a person would, in the state where it shows the most.
  const pages = [
    { name: 'home', url: () => `${base}/`, ready: (p) => p.getByRole('heading', { name: 'Organize a conference' }).waitFor() },
    {
      name: 'board',
      url: () => `${base}/#/conference/${c.id}?token=${c.edit}`,
      ready: async (p) => {
        await p.locator('#live-status', { hasText: 'Live' }).waitFor()
        await p.locator('.session .topic', { hasText: 'Accessible agendas' }).waitFor()
      },
    },
    {
      name: 'chart',
      url: () => `${base}/#/chart/${session.chart_id}?token=${c.edit}`,
      ready: async (p) => {
        await p.locator(NOTES, { hasText: 'Alt text on every slide' }).waitFor()
        await p.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })
        await p.locator('#presence li[data-name="Writer"]').waitFor()
      },
    },
    {
      name: 'chart (read-only link)',
      url: () => `${base}/#/chart/${session.chart_id}?token=${c.read}`,
      ready: (p) => p.locator('#chart-notice', { hasText: 'read-only' }).waitFor(),
    },
    {
      name: 'chart (board)',
      url: () => `${base}/#/chart/${session.chart_id}?token=${c.edit}`,
      ready: async (p) => {
        await p.locator('#tab-board').click()
        await p.locator('#board-viewport[data-readonly="false"][data-stickies="2"][data-drawn-at]').waitFor()
        // A sticky selected (its resize handle shows) and the Keys help open.
        await p.locator('.sticky', { hasText: 'Captions' }).focus()
        await p.locator('.board-keys summary').click()
      },
    },
    {
      name: 'chart (board, read-only link)',
      url: () => `${base}/#/chart/${session.chart_id}?token=${c.read}`,
      ready: async (p) => {
        await p.locator('#tab-board').click()
        await p.locator('#board-viewport[data-readonly="true"][data-stickies="2"][data-drawn-at]').waitFor()
      },
    },
    {
      name: 'organizer',
      url: () => `${base}/#/conference/${c.id}/organize?token=${c.org}`,
      ready: (p) => p.locator('#session-admin li').first().waitFor(),
    },
    {
      name: 'proceedings',
      url: () => `${base}/#/conference/${c.id}/proceedings?token=${c.read}`,
      ready: (p) => p.locator('#proceedings-sessions .topic', { hasText: 'Accessible agendas' }).waitFor(),
    },
  ]

  for (const pg of pages) {
    for (const [width, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ]) {
      it(`axe: ${pg.name} (${width}) has no serious or critical violation`, async (t) => {
        const o = await open({ name: 'Axel', viewport, timezoneId: 'Europe/Lisbon' })
        await o.page.goto(pg.url())
        await pg.ready(o.page)
        const all = await axeViolations(o.page, { impacts: ['critical', 'serious', 'moderate', 'minor'] })
        const lesser = all.filter((v) => v.impact === 'moderate' || v.impact === 'minor')
        if (lesser.length) t.diagnostic(`moderate/minor: ${lesser.map((v) => `${v.id} (${v.nodes.length})`).join(', ')}`)
        const found = all.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        assert.equal(found.length, 0, `axe on ${pg.name} (${width}):\n${report(found)}`)
        assert.deepEqual(o.errors, [], 'console errors')
        await o.context.close()
      })
    }
  }

  it('axe: the start page after creating a conference, and the organizer page after minting a link', async () => {
    const o = await open({ name: 'Axel', timezoneId: 'Europe/Lisbon' })
    await o.page.goto(`${base}/`)
    await o.page.locator('#conf-name').fill('Axe Camp')
    await o.page.locator('#conf-zone').fill('Europe/Lisbon')
    await o.page.locator('#create-form button[type="submit"]').click()
    await o.page.getByRole('link', { name: /Set up the agenda/ }).waitFor()
    let found = await axeViolations(o.page)
    assert.equal(found.length, 0, `axe on the start page with a new conference:\n${report(found)}`)
    await o.page.getByRole('link', { name: /Set up the agenda/ }).click()
    await o.page.locator('#link-label').fill('Attendees')
    await o.page.locator('#link-form button').click()
    await o.page.locator('#minted input').waitFor()
    found = await axeViolations(o.page)
    assert.equal(found.length, 0, `axe on the organizer page with a minted link:\n${report(found)}`)
    assert.deepEqual(o.errors, [], 'console errors')
    await o.context.close()
  })

  it('axe: the name dialog a newcomer meets on a chart has no serious or critical violation', async () => {
    const o = await open({ viewport: PHONE })
    await o.page.goto(`${base}/#/chart/${session.chart_id}?token=${c.edit}`)
    await o.page.locator('dialog #name-input').waitFor()
    const found = await axeViolations(o.page)
    assert.equal(found.length, 0, `axe on the name dialog:\n${report(found)}`)
    await o.context.close()
  })

  it('keyboard only: Tab to a chart on the board, type, and export it', async () => {
    const k = await open({ name: 'Keys', timezoneId: 'Europe/Lisbon' })
    const { page } = k
    const focusIs = (css) => page.evaluate((css) => document.activeElement?.matches(css) ?? false, css)
    const tabTo = async (css, max = 80) => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab')
        if (await focusIs(css)) return i + 1
      }
      const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))
      assert.fail(`Tab did not reach ${css} in ${max} presses (focus on ${at})`)
    }

    await page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
    await page.locator('#live-status', { hasText: 'Live' }).waitFor()
    await tabTo(`.session[data-session="${session.id}"] a.topic`)
    await page.keyboard.press('Enter')
    await page.locator('#chart-title', { hasText: 'Accessible agendas' }).waitFor()
    await page.locator(NOTES, { hasText: 'Alt text on every slide' }).waitFor()

    await tabTo(NOTES)
    await page.keyboard.press('Control+Home')
    await page.keyboard.press('End')
    await page.keyboard.press('Enter')
    await page.keyboard.type('Typed without a mouse')
    await page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })

    // Out of the editor and on to the export links: Tab leaves a plain paragraph.
    await tabTo('#exports a[data-format="md"]', 30)
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')])
    const md = readFileSync(await download.path(), 'utf8').replace(/\\(.)/g, '$1')
    assert.match(md, /Accessible agendas/)
    assert.match(md, /Typed without a mouse/)
    assert.match(md, /Alt text on every slide/)
    assert.deepEqual(k.errors, [], 'console errors')
  })
})
