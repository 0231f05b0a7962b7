// An honest "saved" indicator for a y-websocket connection to Easel, and a
// watchdog that notices a connection that hangs without closing.
//
// Definition: a change is *saved* when the server has it on disk. Easel's
// hub applies an update, makes it durable (group-commit flush of its sled
// log) and only then sends anything out for that batch: the broadcast of
// the update to every connection of the chart, the sender's included, and
// its answers to sync step 1 (ARCHITECTURE.md: "Nothing is broadcast before
// it is stored").
//
// To know what the server has, we keep a shadow Y.Doc (`serverDoc`) holding
// what the server has confirmed, and our document is always "serverDoc +
// local changes", so
//
//   saved  <=>  connected && synced && snapshot(doc) == snapshot(serverDoc)
//
// i.e. same state vector (every insert we made is on the server) and the
// same delete set (every deletion we made is on the server). The server
// confirms in two ways:
//
// 1. Whatever arrives over the WebSocket as sync step 2 or update is the
//    server's (never BroadcastChannel traffic, never our own local edits).
// 2. Pings: we send sync step 1 now and then. The hub handles one
//    connection's messages in order and answers step 1 only after the
//    batch holding our earlier updates is durable, so its step 2 answer
//    says "everything you sent before this is stored", unless an update was
//    refused ("permission denied") in between. Without this, an edit whose
//    echo was lost (a connection that hung after sending) would never count
//    as saved: on reconnect the server already has it, applies nothing new
//    and echoes nothing.
//
// An update the server refused (read-only link, final session, chart full)
// never comes back and is not confirmed by pings until it has been sent
// again (our answer to the server's next sync step 1 carries it), so it
// stays "not saved", which is the truth.
//
// The pings double as a heartbeat: a connection whose server has not
// answered a ping for `hungMs` is hung (a dead network path often leaves
// the socket open for minutes), and `onHung` is called so the page can
// drop it and reconnect: about 8 s after an edit at most, where
// y-websocket's own check waits 30 s.

import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import type { WebsocketProvider } from 'y-websocket'

const MESSAGE_SYNC = 0
const MESSAGE_AUTH = 2
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const AUTH_PERMISSION_DENIED = 0

interface Ping {
  sentAt: number
  /** What the server holds once it answers, or null if the answer confirms nothing. */
  diff: Uint8Array | null
  /** `denials` when sent: a refusal before the answer voids the confirmation. */
  denials: number
}

export interface SavedOptions {
  /** Ping this often while connected (ms). */
  pingMs?: number
  /** After a local edit, ping if the last ping is older than this (ms). */
  editPingMs?: number
  /** A connection silent this long with a ping unanswered is hung (ms). */
  hungMs?: number
  /** Called when the connection is found hung (or stuck connecting). */
  onHung?: () => void
}

export class SavedTracker {
  readonly serverDoc = new Y.Doc({ gc: true })
  private listeners = new Set<() => void>()
  private deniedListeners = new Set<(reason: string) => void>()
  private pendingCheck = 0
  private pings: Ping[] = []
  private lastPing = 0
  private pingSoon: ReturnType<typeof setTimeout> | 0 = 0
  private denials = 0
  /** A change of ours was refused and has not been sent again since. */
  private tainted = false
  /** We answered the server's sync step 1 on the current socket. */
  private answeredStep1 = false
  private connectingSince = 0
  private timer: ReturnType<typeof setInterval>
  private readonly pingMs: number
  private readonly editPingMs: number
  private readonly hungMs: number

