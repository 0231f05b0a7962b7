// Two people open a fresh chart and type at once, without waiting for it to
// load: the server-seeded report template must survive the merge, and what
// each typed must land in a paragraph of its own under "Summary", in both
// browsers and in what the server stored.
//
// This once lost the template's task list and put typed text into the first
// heading (src/selection.ts says why: ProseMirror acting on a caret the
// browser had already moved, and y-tiptap moving a caret into a colleague's
// new paragraph). Every round logs each browser's keys, carets and Yjs
// transactions; a failing round writes them to artifacts/join-round-N.log.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  easelBinary,
  eventually,
  launchBrowser,
  makeConference,
  openPage,
  proposeSession,
  repoRoot,
  startServer,
  tempDataDir,
} from './harness.mjs'

const artifactsDir = path.join(repoRoot, 'artifacts')

// How many fresh charts to open; each is one race between two browsers
// (about 2 s each). Three rounds caught the old bug every run.
const ROUNDS = Number(process.env.EASEL_JOIN_ROUNDS ?? 3)

// Logs every Y transaction the page's chart document sees (before the app
// could attach anything itself), so a failure says who deleted what.
function recordTransactions() {
  const log = []
  window.easelLog = log
  for (const type of ['mousedown', 'keydown']) {
    document.addEventListener(type, (e) => {
      watchEditor()
      const ed = chart?.editor
      log.push({ t: Math.round(performance.now()), [type]: e.key ?? e.button, sel: ed?.state.selection.from, pm: ed?.state.doc.toString() })
    }, true)
  }
  let chart
  let editorWatched = false
  // The editor appears after the first sync: watch it once it is there.
  const watchEditor = () => {
    const ed = chart?.editor
    if (editorWatched || !ed) return
    editorWatched = true
    ed.on('transaction', ({ transaction: t }) => {
      const metas = Object.keys(t.meta ?? {}).join(',')
      log.push({ t: Math.round(performance.now()), pmtr: metas, docChanged: t.docChanged, selSet: t.selectionSet, sel: t.selection.from })
    })
  }
  document.addEventListener('selectionchange', () => {
    const s = document.getSelection()
    watchEditor()
    log.push({ t: Math.round(performance.now()), selectionchange: `${s?.anchorNode?.nodeName}:${(s?.anchorNode?.textContent ?? '').slice(0, 12)}@${s?.anchorOffset}`, sel: chart?.editor?.state.selection.from })
  })
  Object.defineProperty(window, 'easelChart', {
    configurable: true,
    get: () => chart,
    set: (v) => {
      chart = v
      const notes = v.doc.getXmlFragment('notes')
      v.doc.on('afterTransaction', (tr) => {
        const deleted = []
        tr.deleteSet.clients.forEach((ranges, client) => {
          for (const r of ranges) deleted.push(`${client}:${r.clock}+${r.len}`)
        })
        const inserted = []
        tr.afterState.forEach((clock, client) => {
          const before = tr.beforeState.get(client) ?? 0
          if (clock > before) inserted.push(`${client}:${before}+${clock - before}`)
        })
        watchEditor()
        if (deleted.length === 0 && inserted.length === 0) return
        let origin = 'local'
        if (tr.origin === v.provider) origin = 'provider'
        else if (tr.origin && tr.origin.key) origin = String(tr.origin.key)
        else if (tr.origin) origin = tr.origin.constructor?.name ?? 'other'
        log.push({ t: Math.round(performance.now()), local: tr.local, origin, inserted, deleted, synced: v.provider.synced, sel: v.editor?.state.selection.from, notes: notes.toString() })
      })
    },
  })
}

// Grace is on a slow link: what the server sends her arrives this late, so
// she can start typing before the chart's notes have reached her.
const SLOW_LINK_MS = 700

async function slowLink(page) {
  await page.routeWebSocket(/\/sync\//, (ws) => {
    const server = ws.connectToServer()
    ws.onMessage((m) => server.send(m))
    server.onMessage((m) => setTimeout(() => ws.send(m), SLOW_LINK_MS))
  })
}

/** The chart's notes as a tree: {name, attrs, children} / {text}. */
function notesTree(page) {
  return page.evaluate(() => {
    const walk = (n) =>
      typeof n.toDelta === 'function'
        ? { text: n.toDelta().map((d) => (typeof d.insert === 'string' ? d.insert : '')).join('') }
        : { name: n.nodeName, attrs: n.getAttributes(), children: n.toArray().map(walk) }
    return window.easelChart.doc.getXmlFragment('notes').toArray().map(walk)
  })
}

/** The chart as the server stored it (its JSON export), in notesTree's shape. */
async function storedTree(base, chartId, token) {
  const res = await fetch(`${base}/api/v1/charts/${encodeURIComponent(chartId)}/export.json`, { headers: { Authorization: `Bearer ${token}` } })
  assert.equal(res.status, 200)
  const json = await res.json()
  const [session] = json.days.flatMap((d) => d.rounds.flatMap((r) => r.sessions))
  const block = (b) =>
    b.type === 'task_list'
      ? { name: 'taskList', children: b.items.map((i) => ({ name: 'taskItem', children: i.blocks.map(block) })) }
      : { name: b.type, children: [{ text: (b.inlines ?? []).map((i) => i.text ?? '').join('') }] }
  return session.blocks.map(block)
}

const textOf = (node) => (node.text !== undefined ? node.text : node.children.map(textOf).join(''))

/** The default report template's headings (the Open Space report form). */
const HEADINGS = ['Summary', 'Key points and ideas', 'Recommendations', 'Questions for further study', 'Next steps / actions']

