// Test harness: the real `easel` binary on a free port with a temp data dir,
// serving the built web client, and Debian's chromium through playwright-core.

import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import readline from 'node:readline'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
export const webDir = path.resolve(here, '..')
export const repoRoot = path.resolve(webDir, '..')
export const distDir = path.join(webDir, 'dist')
export const shotsDir = path.join(repoRoot, 'artifacts', 'screenshots')

/** Builds (if needed) and returns the easel binary. EASEL_BIN overrides. */
export function easelBinary() {
  if (process.env.EASEL_BIN) return process.env.EASEL_BIN
  const r = spawnSync('cargo', ['build', '-q', '-p', 'easel'], { cwd: repoRoot, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('cargo build -p easel failed')
  return path.join(process.env.CARGO_TARGET_DIR ? path.resolve(repoRoot, process.env.CARGO_TARGET_DIR) : path.join(repoRoot, 'target'), 'debug', 'easel')
}

export function tempDataDir() {
  return mkdtempSync(path.join(tmpdir(), 'easel-web-test-'))
}

/**
 * Starts `easel serve` on port 0. Resolves with { url, lines, stop() } once
 * it printed `Easel listening on http://ADDR` (and, on a first start, the
 * demo conference's links, which are collected in `lines`).
 */
export async function startServer(bin, dataDir, listen = '127.0.0.1:0') {
  if (!existsSync(path.join(distDir, 'index.html'))) throw new Error('web-client/dist missing: run npm run build first')
  const child = spawn(bin, ['serve', '--listen', listen, '--data-dir', dataDir, '--web-dir', distDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EASEL_LOG: process.env.EASEL_LOG ?? 'warn' },
  })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
    if (process.env.EASEL_TEST_VERBOSE) process.stderr.write(d)
  })
  const lines = []
  const rl = readline.createInterface({ input: child.stdout })
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`easel did not start:\n${stderr}`)), 30000)
    rl.on('line', (line) => {
      lines.push(line)
      const m = line.match(/^Easel listening on (http:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`easel exited with ${code}:\n${stderr}`))
    })
  })
  // Give the banner lines after the first a moment to arrive.
  await new Promise((r) => setTimeout(r, 300))
  const exited = new Promise((r) => child.on('exit', r))
  return {
    url,
    lines,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10000)
      await exited
      clearTimeout(t)
    },
  }
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  })
}

export const DESKTOP = { width: 1280, height: 860 }
export const PHONE = { width: 390, height: 844 }

/**
 * A new context + page that records console errors and page errors (the
 * tests assert there are none). `name` is preset in localStorage unless null.
 */
export async function openPage(browser, { viewport = DESKTOP, timezoneId, name, acceptDownloads = true } = {}) {
  const context = await browser.newContext({ viewport, timezoneId, acceptDownloads, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 })
  if (name) {
    await context.addInitScript((n) => localStorage.setItem('easel.name', n), name)
  }
  const page = await context.newPage()
  const errors = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const text = msg.text()
      // The browser logs every failed WebSocket connection attempt while a
      // server restarts; that is the network, not the app.
      if (/WebSocket connection to .* failed/.test(text)) return
      if (/Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(text)) return
      errors.push(text)
    }
  })
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  return { context, page, errors }
}

export async function screenshot(page, name) {
  mkdirSync(shotsDir, { recursive: true })
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false })
}

/** JSON API call as a non-browser client. */
export async function api(base, method, p, token, body) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${base}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = text
  }
  if (!res.ok) {
    const err = new Error(`${method} ${p}: ${res.status} ${text}`)
    err.status = res.status
    throw err
  }
  return data
}

/**
 * A conference made through the API: zone Europe/Lisbon, two spaces, an
 * opening circle and two breakout rounds, an edit and a read link.
 */
export async function makeConference(base, { zone = 'Europe/Lisbon', date = '2026-06-15' } = {}) {
  const created = await api(base, 'POST', '/conferences', null, {
    name: 'Browser Test Camp',
    time_zone: zone,
    start_date: date,
    end_date: date,
  })
  const id = created.conference.id
  const org = created.organizer_token
  await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Garden' })
  await api(base, 'POST', `/conferences/${id}/spaces`, org, { name: 'Library' })
  const conf = await api(base, 'POST', `/conferences/${id}/rounds/pattern`, org, {
    segments: [
      { kind: 'opening_circle', count: 1, start: { type: 'at', start: { type: 'civil', datetime: `${date}T09:00`, time_zone: zone } }, interval_minutes: 30, duration_minutes: 30, label: 'Opening circle' },
      { kind: 'breakout', count: 2, start: { type: 'after_previous', gap_minutes: 15 }, interval_minutes: 75, duration_minutes: 60 },
    ],
  })
  const edit = await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'edit', label: 'Participants' })
  const read = await api(base, 'POST', `/conferences/${id}/links`, org, { role: 'read', label: 'Readers' })
  return { id, org, edit: edit.token, read: read.token, conf }
}

export async function proposeSession(base, c, topic, roundIndex = 0, spaceIndex = 0) {
  const conf = await api(base, 'GET', `/conferences/${c.id}`, c.org)
  const breakouts = conf.rounds.filter((r) => r.kind === 'breakout')
  const res = await api(base, 'POST', `/conferences/${c.id}/sessions`, c.edit, {
    topic,
    convener: 'Tester',
    round_id: breakouts[roundIndex].id,
    space_id: conf.spaces[spaceIndex].id,
  })
  return res.session
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually(fn, { timeout = 10000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout
  let last
  while (Date.now() < end) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, interval))
  }
  throw new Error(`timed out waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
}

/** The value of one Prometheus counter from `GET /metrics`. */
export async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (!line) throw new Error(`metric ${name} missing`)
  return Number(line.split(' ')[1])
}

/**
 * Every visible form control and button on the page has an accessible
 * name (label, aria-label/labelledby, or text); returns those that do not.
 */
export async function unlabelled(page) {
  return page.evaluate(() => {
    const bad = []
    for (const el of document.querySelectorAll('input, select, textarea, button, a[href], summary, [contenteditable="true"]')) {
      const r = el.getBoundingClientRect()
      if (r.width === 0 && r.height === 0) continue
      const named =
        (el.labels && el.labels.length > 0) ||
        el.getAttribute('aria-label') ||
        el.getAttribute('aria-labelledby') ||
        (el.tagName !== 'INPUT' && el.tagName !== 'SELECT' && el.tagName !== 'TEXTAREA' && el.textContent.trim())
      if (!named) bad.push(el.outerHTML.slice(0, 120))
    }
    return bad
  })
}
