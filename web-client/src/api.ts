// The REST API (docs/api.md). The shapes are generated from the server's
// OpenAPI document into api-types.ts (`npm run gen:api`); this file names
// them and holds the fetch helpers. The token travels as
// `Authorization: Bearer` on fetches; only URLs that a browser opens by
// itself (downloads, EventSource) carry `?token=`.

import type { components } from './api-types'

type Schemas = components['schemas']

export type ConferenceView = Schemas['ConferenceView']
export type DayView = Schemas['DayView']
export type RoundView = Schemas['RoundView']
export type SpaceView = Schemas['SpaceView']
export type SessionView = Schemas['SessionView']
/** People in each session's chart right now (`presence` live event). */
export type PresenceView = Schemas['PresenceView']
export type CreatedConference = Schemas['CreatedConference']
export type LinkView = Schemas['LinkView']
export type MintedLink = Schemas['MintedLink']
export type ChartInfo = Schemas['ChartInfo']
export type SessionChanged = Schemas['SessionChanged']
export type WebhookView = Schemas['WebhookView']
export type CreatedWebhook = Schemas['CreatedWebhook']
/** One delivery attempt of a webhook (its delivery log). */
export type WebhookAttempt = Schemas['Attempt']
/** The news wall: final sessions' reports, newest first. */
export type NewsView = Schemas['NewsView']
/** One report (also the `report` live event). */
export type ReportView = Schemas['ReportView']
export type DashboardView = Schemas['DashboardView']
export type DashboardSessionView = Schemas['DashboardSessionView']
/** Convergence: the phase and counts (`votes` live event), plus the caller's own dots. */
export type VotesPublic = Schemas['VotesPublic']
export type VotesView = Schemas['VotesView']
export type PersonalLinks = Schemas['PersonalLinks']
/** A search's answer and one of its hits (GET /conferences/{id}/search). */
export type SearchResults = Schemas['Results']
export type SearchHit = Schemas['Hit']

// The document types these as plain strings; these are the values the
// server sends (crates/agenda).
export type Role = 'read' | 'edit' | 'organizer'
export type RoundKind = 'opening_circle' | 'breakout' | 'closing_circle'
export type SessionState = 'proposed' | 'live' | 'final'

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message)
  }
}

export async function api<T>(
  method: string,
  path: string,
  token: string | null | undefined,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extra }
  if (token) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.')
  }
  const text = await res.text()
  let data: unknown = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = null
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiError(
      res.status,
      err?.code ?? String(res.status),
      err?.message ?? (res.statusText || `HTTP ${res.status}`),
    )
  }
  return data as T
}

/** A URL the browser opens itself (download, new tab), with `?token=`. */
export function tokenUrl(path: string, token: string | null | undefined): string {
  const url = `/api/v1${path}`
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url
}

export const EXPORT_FORMATS = [
  { ext: 'md', label: 'Markdown' },
  { ext: 'html', label: 'HTML' },
  { ext: 'pdf', label: 'PDF' },
  { ext: 'json', label: 'JSON' },
] as const

export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return `This link is not valid (anymore): ${e.message}`
    if (e.status === 403) return `This link does not allow that: ${e.message}`
    if (e.status === 404) return `Not found: ${e.message}`
    return e.message
  }
  return e instanceof Error ? e.message : String(e)
}

/**
 * What went wrong opening a page, said plainly: above all whether the
 * link (its token) is the problem. `what` names the page ("the agenda").
 */
export function tokenProblem(e: unknown, what: string): string {
  if (e instanceof ApiError) {
    if (e.status === 401 && e.code === 'unauthorized') return `This link has no token: ${what} needs the link the organizers gave you (it ends in ?token=…).`
    if (e.status === 401) return `This link is not valid: its token is wrong, cut short, or was revoked. Ask the organizers for a new link to ${what}.`
    if (e.status === 403) return `This link is for another conference or does not allow this: ${e.message}`
    if (e.status === 404) return `There is no such conference: check the address, or ask the organizers for the link.`
    if (e.status === 0) return 'The server cannot be reached. The page tries again when the connection is back.'
    if (e.status === 429) return 'Too many attempts with a wrong link from this address: wait a minute, then use the link you were given.'
  }
  return describeError(e)
}
