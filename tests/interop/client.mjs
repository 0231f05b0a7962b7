#!/usr/bin/env node
// A stock y-websocket client (yjs + y-websocket's WebsocketProvider), driven by
// line-delimited JSON commands on stdin; reports line-delimited JSON events on stdout.
//
//   node client.mjs --url ws://127.0.0.1:PORT/sync --room ID [--token T] [--name NAME]
//                   [--param key=value]... [--timeout-ms 10000]
//
// The provider connects to `${url}/${room}` (plus `?token=T&key=value` if given).
// See README.md for the command list. Every stdout line is exactly one JSON object.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

// Keep stdout pure JSON: anything a library logs goes to stderr.
console.log = console.info = console.debug = console.warn = (...a) => console.error(...a)

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

function parseArgs (argv) {
  const opts = { params: {}, timeoutMs: 10000 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--url': opts.url = val(); break
      case '--room': opts.room = val(); break
      case '--token': opts.params.token = val(); break
      case '--name': opts.name = val(); break
      case '--timeout-ms': opts.timeoutMs = Number(val()); break
      case '--param': {
        const kv = val()
        const eq = kv.indexOf('=')
        if (eq < 1) throw new Error(`--param expects key=value, got ${kv}`)
        opts.params[kv.slice(0, eq)] = kv.slice(eq + 1)
        break
      }
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  if (!opts.url || !opts.room) throw new Error('--url and --room are required')
  return opts
}

let opts
try {
  opts = parseArgs(process.argv.slice(2))
} catch (e) {
  out({ event: 'error', message: e.message })
  process.exit(2)
}

const doc = new Y.Doc()
const provider = new WebsocketProvider(opts.url, opts.room, doc, {
  WebSocketPolyfill: WebSocket,
  params: opts.params,
  disableBc: true // no BroadcastChannel shortcuts: everything must go through the server
})
if (opts.name) provider.awareness.setLocalStateField('user', { name: opts.name })

provider.on('status', ({ status }) => out({ event: 'status', status }))
provider.on('sync', (synced) => out({ event: 'sync', synced }))
provider.on('connection-close', (ev) => {
  out({ event: 'connection_close', code: ev ? ev.code : null, reason: ev ? String(ev.reason || '') : null })
})
provider.on('connection-error', (ev) => {
  out({ event: 'connection_error', message: String((ev && (ev.message || (ev.error && ev.error.message))) || 'error') })
})
// y-websocket >= 3.1: a close code in 4400..4499 is terminal (no automatic reconnect).
provider.on('closed', (ev) => out({ event: 'closed', code: ev.code, reason: String(ev.reason || '') }))

// ---- dump -------------------------------------------------------------------------------
// Top-level types created by remote updates are plain AbstractType placeholders until someone
// calls doc.getText/getMap/...; we classify them from their content so `dump` sees everything.
function classify (type) {
  if (type instanceof Y.Text) return 'text'
  if (type instanceof Y.Map) return 'map'
  if (type instanceof Y.Array) return 'array'
  if (type instanceof Y.XmlFragment) return 'xml'
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue
    const c = item.content
    if (c instanceof Y.ContentString || c instanceof Y.ContentFormat || c instanceof Y.ContentEmbed) return 'text'
    if (c instanceof Y.ContentType && (c.type instanceof Y.XmlElement || c.type instanceof Y.XmlText || c.type instanceof Y.XmlHook)) return 'xml'
    return 'array'
  }
  if (type._map.size > 0) return 'map'
  return null // empty: nothing to show
}

function dump (cmd) {
  const res = { event: 'dump', text: {}, map: {}, array: {}, xml: {} }
  const wanted = new Map() // name -> kind
  for (const [name, type] of doc.share) {
    const kind = classify(type)
    if (kind) wanted.set(name, kind)
  }
  // explicit names always win: {"cmd":"dump","text":["t"],"map":["m"],...}
  for (const kind of ['text', 'map', 'array', 'xml']) {
    for (const name of cmd[kind] || []) wanted.set(name, kind)
  }
  for (const [name, kind] of wanted) {
    switch (kind) {
      case 'text': res.text[name] = doc.getText(name).toString(); break
      case 'map': res.map[name] = doc.getMap(name).toJSON(); break
      case 'array': res.array[name] = doc.getArray(name).toJSON(); break
      case 'xml': res.xml[name] = doc.getXmlFragment(name).toString(); break
    }
  }
  return res
}

// ---- commands ---------------------------------------------------------------------------
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function waitSynced (timeoutMs) {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onSync = (s) => {
      if (!s) return
      clearTimeout(timer)
      provider.off('sync', onSync)
      resolve()
    }
    const timer = setTimeout(() => {
      provider.off('sync', onSync)
      reject(new Error(`not synced after ${timeoutMs} ms`))
    }, timeoutMs)
    provider.on('sync', onSync)
  })
}