/**
 * The template's shape with what was typed: the first heading, then
 * paragraphs (the typed ones among them) up to the second heading, the other
 * sections, and the last heading followed by the task list with its one empty
 * item. Returns a list of what is wrong (empty when all is well).
 */
function templateProblems(tree, typed) {
  const problems = []
  const headings = tree.filter((n) => n.name === 'heading')
  const headingTexts = headings.map(textOf)
  if (JSON.stringify(headingTexts) !== JSON.stringify(HEADINGS)) {
    problems.push(`headings are ${JSON.stringify(headingTexts)}`)
  }
  const first = HEADINGS[0]
  const key = tree.findIndex((n) => n.name === 'heading' && textOf(n) === first)
  const second = tree.findIndex((n) => n.name === 'heading' && textOf(n) === HEADINGS[1])
  const next = tree.findIndex((n) => n.name === 'heading' && textOf(n) === HEADINGS[HEADINGS.length - 1])
  if (key !== 0) problems.push(`"${first}" is block ${key}, not the first`)
  const between = key >= 0 && second > key ? tree.slice(key + 1, second) : []
  for (const t of typed) {
    const home = between.filter((n) => n.name === 'paragraph' && textOf(n) === t)
    if (home.length !== 1) problems.push(`"${t}" is not one paragraph under "${first}"`)
  }
  const lists = tree.filter((n) => n.name === 'taskList')
  if (lists.length !== 1) problems.push(`${lists.length} task lists`)
  else {
    const items = lists[0].children
    if (next < 0 || tree.indexOf(lists[0]) !== next + 1) problems.push(`the task list does not follow "${HEADINGS[HEADINGS.length - 1]}"`)
    if (items.length !== 1 || items[0].name !== 'taskItem' || items[0].children[0]?.name !== 'paragraph') {
      problems.push(`task list is ${JSON.stringify(lists[0])}`)
    }
  }
  return problems
}

describe('typing right after joining a fresh chart', () => {
  let server, browser, c, base
  const contexts = []

  before(async () => {
    server = await startServer(easelBinary(), tempDataDir())
    base = server.url
    browser = await launchBrowser()
  })

  after(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => {})
    await browser?.close()
    await server?.stop()
  })

  it(`two browsers type at once into ${ROUNDS} fresh charts; the template survives`, async () => {
    const failures = []
    for (let round = 0; round < ROUNDS; round++) {
      // A conference has four free cells: a new one every four charts.
      if (round % 4 === 0) c = await makeConference(base)
      const session = await proposeSession(base, c, `Join race ${round}`, round % 2, Math.floor(round / 2) % 2)
      const url = `${base}/#/chart/${session.chart_id}?token=${c.edit}`
      const people = await Promise.all(
        ['Ada', 'Grace'].map(async (name) => {
          const p = await openPage(browser, { name })
          contexts.push(p.context)
          await p.context.addInitScript(recordTransactions)
          if (name === 'Grace') await slowLink(p.page)
          return { name, ...p }
        }),
      )
      const typed = people.map((p) => `${p.name} typed in round ${round}`)
      await Promise.all(
        people.map(async (p, i) => {
          await p.page.goto(url)
          const ed = p.page.locator('#editor .tiptap[contenteditable="true"]')
          await ed.click()
          // A new paragraph right under the first heading ("Summary").
          await p.page.keyboard.press('Control+Home')
          await p.page.keyboard.press('End')
          await p.page.keyboard.press('Enter')
          await p.page.keyboard.type(typed[i], { delay: 2 })
        }),
      )
      const notes = (p) => p.page.evaluate(() => window.easelChart.doc.getXmlFragment('notes').toString())
      await eventually(async () => {
        const all = await Promise.all(people.map(notes))
        return all.every((n) => n === all[0]) && typed.every((t) => all[0].includes(t))
      }, { message: `round ${round}: both browsers converge on both texts` }).catch((e) => failures.push(e.message))
      const problems = templateProblems(await notesTree(people[0].page), typed)
      const saved = (p) => p.page.locator('#save-status[data-state="saved"]').isVisible()
      await eventually(async () => (await Promise.all(people.map(saved))).every(Boolean), { message: `round ${round}: both saved` })
      for (const p of await storedTree(base, session.chart_id, c.edit).then((tree) => templateProblems(tree, typed))) {
        problems.push(`stored: ${p}`)
      }
      if (problems.length > 0) {
        const logs = await Promise.all(people.map((p) => p.page.evaluate(() => window.easelLog)))
        // The whole story (each browser's keys, caret and Y transactions)
        // goes to a file; the assertion message stays readable.
        mkdirSync(artifactsDir, { recursive: true })
        const file = path.join(artifactsDir, `join-round-${round}.log`)
        writeFileSync(
          file,
          [`notes: ${await notes(people[0])}`, ...people.flatMap((p, i) => [`${p.name}:`, ...logs[i].map((l) => JSON.stringify(l))])].join('\n'),
        )
        failures.push(`round ${round}: ${problems.join('; ')} (transactions: ${file})`)
      }
      for (const p of people) assert.deepEqual(p.errors, [], 'console errors')
      for (const p of people) await p.context.close()
    }
    assert.deepEqual(failures, [])
  })

  it('a link the server refuses says why and shows no editor to type into', async () => {
    c = await makeConference(base)
    const session = await proposeSession(base, c, 'Refused link')
    const p = await openPage(browser, { name: 'Mallory' })
    contexts.push(p.context)
    await p.page.goto(`${base}/#/chart/${session.chart_id}?token=not-a-token`)
    await p.page.locator('#chart-notice', { hasText: 'not valid' }).waitFor()
    await p.page.locator('#editor', { hasText: 'The notes could not be loaded.' }).waitFor()
    assert.equal(await p.page.locator('#editor .tiptap').count(), 0)
  })
})
