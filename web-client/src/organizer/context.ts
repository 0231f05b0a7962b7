// What the organizer page's sections share: the conference, the token, and
// calls that report their outcome in the message region.

import { api, ApiError, describeError, type ConferenceView } from '../api'
import { formatDay, formatSpan, toast } from '../util'

export interface OrgContext {
  conferenceId: string
  /** The conference id, encoded for a path. */
  cid: string
  token: string | null
  conf(): ConferenceView | null
  /** A request under /conferences/{id}; errors become a message, null. */
  call<T>(method: string, path: string, body?: unknown, ok?: string): Promise<T | null>
  /** A request that answers the conference; shows the result. */
  mutate(method: string, path: string, body?: unknown, ok?: string): Promise<boolean>
  reload(): Promise<void>
}

/** Round ids in a server message, as people know the rounds. */
export function explainError(e: unknown, conf: ConferenceView | null): string {
  if (e instanceof ApiError && e.code === 'rounds_overlap' && conf) {
    const ids = [...e.message.matchAll(/"([^"]+)"/g)].map((m) => m[1])
    const known = ids.map((id) => conf.rounds.find((r) => r.id === id)).filter((r) => r !== undefined)
    const named = known.map(
      (r) => `${r.label || r.kind.replace('_', ' ')} (${formatDay(r.starts_at, conf.time_zone)} ${formatSpan(r.starts_at, r.ends_at, conf.time_zone)}, ${conf.time_zone})`,
    )
    return named.length > 0
      ? `That would overlap ${named.join(' and ')}: rounds cannot overlap, since a participant can be in one at a time.`
      : 'Those rounds would overlap each other or an existing round: rounds cannot overlap, since a participant can be in one at a time.'
  }
  return describeError(e)
}

export function makeContext(
  conferenceId: string,
  token: string | null,
  state: { conf: ConferenceView | null },
  rendered: () => void,
  reload: () => Promise<void>,
): OrgContext {
  const cid = encodeURIComponent(conferenceId)
  const ctx: OrgContext = {
    conferenceId,
    cid,
    token,
    conf: () => state.conf,
    async call<T>(method: string, path: string, body?: unknown, ok?: string): Promise<T | null> {
      try {
        const res = await api<T>(method, `/conferences/${cid}${path}`, token, body)
        if (ok) toast(ok)
        return res
      } catch (e) {
        toast(explainError(e, state.conf), 'error')
        return null
      }
    },
    async mutate(method: string, path: string, body?: unknown, ok?: string): Promise<boolean> {
      const res = await ctx.call<ConferenceView>(method, path, body, ok)
      if (res && typeof res === 'object' && 'rounds' in res) {
        state.conf = res
        rendered()
      } else {
        await reload()
      }
      return res !== null
    },
    reload,
  }
  return ctx
}
