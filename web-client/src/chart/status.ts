// What the chart page's status line says. One pure function of the page's
// state, so every combination is decided in one place and reads top-down
// from the most to the least important fact.

export type StatusKind = 'ok' | 'busy' | 'warn' | 'error'
export interface Status {
  text: string
  kind: StatusKind
}

export interface StatusInput {
  /** The page cannot work at all (bad link, revoked, deleted, no such chart). */
  fatal: string | null
  connected: boolean
  synced: boolean
  everConnected: boolean
  shouldConnect: boolean
  /** The API and the WebSocket both failed to reach the server. */
  unreachable: boolean
  /** Local changes the server has not confirmed. */
  pending: boolean
  readOnly: boolean
  /** Read-only because the session is final (changes wait for a reopen). */
  final: boolean
  /** The server refused a change and it has not been accepted since. */
  refused: boolean
}

export function chartStatus(s: StatusInput): Status {
  if (s.fatal) return { text: s.fatal, kind: 'error' }
  if (s.connected && s.synced) {
    if (!s.pending) return { text: s.readOnly ? 'Read-only · live' : 'Saved', kind: 'ok' }
    if (s.final) return { text: 'Session final · your last changes are kept in this browser', kind: 'warn' }
    if (s.refused) return { text: 'Not saved: refused by the server', kind: 'error' }
    return { text: 'Saving…', kind: 'busy' }
  }
  if (s.connected) return { text: 'Syncing…', kind: 'busy' }
  if (!s.everConnected) {
    if (s.unreachable) return { text: 'Cannot reach the server · retrying', kind: 'error' }
    return s.shouldConnect ? { text: 'Connecting…', kind: 'busy' } : { text: 'Not connected', kind: 'error' }
  }
  return s.pending
    ? { text: 'Offline · unsaved changes kept in this tab and browser', kind: 'warn' }
    : { text: 'Offline · reconnecting…', kind: 'warn' }
}
