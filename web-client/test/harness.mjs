import { before, after } from 'node:test'
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
  // Nothing but loopback: no name resolves (chromium otherwise looks up Google's account
  // service), and the tests use 127.0.0.1.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
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

// ---- three browser engines ---------------------------------------------------------------
//
// The same journey runs in chromium (playwright-core), firefox-esr (puppeteer-core over
// WebDriver BiDi) and WebKitGTK (WebKitWebDriver driving MiniBrowser under Xvfb, spoken to in
// plain W3C WebDriver over fetch). All three come from Debian packages that
// scripts/install-deps.sh installs; each is reached through a small common page interface:
//   goto(url), evaluate(fn, ...args), waitFor(css, {text, timeout}), click(css),
//   keys(css, [...tokens]) where a token is a key name (Enter, End, Home, Tab, Control+Home)
//   or text to type, errors() (uncaught page errors), close().

export const ENGINES = ['chromium', 'firefox', 'webkit']

const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver'
const KEY_TOKEN = /^(?:(Control|Shift)\+)?(Enter|End|Home|Tab|Escape|Backspace)$/

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null
}

/** Path of the MiniBrowser that ships with WebKitGTK (libwebkit2gtk-4.1-0), or null. */
export function miniBrowserPath() {
  if (process.env.MINIBROWSER_PATH) return process.env.MINIBROWSER_PATH
  const r = spawnSync('dpkg', ['-L', 'libwebkit2gtk-4.1-0'], { encoding: 'utf8' })
  const line = (r.stdout ?? '').split('\n').find((l) => l.endsWith('/MiniBrowser'))
  if (line && existsSync(line)) return line
  for (const p of ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser']) {
    if (existsSync(p)) return p
  }
  return null
}

/** Why an engine cannot start on this machine (a missing program), or null when it can. */
export function engineUnavailable(name) {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (name === 'chromium') return existsSync(chromiumPath) ? null : `${chromiumPath} missing (Debian package chromium)`
  if (name === 'firefox') return existsSync(FIREFOX_PATH) ? null : `${FIREFOX_PATH} missing (Debian package firefox-esr)`
  if (name === 'webkit') {
    if (!existsSync(WEBKIT_DRIVER)) return `${WEBKIT_DRIVER} missing (Debian package webkit2gtk-driver)`
    if (!miniBrowserPath()) return 'MiniBrowser missing (Debian package libwebkit2gtk-4.1-0)'
    if (!which('xvfb-run')) return 'xvfb-run missing (Debian package xvfb): MiniBrowser has no headless mode'
    return null
  }
  return `unknown engine ${name}`
}

/** Starts an engine; resolves with { name, version, newPage(), close() }. */
export async function launchEngine(name) {
  if (name === 'chromium') return launchChromiumEngine()
  if (name === 'firefox') return launchFirefoxEngine()
  if (name === 'webkit') return launchWebKitEngine()
  throw new Error(`unknown engine ${name}`)
}

