#!/usr/bin/env node
// Runs the JavaScript board example of docs/chart-schema.md ("Example: a
// board from JavaScript (Yjs)", from `const board =` on), read from the docs
// at run time, in a stock Yjs document synced through y-websocket:
//
//   node board-example.mjs --url ws://127.0.0.1:PORT/sync --room ID --token T
//
// Prints {"event":"written"} once the server has acknowledged everything
// (the provider is synced and its socket's send buffer is empty), then exits.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

console.log = console.info = console.debug = console.warn = (...a) => console.error(...a)

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]])
  return acc
}, []))
const here = path.dirname(fileURLToPath(import.meta.url))
const docs = fs.readFileSync(path.join(here, '../../docs/chart-schema.md'), 'utf8')
const at = docs.indexOf('## Example: a board from JavaScript (Yjs)')
const start = docs.indexOf('```js\n', at) + 6
const example = docs.slice(start, docs.indexOf('```\n', start))
const code = example.slice(example.indexOf('const board ='))

const doc = new Y.Doc()
const provider = new WebsocketProvider(args.url, args.room, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token: args.token },
  disableBc: true
})
provider.once('sync', async () => {
  // The example, verbatim, with `Y` and `doc` in scope as in the docs.
  new Function('Y', 'doc', code)(Y, doc)
  const deadline = Date.now() + 10000
  while (provider.ws && provider.ws.bufferedAmount > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  process.stdout.write(JSON.stringify({ event: 'written' }) + '\n')
  setTimeout(() => { provider.destroy(); process.exit(0) }, 200)
})
setTimeout(() => { process.stderr.write('timeout\n'); process.exit(1) }, 15000)
