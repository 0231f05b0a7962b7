// The organizer's page: conference settings, spaces, rounds (with the
// repeating-pattern helper), sessions (state, move, merge, cancel, finalize),
// capability links, publish.

import {
  api,
  describeError,
  type ConferenceView,
  type LinkView,
  type MintedLink,
  type Role,
  type RoundKind,
  type SessionState,
} from './api'
import { append, appLink, clear, formatDay, formatTime, h, linkField, setTitle, toast, viewerZone } from './util'

const KIND_LABEL: Record<RoundKind, string> = {
  opening_circle: 'Opening circle',
  breakout: 'Breakout',
  closing_circle: 'Closing circle',
}

export function organizerPage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Organize')
  const cid = encodeURIComponent(conferenceId)
  let conf: ConferenceView | null = null
  let links: LinkView[] = []
  let disposed = false

  const heading = h('h1', {}, 'Organize')
  const settings = h('section', { class: 'card', id: 'org-settings', 'aria-labelledby': 'set-h' })
  const spaces = h('section', { class: 'card', id: 'org-spaces', 'aria-labelledby': 'spaces-h' })
  const rounds = h('section', { class: 'card', id: 'org-rounds', 'aria-labelledby': 'rounds-h' })
  const sessions = h('section', { class: 'card', id: 'org-sessions', 'aria-labelledby': 'sessions-h' })
  const linksEl = h('section', { class: 'card', id: 'org-links', 'aria-labelledby': 'links-h' })
  const errorEl = h('div', { role: 'alert' })
  root.append(
    h(
      'div',
      { class: 'page' },
      h('a', { class: 'back', href: appLink(`/conference/${conferenceId}`, token) }, '← Agenda'),
      heading,
      errorEl,
      h('div', { class: 'org-grid' }, settings, linksEl, spaces, rounds, sessions),
    ),
  )

  async function call<T>(method: string, path: string, body?: unknown, ok?: string): Promise<T | null> {
    try {
      const res = await api<T>(method, `/conferences/${cid}${path}`, token, body)
      if (ok) toast(ok)
      return res
    } catch (e) {
      toast(describeError(e), 'error')
      return null
    }
  }
  async function mutate(method: string, path: string, body?: unknown, ok?: string): Promise<void> {
    const res = await call<ConferenceView>(method, path, body, ok)
    if (res && 'rounds' in res) {
      conf = res
      render()
    } else {
      await reload()
    }
  }

  // ---- settings + publish -----------------------------------------------------
  function renderSettings(c: ConferenceView): void {
    clear(settings)
    const name = h('input', { id: 'set-name', type: 'text', value: c.name, maxlength: 200 })
    const desc = h('textarea', { id: 'set-desc', rows: 2, maxlength: 2000 }, c.description)
    const published = h('input', { id: 'set-published', type: 'checkbox', checked: c.published })
    const pub = h('input', { id: 'set-public', type: 'checkbox', checked: c.proceedings_public })
    const form = h(
      'form',
      { class: 'stack' },
      h('label', { for: 'set-name' }, 'Name'),
      name,
      h('label', { for: 'set-desc' }, 'Description'),
      desc,
      h('p', { class: 'muted small' }, `${c.start_date} – ${c.end_date}, ${c.time_zone}`),
      h('label', { class: 'check' }, published, ' Proceedings published'),
      h('label', { class: 'check' }, pub, ' Anyone may read the proceedings without a link'),
      h('div', { class: 'row' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save'), h('a', { class: 'btn btn-ghost', href: appLink(`/conference/${conferenceId}/proceedings`, token) }, 'Proceedings')),
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void mutate(
        'PATCH',
        '',
        { name: name.value.trim(), description: desc.value, published: published.checked, proceedings_public: pub.checked },
        'Saved',
      )
    })
    settings.append(h('h2', { id: 'set-h' }, 'Conference'), form)
  }

  // ---- spaces -------------------------------------------------------------------
  function renderSpaces(c: ConferenceView): void {
    clear(spaces)
    const list = h('ul', { class: 'plain-list' })
    for (const s of c.spaces) {
      list.append(
        h(
          'li',
          {},
          h('span', {}, s.name, s.capacity ? h('span', { class: 'muted small' }, ` · ${s.capacity} seats`) : null),
          h('button', { type: 'button', class: 'btn-icon', 'aria-label': `Remove space ${s.name}`, onclick: () => void mutate('DELETE', `/spaces/${encodeURIComponent(s.id)}`, undefined, 'Space removed') }, '×'),
        ),
      )
    }
    if (c.spaces.length === 0) list.append(h('li', { class: 'muted' }, 'No spaces yet'))
    const name = h('input', { id: 'space-name', type: 'text', required: true, maxlength: 100, placeholder: 'e.g. Garden' })
    const cap = h('input', { id: 'space-cap', type: 'number', min: 1, max: 10000, placeholder: 'Seats' })
    const form = h(
      'form',
      { class: 'row wrap', id: 'space-form' },
      h('label', { for: 'space-name', class: 'sr-only' }, 'Space name'),
      name,
      h('label', { for: 'space-cap', class: 'sr-only' }, 'Seats'),
      cap,
      h('button', { class: 'btn', type: 'submit' }, 'Add space'),
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const body: Record<string, unknown> = { name: name.value.trim() }
      if (cap.value) body.capacity = Number(cap.value)
      void mutate('POST', '/spaces', body, 'Space added')
    })
    spaces.append(h('h2', { id: 'spaces-h' }, 'Spaces'), list, form)
  }

  // ---- rounds + pattern helper ------------------------------------------------------
  function renderRounds(c: ConferenceView): void {
    clear(rounds)
    const zone = viewerZone()
    const list = h('ul', { class: 'plain-list', id: 'round-list' })
    for (const r of c.rounds) {
      list.append(
        h(
          'li',
          {},
          h('span', {}, `${formatDay(r.local_start, c.time_zone)} ${formatTime(r.starts_at, c.time_zone)}–${formatTime(r.ends_at, c.time_zone)} `, h('span', { class: 'muted small' }, `${KIND_LABEL[r.kind]}${r.label && r.label !== KIND_LABEL[r.kind] ? ` · ${r.label}` : ''}`)),
          h('button', { type: 'button', class: 'btn-icon', 'aria-label': `Remove round at ${formatTime(r.starts_at, c.time_zone)}`, onclick: () => void mutate('DELETE', `/rounds/${encodeURIComponent(r.id)}`, undefined, 'Round removed') }, '×'),
        ),
      )
    }
    if (c.rounds.length === 0) list.append(h('li', { class: 'muted' }, 'No rounds yet'))

    // One round
    const at = h('input', { id: 'round-start', type: 'datetime-local', required: true, value: `${c.start_date}T09:00` })
    const dur = h('input', { id: 'round-dur', type: 'number', min: 5, max: 600, value: 60, required: true })
    const kind = h('select', { id: 'round-kind' }, (Object.keys(KIND_LABEL) as RoundKind[]).map((k) => h('option', { value: k, selected: k === 'breakout' }, KIND_LABEL[k])))
    const one = h(
      'form',
      { class: 'stack', id: 'round-form' },
      h('h3', {}, 'Add one round'),
      h(
        'div',
        { class: 'row wrap' },
        h('div', { class: 'stack' }, h('label', { for: 'round-start' }, `Start (${c.time_zone})`), at),
        h('div', { class: 'stack' }, h('label', { for: 'round-dur' }, 'Minutes'), dur),
        h('div', { class: 'stack' }, h('label', { for: 'round-kind' }, 'Kind'), kind),
      ),
      h('div', { class: 'row' }, h('button', { class: 'btn', type: 'submit' }, 'Add round')),
    )
    one.addEventListener('submit', (e) => {
      e.preventDefault()
      void mutate('POST', '/rounds', { local_start: at.value, duration_minutes: Number(dur.value), kind: kind.value }, 'Round added')
    })

    // Repeating pattern: opening circle, N breakouts, closing circle, per day.
    const pDay = h('input', { id: 'p-day', type: 'date', value: c.start_date, min: c.start_date, max: c.end_date })
    const pAll = h('input', { id: 'p-all', type: 'checkbox' })
    const pStart = h('input', { id: 'p-start', type: 'time', value: '09:00' })
    const pOpen = h('input', { id: 'p-open', type: 'number', min: 0, max: 240, value: 30 })
    const pCount = h('input', { id: 'p-count', type: 'number', min: 1, max: 20, value: 4 })
    const pLen = h('input', { id: 'p-len', type: 'number', min: 5, max: 240, value: 60 })
    const pGap = h('input', { id: 'p-gap', type: 'number', min: 0, max: 240, value: 15 })
    const pClose = h('input', { id: 'p-close', type: 'number', min: 0, max: 240, value: 30 })
    const preview = h('p', { class: 'muted small', id: 'p-preview', 'aria-live': 'polite' })
    const field = (input: HTMLElement, label: string) => h('div', { class: 'stack' }, h('label', { for: input.id }, label), input)
    const pattern = h(
      'form',
      { class: 'stack', id: 'pattern-form' },
      h('h3', {}, 'Repeating pattern'),
      h('p', { class: 'muted small' }, `Opening circle, breakout rounds with breaks, closing circle. Times in ${c.time_zone}.`),
      h('div', { class: 'row wrap' }, field(pDay, 'Day'), h('label', { class: 'check' }, pAll, ' every conference day')),
      h('div', { class: 'row wrap' }, field(pStart, 'Starts at'), field(pOpen, 'Opening (min, 0 = none)'), field(pCount, 'Breakouts'), field(pLen, 'Breakout (min)'), field(pGap, 'Break (min)'), field(pClose, 'Closing (min, 0 = none)')),
      preview,
      h('div', { class: 'row' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Add these rounds')),
    )
    const days = (): string[] => {
      if (!pAll.checked) return [pDay.value]
      const out: string[] = []
      for (let d = new Date(`${c.start_date}T00:00:00Z`); d <= new Date(`${c.end_date}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
        out.push(d.toISOString().slice(0, 10))
      }
      return out
    }
    const segments = () => {
      const segs: unknown[] = []
      const n = (i: HTMLInputElement) => Math.max(0, Number(i.value) || 0)
      for (const day of days()) {
        const start = { type: 'at', start: { type: 'civil', datetime: `${day}T${pStart.value || '09:00'}`, time_zone: c.time_zone } }
        let first = true
        const next = () => {
          if (first) {
            first = false
            return start
          }
          return { type: 'after_previous', gap_minutes: n(pGap) }
        }
        if (n(pOpen) > 0) segs.push({ kind: 'opening_circle', count: 1, start: next(), interval_minutes: n(pOpen), duration_minutes: n(pOpen), label: 'Opening circle' })
        segs.push({ kind: 'breakout', count: Math.max(1, n(pCount)), start: next(), interval_minutes: n(pLen) + n(pGap), duration_minutes: n(pLen) })
        if (n(pClose) > 0) segs.push({ kind: 'closing_circle', count: 1, start: next(), interval_minutes: n(pClose), duration_minutes: n(pClose), label: 'Closing circle' })
      }
      return segs
    }
    const updatePreview = () => {
      const n = (i: HTMLInputElement) => Math.max(0, Number(i.value) || 0)
      const [hh, mm] = (pStart.value || '09:00').split(':').map(Number)
      let t = hh * 60 + mm
      const fmt = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`
      const parts: string[] = []
      if (n(pOpen) > 0) {
        parts.push(`opening ${fmt(t)}`)
        t += n(pOpen) + n(pGap)
      }
      for (let i = 0; i < Math.max(1, n(pCount)); i++) {
        parts.push(`${fmt(t)}`)
        t += n(pLen) + n(pGap)
      }
      if (n(pClose) > 0) parts.push(`closing ${fmt(t)}`)
      preview.textContent = `${days().length} day(s): ${parts.join(', ')}`
    }
    pattern.addEventListener('input', updatePreview)
    updatePreview()
    pattern.addEventListener('submit', (e) => {
      e.preventDefault()
      void mutate('POST', '/rounds/pattern', { segments: segments() }, 'Rounds added')
    })
    append(rounds, [
      h('h2', { id: 'rounds-h' }, 'Rounds'),
      zone !== c.time_zone ? h('p', { class: 'muted small' }, `Listed in the conference zone ${c.time_zone}.`) : null,
      list,
      pattern,
      one,
    ])
  }

  // ---- sessions: state, move, merge, cancel, finalize ---------------------------
  // Which sessions have their actions unfolded, so a re-render after any
  // change keeps the organizer where they were.
  const unfolded = new Set<string>()
  const confirming = new Set<string>()

  function renderSessions(c: ConferenceView): void {
    clear(sessions)
    const rounds = new Map(c.rounds.map((r) => [r.id, r]))
    const spaceNames = new Map(c.spaces.map((s) => [s.id, s.name]))
    const where = (roundId: string, spaceId: string) => {
      const r = rounds.get(roundId)
      return `${r ? `${formatDay(r.starts_at, c.time_zone)} ${formatTime(r.starts_at, c.time_zone)}` : ''} · ${spaceNames.get(spaceId) ?? ''}`
    }
    const taken = new Set(c.sessions.map((s) => `${s.round_id}|${s.space_id}`))
    const freeCells: { round: string; space: string }[] = []
    for (const r of c.rounds.filter((x) => x.kind === 'breakout')) {
      for (const sp of c.spaces) if (!taken.has(`${r.id}|${sp.id}`)) freeCells.push({ round: r.id, space: sp.id })
    }
    const path = (id: string) => `/sessions/${encodeURIComponent(id)}`
    const list = h('ul', { class: 'plain-list session-admin', id: 'session-admin' })
    for (const s of c.sessions) {
      const sel = h(
        'select',
        { 'aria-label': `State of ${s.topic}` },
        (['proposed', 'live', 'final'] as SessionState[]).map((st) => h('option', { value: st, selected: st === s.state }, st)),
      )
      sel.addEventListener('change', () => void call('PATCH', path(s.id), { state: sel.value }, `“${s.topic}” is ${sel.value}`).then(reload))

      const moveId = `move-${s.id}`
      const moveTo = h(
        'select',
        { id: moveId, disabled: freeCells.length === 0 },
        freeCells.length === 0 ? h('option', { value: '' }, 'no free cell') : freeCells.map((f) => h('option', { value: `${f.round}|${f.space}` }, where(f.round, f.space))),
      )
      const move = h(
        'form',
        { class: 'row wrap', 'data-action': 'move' },
        h('div', { class: 'stack grow' }, h('label', { for: moveId }, 'Move to'), moveTo),
        h('button', { type: 'submit', class: 'btn btn-small', disabled: freeCells.length === 0 }, 'Move'),
      )
      move.addEventListener('submit', (e) => {
        e.preventDefault()
        const [round_id, space_id] = moveTo.value.split('|')
        if (!round_id || !space_id) return
        void call('PATCH', path(s.id), { round_id, space_id }, `“${s.topic}” moved to ${where(round_id, space_id)}`).then(reload)
      })

      const others = c.sessions.filter((o) => o.id !== s.id)
      const absorbId = `absorb-${s.id}`
      const absorb = h(
        'select',
        { id: absorbId, disabled: others.length === 0 },
        others.length === 0 ? h('option', { value: '' }, 'no other session') : others.map((o) => h('option', { value: o.id }, `${o.topic} (${where(o.round_id, o.space_id)})`)),
      )
      const merge = h(
        'form',
        { class: 'row wrap', 'data-action': 'merge' },
        h('div', { class: 'stack grow' }, h('label', { for: absorbId }, 'Merge into this session'), absorb),
        h('button', { type: 'submit', class: 'btn btn-small', disabled: others.length === 0 }, 'Merge'),
      )
      merge.addEventListener('submit', (e) => {
        e.preventDefault()
        const other = others.find((o) => o.id === absorb.value)
        if (!other) return
        void call('POST', `${path(s.id)}/merge`, { absorb: other.id }, `“${other.topic}” merged into “${s.topic}”; its chart is kept read-only`).then(reload)
      })

      // Cancelling takes two steps: it removes the session from the agenda.
      const cancel = confirming.has(s.id)
        ? h(
            'div',
            { class: 'row wrap confirm', role: 'group', 'aria-label': `Cancel ${s.topic}?` },
            h('span', { class: 'small' }, 'Remove it from the agenda? Its chart is kept, read-only.'),
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small btn-danger',
                'data-action': 'cancel-confirm',
                onclick: async () => {
                  confirming.delete(s.id)
                  unfolded.delete(s.id)
                  await call('DELETE', path(s.id), undefined, `“${s.topic}” cancelled`)
                  await reload()
                },
              },
              `Yes, cancel “${s.topic}”`,
            ),
            h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => { confirming.delete(s.id); render(); focusAction(s.id, 'cancel') } }, 'Keep it'),
          )
        : h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'data-action': 'cancel', onclick: () => { confirming.add(s.id); render(); focusAction(s.id, 'cancel-confirm') } }, 'Cancel session…')

      const actions = h(
        'details',
        { class: 'session-actions', open: unfolded.has(s.id) },
        h('summary', {}, `Move, merge or cancel “${s.topic}”`),
        h('div', { class: 'stack' }, move, merge, h('div', { class: 'row' }, cancel)),
      )
      actions.addEventListener('toggle', () => {
        if (actions.open) unfolded.add(s.id)
        else unfolded.delete(s.id)
      })
      list.append(
        h(
          'li',
          { 'data-session': s.id },
          h(
            'div',
            { class: 'row wrap session-admin-head' },
            h('span', { class: 'grow' }, h('a', { href: appLink(`/chart/${s.chart_id}`, token) }, s.topic), h('span', { class: 'muted small', 'data-where': '' }, ` · ${where(s.round_id, s.space_id)}`)),
            sel,
          ),
          actions,
        ),
      )
    }
    if (c.sessions.length === 0) list.append(h('li', { class: 'muted' }, 'No sessions yet'))
    const finalizeAll = h(
      'button',
      {
        type: 'button',
        class: 'btn',
        id: 'finalize-all',
        disabled: !c.sessions.some((s) => s.state !== 'final'),
        onclick: async () => {
          for (const s of c.sessions.filter((x) => x.state !== 'final')) {
            if (s.state === 'proposed') await call('PATCH', path(s.id), { state: 'live' })
            await call('PATCH', path(s.id), { state: 'final' })
          }
          toast('All charts are final')
          await reload()
        },
      },
      'Finalize all charts',
    )
    sessions.append(h('h2', { id: 'sessions-h' }, 'Sessions'), list, h('div', { class: 'row' }, finalizeAll))
  }

  function focusAction(sessionId: string, action: string): void {
    sessions.querySelector<HTMLElement>(`li[data-session="${CSS.escape(sessionId)}"] [data-action="${action}"]`)?.focus()
  }

  // ---- links ------------------------------------------------------------------
  function renderLinks(): void {
    clear(linksEl)
    const list = h('ul', { class: 'plain-list', id: 'link-list' })
    for (const l of links) {
      list.append(
        h(
          'li',
          { class: l.revoked ? 'revoked' : '' },
          h('span', {}, h('span', { class: `badge badge-role` }, l.role), ` ${l.label || '(no label)'}`, l.revoked ? h('span', { class: 'muted small' }, ' · revoked') : null),
          l.revoked
            ? null
            : h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Revoke ${l.role} link ${l.label}`, onclick: async () => { if (await call('DELETE', `/links/${encodeURIComponent(l.id)}`, undefined, 'Link revoked')) await loadLinks() } }, 'Revoke'),
        ),
      )
    }
    const role = h('select', { id: 'link-role' }, (['edit', 'read', 'organizer'] as Role[]).map((r) => h('option', { value: r }, r)))
    const label = h('input', { id: 'link-label', type: 'text', maxlength: 100, placeholder: 'Label, e.g. Participants' })
    const minted = h('div', { id: 'minted', 'aria-live': 'polite' })
    const form = h(
      'form',
      { class: 'row wrap', id: 'link-form' },
      h('label', { for: 'link-role', class: 'sr-only' }, 'Role'),
      role,
      h('label', { for: 'link-label', class: 'sr-only' }, 'Label'),
      label,
      h('button', { class: 'btn', type: 'submit' }, 'Create link'),
    )
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const m = await call<MintedLink>('POST', '/links', { role: role.value, label: label.value.trim() || undefined })
      if (!m) return
      await loadLinks()
      const box = document.getElementById('minted')
      if (box) {
        clear(box)
        box.append(h('p', { class: 'small' }, 'Shown only once:'), linkField(`${m.role} link`, m.url))
      }
    })
    linksEl.append(
      h('h2', { id: 'links-h' }, 'Links'),
      h('p', { class: 'muted small' }, 'A link is the permission: edit links let people post topics and take notes, read links only read.'),
      list,
      form,
      minted,
    )
  }

  function render(): void {
    if (!conf || disposed) return
    heading.textContent = `Organize · ${conf.name}`
    setTitle('Organize', conf.name)
    renderSettings(conf)
    renderSpaces(conf)
    renderRounds(conf)
    renderSessions(conf)
    renderLinks()
  }

  async function reload(): Promise<void> {
    try {
      conf = await api<ConferenceView>('GET', `/conferences/${cid}`, token)
      render()
    } catch (e) {
      clear(errorEl)
      errorEl.append(h('p', { class: 'notice notice-error' }, describeError(e)))
    }
  }
  async function loadLinks(): Promise<void> {
    try {
      links = await api<LinkView[]>('GET', `/conferences/${cid}/links`, token)
      renderLinks()
    } catch (e) {
      clear(errorEl)
      errorEl.append(h('p', { class: 'notice notice-error' }, describeError(e)))
    }
  }
  void reload().then(loadLinks)
  return () => {
    disposed = true
  }
}
