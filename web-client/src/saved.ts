// An honest "saved" indicator for a y-websocket connection to Easel.
//
// Definition: a change is *saved* when the server has sent it back to us.
// Easel's hub applies an update, makes it durable (group-commit flush of its
// sled log) and only then broadcasts it to every connection of the chart,
// including the one that sent it (ARCHITECTURE.md: "Nothing is broadcast
// before it is stored"). So whatever arrived from the server's socket is on
// the server's disk.
//
// To know what the server has, we keep a shadow Y.Doc (`serverDoc`) into
// which we apply every sync message that arrived over the WebSocket (sync
// step 2 and updates; never BroadcastChannel traffic, never our own local
// edits). Our document is always "serverDoc + local changes", so
//
//   saved  <=>  connected && synced && snapshot(doc) == snapshot(serverDoc)
//
// i.e. same state vector (every insert we made came back) and the same delete
// set (every deletion we made came back). An update the server refused
// (read-only link, chart full) never comes back, so it stays "not saved",
// which is the truth. y-websocket's own `synced` flag alone only says that
// the initial exchange finished, not that later edits arrived.

import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import type { WebsocketProvider } from 'y-websocket'

const MESSAGE_SYNC = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2

export class SavedTracker {
  readonly serverDoc = new Y.Doc({ gc: true })
  private listeners = new Set<() => void>()
  private pendingCheck = 0

  constructor(
    private doc: Y.Doc,
    provider: WebsocketProvider,
  ) {
    const original = provider.messageHandlers[MESSAGE_SYNC]
    provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, prov, emitSynced, messageType) => {
      // emitSynced is true only for messages read from the WebSocket.
      if (emitSynced) this.observe(decoding.clone(decoder))
      original(encoder, decoder, prov, emitSynced, messageType)
      this.changed()
    }
    doc.on('update', this.onLocal)
    provider.on('status', () => this.changed())
    provider.on('sync', () => this.changed())
  }

  private observe(decoder: decoding.Decoder): void {
    try {
      const type = decoding.readVarUint(decoder)
      if (type === SYNC_STEP2 || type === SYNC_UPDATE) {
        Y.applyUpdate(this.serverDoc, decoding.readVarUint8Array(decoder), 'server')
      }
    } catch {
      // A malformed message is the provider's problem; it reports it.
    }
  }

  private onLocal = () => this.changed()

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

  /** Whether everything in our document is also on the server. */
  allSaved(): boolean {
    return Y.equalSnapshots(Y.snapshot(this.doc), Y.snapshot(this.serverDoc))
  }

  destroy(): void {
    this.doc.off('update', this.onLocal)
    if (this.pendingCheck) cancelAnimationFrame(this.pendingCheck)
    this.listeners.clear()
    this.serverDoc.destroy()
  }
}
