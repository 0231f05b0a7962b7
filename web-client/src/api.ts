// The REST API (docs/api.md), typed after crates/easel/src/api/views.rs.
// The token travels as `Authorization: Bearer` on fetches; only URLs that a
// browser opens by itself (downloads, EventSource) carry `?token=`.

export type Role = 'read' | 'edit' | 'organizer'
export type RoundKind = 'opening_circle' | 'breakout' | 'closing_circle'
export type SessionState = 'proposed' | 'live' | 'final'

export interface RoundView {
  id: string
  kind: RoundKind
  label: string | null
  duration_minutes: number
  starts_at: string
  ends_at: string
  local_start: string
  local_end: string
  local_display: string
  day: string
}

export interface SpaceView {
  id: string
  name: string
  video_url: string | null
  capacity: number | null
}

export interface SessionView {
  id: string
  topic: string
  convener: string
  round_id: string
  space_id: string
  chart_id: string
  state: SessionState
}

/** People in each session's chart right now (`presence` live event). */
export interface PresenceView {
  charts: Record<string, number>
}

export interface DayView {
  date: string
  number: number
  label: string
  round_ids: string[]
}

export interface ConferenceView {
  id: string
  name: string
  description: string
  time_zone: string
  start_date: string
  end_date: string
  published: boolean
  proceedings_public: boolean
  version: number
  days: DayView[]
  rounds: RoundView[]
  spaces: SpaceView[]
  sessions: SessionView[]
  /** Your role through the token you used, if the server says. */
  role?: Role | null
}

export interface CreatedConference {
  conference: ConferenceView
  organizer_token: string
  organizer_link: string
}

export interface LinkView {
  id: string
  role: Role
  label: string
  created: string
  revoked: string | null
}

export interface MintedLink extends LinkView {
  token: string
  url: string
}

export interface ChartInfo {
  chart_id: string
  conference_id: string
  conference_name: string
  session: SessionView | null
  round: RoundView | null
  space: SpaceView | null
  role: Role | null
  read_only: boolean
  merged_into: string | null
}

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
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
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
  return token ? `${url}?token=${encodeURIComponent(token)}` : url
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

export interface SessionChangedLike {
  session: SessionView
  version: number
}