  constructor(
    private doc: Y.Doc,
    private provider: WebsocketProvider,
    private options: SavedOptions = {},
  ) {
    this.pingMs = options.pingMs ?? 4000
    this.editPingMs = options.editPingMs ?? 1500
    this.hungMs = options.hungMs ?? 6000
    const original = provider.messageHandlers[MESSAGE_SYNC]
    provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, prov, emitSynced, messageType) => {
      // emitSynced is true only for messages read from the WebSocket.
      const type = emitSynced ? this.observe(decoding.clone(decoder)) : -1
      original(encoder, decoder, prov, emitSynced, messageType)
      if (type === SYNC_STEP1) {
        // The provider sends our step 2 (everything the server lacks, what
        // it refused before included) right after this handler returns; a
        // ping queued behind it confirms it.
        this.answeredStep1 = true
        this.tainted = false
        queueMicrotask(() => this.ping())
      }
      this.changed()
    }
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      if (decoding.readVarUint(decoder) !== AUTH_PERMISSION_DENIED) return
      const reason = decoding.readVarString(decoder)
      this.denials++
      this.tainted = true
      for (const l of this.deniedListeners) l(reason)
      this.changed()
    }
    doc.on('update', this.onLocal)
    provider.on('status', this.onStatus)
    provider.on('sync', this.onSync)
    this.timer = setInterval(() => this.tick(), 500)
  }

  private onStatus = ({ status }: { status: string }) => {
    // 'connected' is emitted before the provider sends its own step 1 on
    // the new socket; that first answer confirms nothing of ours.
    this.pings = status === 'connected' ? [{ sentAt: Date.now(), diff: null, denials: this.denials }] : []
    this.answeredStep1 = false
    this.connectingSince = status === 'connecting' ? Date.now() : 0
    if (status === 'connected') this.lastPing = Date.now()
    this.changed()
  }

  private onSync = () => this.changed()

  private observe(decoder: decoding.Decoder): number {
    try {
      const type = decoding.readVarUint(decoder)
      if (type === SYNC_STEP2 || type === SYNC_UPDATE) {
        Y.applyUpdate(this.serverDoc, decoding.readVarUint8Array(decoder), 'server')
      }
      if (type === SYNC_STEP2) {
        const ping = this.pings.shift()
        if (ping?.diff && ping.denials === this.denials) Y.applyUpdate(this.serverDoc, ping.diff, 'confirmed')
      }
      return type
    } catch {
      // A malformed message is the provider's problem; it reports it.
      return -1
    }
  }

  private onLocal = (_update: Uint8Array, origin: unknown) => {
    if (origin !== this.provider && !this.pingSoon) {
      // A ping follows every burst of edits within `editPingMs`: it
      // confirms them, and starts the hung-connection clock (the provider
      // has sent the edit by the time it runs).
      const wait = Math.max(0, this.lastPing + this.editPingMs - Date.now())
      this.pingSoon = setTimeout(() => {
        this.pingSoon = 0
        this.ping()
      }, wait)
    }
    this.changed()
  }

  /** Sends sync step 1; its answer confirms what the server has. */
  ping(): void {
    const ws = this.provider.ws
    if (!this.provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return
    const confirms = this.answeredStep1 && !this.tainted
    this.pings.push({
      sentAt: Date.now(),
      diff: confirms ? Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(this.serverDoc)) : null,
      denials: this.denials,
    })
    this.lastPing = Date.now()
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    syncProtocol.writeSyncStep1(encoder, this.doc)
    ws.send(encoding.toUint8Array(encoder))
  }

  private tick(): void {
    const now = Date.now()
    const p = this.provider
    if (p.wsconnected) {
      const oldest = this.pings[0]
      if (oldest && now - oldest.sentAt > this.hungMs && now - p.wsLastMessageReceived > this.hungMs) {
        this.pings = []
        this.options.onHung?.()
        return
      }
      if (now - this.lastPing >= this.pingMs) this.ping()
    } else if (p.wsconnecting && this.connectingSince && now - this.connectingSince > 2 * this.hungMs) {
      // A handshake that never completes (packets dropped) can take the
      // browser minutes to give up on.
      this.connectingSince = 0
      this.options.onHung?.()
    }
  }

  /** Coalesces checks: snapshots are cheap, but not free on every keystroke. */
  private changed(): void {
    if (this.pendingCheck) return
    this.pendingCheck = requestAnimationFrame(() => {
      this.pendingCheck = 0
      for (const l of this.listeners) l()
    })
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called with the reason of every "permission denied" from the server. */
  onDenied(listener: (reason: string) => void): () => void {
    this.deniedListeners.add(listener)
    return () => this.deniedListeners.delete(listener)
  }

  /** Whether everything in our document is also on the server. */
  allSaved(): boolean {
    return Y.equalSnapshots(Y.snapshot(this.doc), Y.snapshot(this.serverDoc))
  }

  destroy(): void {
    clearInterval(this.timer)
    if (this.pingSoon) clearTimeout(this.pingSoon)
    this.doc.off('update', this.onLocal)
    this.provider.off('status', this.onStatus)
    this.provider.off('sync', this.onSync)
    if (this.pendingCheck) cancelAnimationFrame(this.pendingCheck)
    this.listeners.clear()
    this.deniedListeners.clear()
    this.serverDoc.destroy()
  }
}
