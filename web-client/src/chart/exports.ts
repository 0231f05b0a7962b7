// Export buttons: Markdown, PDF and JSON download; HTML opens in the
// browser (the server serves it inline with `?inline=1`).

import { EXPORT_FORMATS } from '../api'
import { h } from '../util'

export function exportUrl(chartId: string, ext: string, token: string | null): string {
  const params = new URLSearchParams()
  if (token) params.set('token', token)
  if (ext === 'html') params.set('inline', '1')
  const q = params.toString()
  return `/api/v1/charts/${encodeURIComponent(chartId)}/export.${ext}${q ? `?${q}` : ''}`
}

export function exportList(chartId: string, token: string | null): HTMLElement {
  return h(
    'ul',
    { class: 'exports', id: 'exports' },
    EXPORT_FORMATS.map((f) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            class: 'btn btn-small',
            href: exportUrl(chartId, f.ext, token),
            ...(f.ext === 'html' ? { target: '_blank', rel: 'noopener' } : { download: '' }),
            'data-format': f.ext,
          },
          f.label,
        ),
      ),
    ),
  )
}