async function launchChromiumEngine() {
  const browser = await launchBrowser()
  return {
    name: 'chromium',
    version: `Chromium ${browser.version()}`,
    async newPage({ viewport = DESKTOP } = {}) {
      const { context, page, errors } = await openPage(browser, { viewport })
      return {
        raw: page,
        goto: (url) => page.goto(url),
        // A string expression: evaluated by the devtools protocol, not by eval() under the page's CSP.
        evaluate: (fn, ...args) => page.evaluate(`(${fn.toString()})(...${JSON.stringify(args)})`),
        async click(css) {
          await page.locator(css).first().click()
        },
        async keys(css, tokens) {
          await page.locator(css).first().click()
          for (const t of tokens) {
            if (KEY_TOKEN.test(t)) await page.keyboard.press(t)
            else await page.keyboard.type(t, { delay: 5 })
          }
        },
        errors: () => errors,
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

const FIREFOX_OFFLINE_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.no_proxies_on': 'localhost, 127.0.0.1, [::1]',
  'network.proxy.allow_hijacking_localhost': false,
  // Firefox's own service requests otherwise go direct when the proxy fails.
  'network.proxy.failover_direct': false,
  'network.trr.mode': 5,
  // Remote settings at a closed local port (the pref is honoured with
  // MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in the environment).
  'services.settings.server': 'http://127.0.0.1:9/v1',
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.connectivity-service.enabled': false,
  'network.captive-portal-service.enabled': false,
  'services.settings.poll_interval': 86400 * 365,
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'browser.newtabpage.activity-stream.showSponsoredTopSites': false,
  'browser.topsites.contile.enabled': false,
  'browser.startup.page': 0,
  'browser.startup.homepage': 'about:blank',
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
}

async function launchFirefoxEngine() {
  const puppeteer = (await import('puppeteer-core')).default
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    // Puppeteer's viewport emulation needs BiDi commands newer than Firefox ESR: the headless
    // window gets the desktop size instead.
    defaultViewport: null,
    args: [`--width=${DESKTOP.width}`, `--height=${DESKTOP.height}`],
    // Nothing but loopback: Firefox otherwise looks up and calls Mozilla's services (remote
    // settings, new-tab content) even in a test profile. Every non-loopback request goes to a
    // closed local port through a proxy; loopback (the test server) bypasses proxies.
    extraPrefsFirefox: FIREFOX_OFFLINE_PREFS,
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
  })
  const version = await browser.version()
  return {
    name: 'firefox',
    version,
    async newPage() {
      const context = await browser.createBrowserContext()
      const page = await context.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return
        const text = msg.text()
        if (/can.t establish a connection to the server at ws:/i.test(text)) return
        errors.push(text)
      })
      return {
        raw: page,
        goto: (url) => page.goto(url),
        evaluate: (fn, ...args) => page.evaluate(fn, ...args),
        async click(css) {
          const el = await page.waitForSelector(css)
          await el.click()
        },
        async keys(css, tokens) {
          const el = await page.waitForSelector(css)
          await el.click()
          for (const t of tokens) {
            const m = t.match(KEY_TOKEN)
            if (!m) {
              await page.keyboard.type(t, { delay: 5 })
              continue
            }
            if (m[1]) await page.keyboard.down(m[1])
            await page.keyboard.press(m[2])
            if (m[1]) await page.keyboard.up(m[1])
          }
        },
        errors: () => errors,
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

/** A free loopback TCP port (bound and released; the driver binds it right after). */
async function freePort() {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const W3C_ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'
// W3C WebDriver key codepoints (WebDriver spec, "Keyboard actions").
const WD_KEYS = { Enter: '\uE007', End: '\uE010', Home: '\uE011', Tab: '\uE004', Escape: '\uE00C', Backspace: '\uE003', Control: '\uE009', Shift: '\uE008' }

/**
 * WebKitWebDriver under xvfb-run, which gives MiniBrowser (no headless mode) a private X display
 * and removes it when the driver exits. `xvfb-run -a` can lose a race for a display number to
 * another X server starting at the same moment; a start that dies early is tried again.
 */
async function startWebKitDriver() {
  let lastError
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort()
    const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', WEBKIT_DRIVER, `--port=${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let log = ''
    child.stdout.on('data', (d) => (log += d))
    child.stderr.on('data', (d) => (log += d))
    const exited = new Promise((r) => child.on('exit', r))
    // The whole process group (xvfb-run, Xvfb, the driver, MiniBrowser) is ended on close.
    const killGroup = (sig) => {
      try {
        process.kill(-child.pid, sig)
      } catch {}
    }
    const endpoint = `http://127.0.0.1:${port}`
    const ready = eventually(async () => (await (await fetch(`${endpoint}/status`)).json())?.value?.ready === true, {
      timeout: 20000,
      message: `WebKitWebDriver on ${port}`,
    })
    const died = exited.then((code) => {
      throw new Error(`xvfb-run exited with ${code}`)
    })
    ready.catch(() => {})
    died.catch(() => {})
    try {
      await Promise.race([ready, died])
      return { endpoint, exited, killGroup }
    } catch (e) {
      killGroup('SIGKILL')
      lastError = new Error(`WebKitWebDriver did not start (attempt ${attempt}): ${e.message}\n${log}`)
    }
  }
  throw lastError
}

async function launchWebKitEngine() {
  const { endpoint, exited, killGroup } = await startWebKitDriver()
  async function wd(method, p, body) {
    const res = await fetch(`${endpoint}${p}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const data = await res.json().catch(() => ({}))
    if (!res.ok) throw new Error(`WebDriver ${method} ${p}: ${res.status} ${data?.value?.error ?? ''} ${data?.value?.message ?? ''}`)
    return data.value
  }
  const sessions = []
  let version = 'WebKitGTK'
  return {
    name: 'webkit',
    get version() {
      return version
    },
    async newPage({ viewport = DESKTOP } = {}) {
      const created = await wd('POST', '/session', {
        capabilities: {
          alwaysMatch: {
            'webkitgtk:browserOptions': { binary: miniBrowserPath(), args: ['--automation'] },
          },
        },
      })
      const sid = created.sessionId
      sessions.push(sid)
      version = `WebKitGTK ${created.capabilities.browserVersion} (MiniBrowser)`
      const s = (method, p, body) => wd(method, `/session/${sid}${p}`, body)
      await s('POST', '/window/rect', { width: viewport.width, height: viewport.height }).catch(() => {})
      const find = async (css) => {
        const el = await eventually(async () => {
          try {
            return await s('POST', '/element', { using: 'css selector', value: css })
          } catch {
            return null
          }
        }, { message: `element ${css}` })
        return el[W3C_ELEMENT]
      }
      const evaluate = (fn, ...args) =>
        s('POST', '/execute/sync', { script: `return (${fn.toString()}).apply(null, arguments)`, args })
      const installErrorLog = () =>
        evaluate(() => {
          if (window.__easelErrors) return
          window.__easelErrors = []
          window.addEventListener('error', (e) => window.__easelErrors.push(`pageerror: ${e.message}`))
          window.addEventListener('unhandledrejection', (e) => window.__easelErrors.push(`unhandledrejection: ${String(e.reason)}`))
        })
      return {
        async goto(url) {
          await s('POST', '/url', { url })
          // WebDriver classic has no script-before-load hook: errors are collected from here.
          await installErrorLog()
        },
        evaluate,
        async click(css) {
          await s('POST', `/element/${await find(css)}/click`, {})
        },
        async keys(css, tokens) {
          const el = await find(css)
          await s('POST', `/element/${el}/click`, {})
          // Key presses through the Actions API: WebKitGTK drops modifier chords (and the text
          // after them) sent through Element Send Keys.
          const actions = []
          const press = (value) => actions.push({ type: 'keyDown', value }, { type: 'keyUp', value })
          for (const t of tokens) {
            const m = t.match(KEY_TOKEN)
            if (!m) {
              for (const ch of t) press(ch)
              continue
            }
            if (m[1]) actions.push({ type: 'keyDown', value: WD_KEYS[m[1]] })
            press(WD_KEYS[m[2]])
            if (m[1]) actions.push({ type: 'keyUp', value: WD_KEYS[m[1]] })
          }
          await s('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] })
          await s('DELETE', '/actions')
        },
        async errors() {
          return (await evaluate(() => window.__easelErrors ?? []).catch(() => [])) ?? []
        },
        async close() {
          await s('DELETE', '').catch(() => {})
        },
      }
    },
    async close() {
      for (const sid of sessions) await wd('DELETE', `/session/${sid}`).catch(() => {})
      killGroup('SIGTERM')
      const t = setTimeout(() => killGroup('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

/** Polls the page until `css` exists (and, with `text`, its text contains it). */
export async function waitForIn(page, css, { text, timeout = 15000 } = {}) {
  return eventually(
    () =>
      page.evaluate(
        (css, text) => {
          const els = [...document.querySelectorAll(css)]
          return els.some((el) => text == null || (el.innerText ?? el.textContent).includes(text))
        },
        css,
        text ?? null,
      ),
    { timeout, message: `${css}${text ? ` with "${text}"` : ''}` },
  )
}

// ---- accessibility ---------------------------------------------------------------------------

let axeSource = null

/**
 * Runs axe-core (its own rules, WCAG 2.x A/AA and best practices) on a playwright page and
 * returns the violations at the given impacts, each as { id, impact, help, nodes: [target] }.
 * axe's source is evaluated through the devtools protocol, so the app's CSP (script-src
 * 'self') stays as it is for the page under test.
 */
export async function axeViolations(page, { impacts = ['serious', 'critical'] } = {}) {
  if (!axeSource) {
    const { createRequire } = await import('node:module')
    const { readFileSync } = await import('node:fs')
    axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
  }
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }))
  })
  return result.filter((v) => impacts.includes(v.impact))
}

/**
 * The usual suite around a group of browser tests: a fresh server and data
 * dir, one chromium, and every page opened through `open` closed at the end.
 * Call it first inside `describe`, so its `before` runs before the suite's
 * own setup.
 */
export function browserSuite() {
  const suite = { server: null, browser: null, base: null }
  const opened = []
  suite.open = async (opts) => {
    const p = await openPage(suite.browser, opts)
    opened.push(p)
    return p
  }
  before(async () => {
    suite.server = await startServer(easelBinary(), tempDataDir())
    suite.base = suite.server.url
    suite.browser = await launchBrowser()
  })
  after(async () => {
    for (const p of opened) await p.context.close().catch(() => {})
    await suite.browser?.close()
    await suite.server?.stop()
  })
  return suite
}
