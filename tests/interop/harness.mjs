// Helpers for driving client.mjs / reference-server.mjs from node tests (and benchmarks).
import { spawn } from 'node:child_process'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))

/** Spawn a process whose stdout is line-delimited JSON; collects events. */
class JsonProc {
  constructor (args, env, label) {
    this.label = label
    this.events = []
    this.waiters = []
    this.stderr = ''
    this.child = spawn(process.execPath, args, { cwd: here, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })))
    this.child.stderr.on('data', (d) => { this.stderr += d })
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let ev
      try { ev = JSON.parse(line) } catch { ev = { event: 'unparsed', line } }
      this.events.push(ev)
      this.waiters = this.waiters.filter((w) => !w(ev))
    })
  }

  /** Resolve with the first event (seen from index `from` on) matching pred. */
  waitFor (pred, { timeoutMs = 10000, from = 0 } = {}) {
    const seen = this.events.slice(from).find(pred)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`${this.label}: timed out waiting; last events: ${JSON.stringify(this.events.slice(-5))}; stderr: ${this.stderr.slice(-2000)}`))
      }, timeoutMs)
      const waiter = (ev) => {
        if (!pred(ev)) return false
        clearTimeout(timer)
        resolve(ev)
        return true
      }
      this.waiters.push(waiter)
    })
  }

  kill () {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    return this.exited
  }
}

/** Start reference-server.mjs on 127.0.0.1 and a free port. Returns { url, stop }. */
export async function startReferenceServer () {
  const p = new JsonProc(['reference-server.mjs'], { HOST: '127.0.0.1', PORT: '0' }, 'reference-server')
  const ev = await p.waitFor((e) => e.event === 'listening')
  return { url: `ws://127.0.0.1:${ev.port}/sync`, stop: () => p.kill() }
}

let seq = 0

/** A client.mjs process. `request(cmd)` sends a command and resolves with its reply event. */
export class Client extends JsonProc {
  constructor ({ url, room, token, name }) {
    const args = ['client.mjs', '--url', url, '--room', room]
    if (token !== undefined) args.push('--token', token)
    if (name !== undefined) args.push('--name', name)
    super(args, {}, `client ${name ?? ''}`)
  }

  async ready () {
    const ev = await this.waitFor((e) => e.event === 'ready')
    this.clientId = ev.client_id
    return ev
  }

  send (cmd) {
    this.child.stdin.write(JSON.stringify(cmd) + '\n')
  }

  /** Send a command with a fresh id; resolve with the ack/reply, reject on an error reply. */
  async request (cmd, opts) {
    const id = `r${++seq}`
    this.send({ ...cmd, id })
    const ev = await this.waitFor((e) => e.id === id, opts)
    if (ev.event === 'error') throw new Error(`${this.label}: ${cmd.cmd} failed: ${ev.message}`)
    return ev
  }

  dump (names = {}) { return this.request({ cmd: 'dump', ...names }) }

  async quit () {
    if (this.child.exitCode === null) {
      this.send({ cmd: 'quit' })
      this.child.stdin.end()
    }
    const t = setTimeout(() => this.kill(), 3000)
    await this.exited
    clearTimeout(t)
  }
}

/** Poll fn() (async) until check(value) is true; returns the last value. */
export async function eventually (fn, check, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  while (true) {
    last = await fn()
    if (check(last)) return last
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** The dump without the event/id bookkeeping, for comparing two clients. */
export const content = ({ text, map, array, xml }) => ({ text, map, array, xml })