function need (cmd, field) {
  if (cmd[field] === undefined) throw new Error(`"${cmd.cmd}" needs "${field}"`)
  return cmd[field]
}

let quitting = false
async function quit (code = 0) {
  if (quitting) return
  quitting = true
  provider.destroy() // sends a null awareness state, then closes the socket
  await sleep(50) // let the close frame flush
  out({ event: 'bye' })
  process.exit(code)
}

// Returns the event to print (or undefined for a plain ack).
async function run (cmd) {
  switch (cmd.cmd) {
    case 'text_insert':
      doc.getText(need(cmd, 'name')).insert(need(cmd, 'index'), need(cmd, 'text'), cmd.attrs)
      return
    case 'text_delete':
      doc.getText(need(cmd, 'name')).delete(need(cmd, 'index'), need(cmd, 'length'))
      return
    case 'map_set':
      doc.getMap(need(cmd, 'name')).set(need(cmd, 'key'), need(cmd, 'value'))
      return
    case 'map_delete':
      doc.getMap(need(cmd, 'name')).delete(need(cmd, 'key'))
      return
    case 'array_push':
      doc.getArray(need(cmd, 'name')).push(need(cmd, 'values'))
      return
    case 'array_insert':
      doc.getArray(need(cmd, 'name')).insert(need(cmd, 'index'), need(cmd, 'values'))
      return
    case 'array_delete':
      doc.getArray(need(cmd, 'name')).delete(need(cmd, 'index'), cmd.length ?? 1)
      return
    case 'xml_push': {
      const frag = doc.getXmlFragment(need(cmd, 'name'))
      doc.transact(() => {
        const el = new Y.XmlElement(cmd.tag || 'paragraph')
        for (const [k, v] of Object.entries(cmd.attrs || {})) el.setAttribute(k, v)
        if (cmd.text !== undefined) el.insert(0, [new Y.XmlText(String(cmd.text))])
        frag.push([el])
      })
      return
    }
    case 'awareness': // {"state": {...}} replaces the local state; {"state": null} clears it
      provider.awareness.setLocalState(cmd.state === undefined ? null : cmd.state)
      return
    case 'awareness_field':
      provider.awareness.setLocalStateField(need(cmd, 'field'), need(cmd, 'value'))
      return
    case 'awareness_states': {
      const states = {}
      for (const [id, s] of provider.awareness.getStates()) states[id] = s
      return { event: 'awareness_states', self: doc.clientID, states }
    }
    case 'dump':
      return dump(cmd)
    case 'wait_synced':
      await waitSynced(cmd.timeout_ms ?? opts.timeoutMs)
      return { event: 'synced' }
    case 'info':
      return {
        event: 'info',
        client_id: doc.clientID,
        url: provider.url,
        status: provider.wsconnected ? 'connected' : provider.wsconnecting ? 'connecting' : 'disconnected',
        synced: provider.synced,
        state_vector: Object.fromEntries(Y.decodeStateVector(Y.encodeStateVector(doc)))
      }
    case 'disconnect':
      provider.disconnect()
      return
    case 'connect':
      provider.connect()
      return
    case 'sleep':
      await sleep(cmd.ms ?? 100)
      return
    case 'quit':
      await quit(0)
      return
    default:
      throw new Error(`unknown cmd ${JSON.stringify(cmd.cmd)}`)
  }
}

// Commands run strictly in order; an async one (wait_synced, sleep) holds back the next.
let chain = Promise.resolve()
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  if (!line.trim()) return
  chain = chain.then(async () => {
    let cmd
    try {
      cmd = JSON.parse(line)
      if (typeof cmd !== 'object' || cmd === null || typeof cmd.cmd !== 'string') throw new Error('expected {"cmd": ...}')
    } catch (e) {
      out({ event: 'error', message: `bad command: ${e.message}`, line })
      return
    }
    const id = cmd.id !== undefined ? { id: cmd.id } : {}
    try {
      const ev = await run(cmd)
      out(ev ? { ...ev, ...id } : { event: 'ack', cmd: cmd.cmd, ...id })
    } catch (e) {
      out({ event: 'error', cmd: cmd.cmd, message: e.message, ...id })
    }
  })
})
rl.on('close', () => { chain.then(() => quit(0)) }) // stdin EOF == quit
process.on('SIGTERM', () => quit(0))
process.on('SIGINT', () => quit(0))

out({ event: 'ready', client_id: doc.clientID, url: provider.url })
