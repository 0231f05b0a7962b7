#!/usr/bin/env node
// The reference y-websocket server (@y/websocket-server's setupWSConnection) on HOST:PORT.
//   HOST (default 127.0.0.1), PORT (default 1234; 0 = pick a free port).
// Prints one JSON line {"event":"listening","host":...,"port":...} on stdout once it accepts
// connections. Any path works; the document name is the URL path without the leading '/',
// so ws://HOST:PORT/sync/ROOM serves document "sync/ROOM". No persistence unless YPERSISTENCE
// is set (then y-leveldb, see @y/websocket-server). Stops on SIGTERM/SIGINT.
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT ?? 1234)

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(port, host, () => {
  const addr = server.address()
  process.stdout.write(JSON.stringify({ event: 'listening', host, port: addr.port }) + '\n')
})

const stop = () => {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 500).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
