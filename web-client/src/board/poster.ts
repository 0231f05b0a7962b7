// The topics this browser posted. When a topic is posted the server hands
// back a poster key once (it keeps only its hash); with it and an edit link
// the poster may rename or withdraw their own topic, without an account.
// The key stays in this browser: another device, or a cleared browser, has
// to ask an organizer.

import { api, type SessionChanged } from '../api'

const key = (sessionId: string) => `easel.poster.${sessionId}`

export function rememberPosterKey(sessionId: string, posterKey: string): void {
  try {
    localStorage.setItem(key(sessionId), posterKey)
  } catch {
    /* storage blocked: this tab cannot rename it later */
  }
}

export function posterKey(sessionId: string): string | null {
  try {
    return localStorage.getItem(key(sessionId))
  } catch {
    return null
  }
}

function sessionPath(conferenceId: string, sessionId: string): string {
  return `/conferences/${encodeURIComponent(conferenceId)}/sessions/${encodeURIComponent(sessionId)}`
}

export function renameTopic(conferenceId: string, token: string, sessionId: string, topic: string): Promise<SessionChanged> {
  return api<SessionChanged>('PATCH', sessionPath(conferenceId, sessionId), token, { topic }, {
    'X-Easel-Poster-Key': posterKey(sessionId) ?? '',
  })
}

export async function withdrawTopic(conferenceId: string, token: string, sessionId: string): Promise<SessionChanged> {
  const res = await api<SessionChanged>('DELETE', sessionPath(conferenceId, sessionId), token, undefined, {
    'X-Easel-Poster-Key': posterKey(sessionId) ?? '',
  })
  try {
    localStorage.removeItem(key(sessionId))
  } catch {
    /* nothing kept */
  }
  return res
}
