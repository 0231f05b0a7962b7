// The chart page's link token: taken from the address once, kept in this
// browser, and removed from the address bar so that copying the URL never
// hands the token on (the "Share" action gives the right link instead).

const key = (chartId: string) => `easel.chart-token.${chartId}`

/**
 * The token to use for a chart: the one in the address (remembered for
 * later visits) or else the one remembered. The address loses its token
 * only once it is safely stored, or a reload would lose access.
 */
export function chartToken(chartId: string, fromAddress: string | null): string | null {
  try {
    if (fromAddress) {
      localStorage.setItem(key(chartId), fromAddress)
      stripTokenFromAddress()
      return fromAddress
    }
    return localStorage.getItem(key(chartId))
  } catch {
    return fromAddress // storage blocked: keep the token where it is
  }
}

/** Forgets a token the server no longer accepts. */
export function forgetChartToken(chartId: string): void {
  try {
    localStorage.removeItem(key(chartId))
  } catch {
    /* storage blocked: nothing kept */
  }
}

/** Removes `token=` from the hash's query, without a navigation. */
export function stripTokenFromAddress(): void {
  const hash = location.hash
  const q = hash.indexOf('?')
  if (q < 0) return
  const params = new URLSearchParams(hash.slice(q + 1))
  if (!params.has('token')) return
  params.delete('token')
  const rest = params.toString()
  history.replaceState(history.state, '', `${location.pathname}${location.search}${hash.slice(0, q)}${rest ? `?${rest}` : ''}`)
}

/** A link to this chart page that carries `token` (for sharing). */
export function chartLink(chartId: string, token: string | null): string {
  const base = `${location.origin}${location.pathname}#/chart/${encodeURIComponent(chartId)}`
  return token ? `${base}?token=${encodeURIComponent(token)}` : base
}
