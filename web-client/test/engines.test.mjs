// The smoke journey in each of three browser engines from Debian packages: chromium
// (playwright-core), firefox-esr (puppeteer-core, WebDriver BiDi) and WebKitGTK
// (WebKitWebDriver + MiniBrowser under Xvfb). Each opens the board, opens a chart from it,
// types, sees what a second browser (chromium) types, and exports the chart.
//
// An engine whose program is missing is reported as "NOT RUN: why" (a skip with that reason);
// with EASEL_ENGINES_REQUIRED=1 (scripts/test.sh, after installing them) it fails instead.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import {
  easelBinary,
  engineUnavailable,
  ENGINES,
  launchBrowser,
  launchEngine,
  makeConference,
  openPage,
  PHONE,
  proposeSession,
  startServer,
  tempDataDir,
  waitForIn,
} from './harness.mjs'

const required = process.env.EASEL_ENGINES_REQUIRED === '1'
const NOTES = '#editor .tiptap'

describe('smoke journey in three browser engines', () => {
  let server, base, c, peerBrowser
  const cells = [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]

  before(async () => {
    server = await startServer(easelBinary(), tempDataDir())
    base = server.url
    c = await makeConference(base)
    peerBrowser = await launchBrowser()
  })

  after(async () => {
    await peerBrowser?.close()
    await server?.stop()
  })

  ENGINES.forEach((name, i) => {
    it(`${name}: open the board, open a chart, type, see another browser's text, export`, { timeout: 180000 }, async (t) => {
      const why = engineUnavailable(name)
      if (why) {
        const msg = `NOT RUN: ${name}: ${why}`
        if (required) throw new Error(`${msg} (EASEL_ENGINES_REQUIRED=1)`)
        console.log(msg)
        t.skip(msg)
        return
      }
      const started = Date.now()
      const topic = `Smoke test in ${name}`
      const session = await proposeSession(base, c, topic, ...cells[i])
      const engine = await launchEngine(name)
      let page, peer
      try {
        page = await engine.newPage()
        t.diagnostic(`engine: ${engine.version}`)
        const steps = []
        const step = (label) => steps.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)}s`)
        step('started')
        // A name in place before the chart opens, so no name dialog interrupts the journey.
        await page.goto(`${base}/`)
        await page.evaluate((n) => localStorage.setItem('easel.name', n), `Someone in ${name}`)

        // The board, and the chart opened from it with a real click.
        await page.goto(`${base}/#/conference/${c.id}?token=${c.edit}`)
        const link = `.session[data-session="${session.id}"] a.topic`
        await waitForIn(page, link, { text: topic })
        step('board')
        await page.click(link)
        await waitForIn(page, '#chart-title', { text: topic })
        await waitForIn(page, NOTES, { text: 'Key points' })

        step('chart')
        const mine = `Typed in ${name}, by keyboard`
        await page.keys(NOTES, ['Control+Home', 'End', 'Enter', mine])
        await waitForIn(page, NOTES, { text: mine })

        step('typed')
        // A second browser on the same chart sees that text and answers.
        peer = await openPage(peerBrowser, { name: 'Peer', viewport: PHONE })
        await peer.page.goto(`${base}/#/chart/${session.chart_id}?token=${c.edit}`)
        await peer.page.locator(NOTES, { hasText: mine }).waitFor({ timeout: 15000 })
        const theirs = `Chromium answers ${name}`
        await peer.page.locator(NOTES).click()
        await peer.page.keyboard.press('Control+End')
        await peer.page.keyboard.press('Enter')
        await peer.page.keyboard.type(theirs, { delay: 5 })
        await waitForIn(page, NOTES, { text: theirs })
        step('peer seen')
        await waitForIn(page, '#save-status[data-state="saved"]')
        await waitForIn(page, `#presence li[data-name="Peer"]`)

        // Export: the chart page's Markdown link, fetched by this engine from the page.
        const exported = await page.evaluate(async () => {
          const a = document.querySelector('#exports a[data-format="md"]')
          const res = await fetch(a.href)
          return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
        })
        step('exported')
        assert.equal(exported.status, 200)
        assert.match(exported.type ?? '', /markdown/)
        // CommonMark escapes some punctuation in user text; compare what a reader sees.
        const md = exported.text.replace(/\\(.)/g, '$1')
        assert.match(md, new RegExp(topic))
        assert.ok(md.includes(mine), `export has the ${name} text`)
        assert.ok(md.includes(theirs), 'export has the other browser\'s text')

        assert.deepEqual(await page.errors(), [], `page errors in ${name}`)
        assert.deepEqual(peer.errors, [], 'page errors in the chromium peer')
        t.diagnostic(`${name} journey: ${steps.join(', ')}`)
      } finally {
        await peer?.context.close().catch(() => {})
        await page?.close().catch(() => {})
        await engine.close()
      }
    })
  })

})
