// When a session takes place, for the chart page's subtitle: date, time and
// zone in the viewer's zone, and in the conference's zone if it differs.

import type { RoundView } from '../api'
import { dateKey, formatDay, formatTime, zoneAbbrev } from '../util'

function span(r: RoundView, zone: string, withDay: boolean): string {
  const day = withDay ? `${formatDay(r.starts_at, zone)}, ` : ''
  const next = dateKey(r.ends_at, zone) !== dateKey(r.starts_at, zone) ? ' (+1 day)' : ''
  const abbrev = zoneAbbrev(r.starts_at, zone)
  const named = abbrev === zone ? zone : `${zone} (${abbrev})`
  return `${day}${formatTime(r.starts_at, zone)}–${formatTime(r.ends_at, zone)}${next} ${named}`
}

export function sessionWhen(r: RoundView, viewerZone: string, conferenceZone: string | null): string {
  const mine = span(r, viewerZone, true)
  if (!conferenceZone || conferenceZone === viewerZone) return mine
  const sameDay = dateKey(r.starts_at, viewerZone) === dateKey(r.starts_at, conferenceZone)
  return `${mine}; ${span(r, conferenceZone, !sameDay)} at the conference`
}
