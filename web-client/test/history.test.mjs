// A chart's history in a real browser against the real server: "Save
// version", the timeslider and its preview with changes highlighted, a
// restore behind a confirmation that an open reader's page follows
// without a reload, and what a read link may do. Screenshots at desktop
// and phone width go to docs/screenshots/. Run `npm run build` first.

import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { api, browserSuite, eventually, makeConference, PHONE, proposeSession, screenshot } from './harness.mjs'

// A refused token is a refused request, and the browser logs each one.
const refused = /Failed to load resource: the server responded with a status of (401|403)/

function noErrors(...pages) {
  for (const p of pages) assert.deepEqual(p.errors.filter((e) => !refused.test(e)), [], 'console errors')
}

const editorText = (page) => page.locator('#editor .tiptap').innerText()

async function typeLine(page, text) {
  await page.locator('#editor .tiptap').click()
  await page.keyboard.press('Control+Home')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type(text, { delay: 5 })
}

async function openHistory(page) {
  await page.locator('#history summary').click()
  await page.locator('#history[data-loaded]').waitFor()
}

/** Moves the timeslider to `index` as the keyboard would. */
async function slideTo(page, index) {
  const slider = page.locator('#history-slider')
  await slider.focus()
  await page.keyboard.press('Home')
  for (let i = 0; i < index; i++) await page.keyboard.press('ArrowRight')
}

describe('chart history', () => {
  let base, c, chart
  const suite = browserSuite()
  const open = suite.open

  before(async () => {
    base = suite.base
    c = await makeConference(base)
    chart = (await proposeSession(base, c, 'Remote retros that work')).chart_id
  })

  it('saves a version, previews it with changes marked, restores it for everyone, and keeps readers to browsing', async () => {
    const ana = await open({ name: 'Ana' })
    await ana.page.goto(`${base}/#/chart/${chart}?token=${c.edit}`)
    await ana.page.locator('#editor .tiptap[contenteditable="true"]').waitFor()
    await typeLine(ana.page, 'Keep the retro under an hour')
    await ana.page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })

    await openHistory(ana.page)
    assert.equal(await ana.page.locator('#history-empty').isVisible(), true)
    await ana.page.locator('#history-label').fill('First draft')
    await ana.page.locator('#history-save button[type="submit"]').click()
    await eventually(async () => (await ana.page.locator('#history-slider').getAttribute('max')) === '1', { message: 'one version listed' })
    assert.match(await ana.page.locator('#history-at').innerText(), /^Live/)

    await typeLine(ana.page, 'Rotate the facilitator every week')
    await ana.page.locator('#save-status[data-state="saved"]').waitFor({ timeout: 15000 })

    // A reader browses: the slider and preview, no save, no restore.
    const rita = await open({ name: 'Rita' })
    await rita.page.goto(`${base}/#/chart/${chart}?token=${c.read}`)
    await rita.page.locator('#editor .tiptap').waitFor()
    await eventually(async () => (await editorText(rita.page)).includes('Rotate the facilitator'), { message: 'reader has the notes' })
    await openHistory(rita.page)
    assert.equal(await rita.page.locator('#history-save').isVisible(), false)
    await slideTo(rita.page, 0)
    await rita.page.locator('#history-preview .diff-line').first().waitFor()
    assert.equal(await rita.page.locator('#history-restore').isVisible(), false)
    assert.match(await rita.page.locator('#history-at').innerText(), /First draft/)

    // Ana slides back: the preview shows the version, the later line marked.
    await slideTo(ana.page, 0)
    const added = ana.page.locator('#history-preview .diff-insert', { hasText: 'Rotate the facilitator' })
    await added.waitFor()
    const kept = ana.page.locator('#history-preview .diff-equal', { hasText: 'Keep the retro under an hour' })
    await kept.waitFor()
    await ana.page.locator('#history').scrollIntoViewIfNeeded()
    await screenshot(ana.page, 'history-desktop')

    // Restore, confirmed: both pages converge without a reload.
    await ana.page.locator('#history-restore').click()
    await ana.page.locator('#confirm-dialog').waitFor()
    await screenshot(ana.page, 'history-restore-confirm')
    await ana.page.locator('#confirm-dialog [data-action="confirm"]').click()
    for (const p of [ana.page, rita.page]) {
      await eventually(async () => {
        const t = await editorText(p)
        return t.includes('Keep the retro under an hour') && !t.includes('Rotate the facilitator')
      }, { message: 'the restored content', timeout: 15000 })
    }
    // The restore and what it replaced are versions too; the slider is back on Live.
    await eventually(async () => (await ana.page.locator('#history-slider').getAttribute('max')) === '3', { message: 'three versions' })
    assert.match(await ana.page.locator('#history-at').innerText(), /^Live/)
    // Ana types on after the restore, and Rita sees it.
    await typeLine(ana.page, 'Typed after the restore')
    await eventually(async () => (await editorText(rita.page)).includes('Typed after the restore'), { message: 'later edit reaches the reader' })

    // A read link cannot restore through the API either.
    const versions = (await api(base, 'GET', `/charts/${chart}/versions`, c.read)).versions
    assert.deepEqual(versions.map((v) => v.trigger), ['manual', 'before_restore', 'restore'])
    await assert.rejects(api(base, 'POST', `/charts/${chart}/versions/${versions[0].id}/restore`, c.read), (e) => e.status === 403 && /restore_not_allowed/.test(e.message))

    // Phone width: the panel fits.
    const phone = await open({ name: 'Pia', viewport: PHONE })
    await phone.page.goto(`${base}/#/chart/${chart}?token=${c.edit}`)
    await phone.page.locator('#editor .tiptap').waitFor()
    await openHistory(phone.page)
    await slideTo(phone.page, 0)
    await phone.page.locator('#history-preview .diff-line').first().waitFor()
    await phone.page.locator('#history-at').evaluate((el) => el.scrollIntoView({ block: 'start' }))
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(overflow <= 1, `no sideways scrolling at phone width (${overflow}px)`)
    await screenshot(phone.page, 'history-phone')
    noErrors(ana, rita, phone)
  })
})
