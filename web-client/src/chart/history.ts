// The chart's history: a timeslider across its versions and "Live", a
// read-only preview of the chosen version with what changed since
// highlighted, "Save version", and restore behind a confirmation.
//
// Everyone with a link may browse (readers can read the chart and its
// exports anyway; a version holds nothing the chart did not show); only
// edit and organizer links see "Save version" and "Restore", and only
// while the chart is writable. A restore is an ordinary edit made by the
// server, so this page's editor receives it like anyone's typing.

import { api, describeError } from '../api'
import { confirmDialog, h, toast } from '../util'

/** A version as the server lists it (`GET /charts/{id}/versions`). */
interface Version {
  id: string
  at: string
  trigger: 'manual' | 'round_end' | 'finalized' | 'before_restore' | 'restore'
  label: string
  by?: string
  by_role?: string
  stored_bytes: number
}

interface DiffLine {
  tag: 'equal' | 'insert' | 'delete'
  text: string
}

const TRIGGERS: Record<Version['trigger'], string> = {
  manual: 'saved',
  round_end: 'end of round',
  finalized: 'finalized',
  before_restore: 'before a restore',
  restore: 'restore',
}

export interface HistoryPanel {
  element: HTMLElement
  /** What this link may do here: save and restore need an edit link and a writable chart. */
  setAccess(canWrite: boolean): void
  destroy(): void
}

export function historyPanel(chartId: string, token: string | null): HistoryPanel {
  let versions: Version[] = []
  let canWrite = false
  let loaded = false
  let disposed = false
  const base = `/charts/${encodeURIComponent(chartId)}/versions`

  const slider = h('input', {
    type: 'range',
    id: 'history-slider',
    min: 0,
    max: 0,
    value: 0,
    step: 1,
    'aria-label': 'Version',
    'aria-describedby': 'history-at',
  }) as HTMLInputElement
  const at = h('p', { class: 'history-at', id: 'history-at', 'aria-live': 'polite' }, 'Live')
  const restoreButton = h('button', { type: 'button', class: 'btn btn-small btn-danger', id: 'history-restore', hidden: true }, 'Restore this version')
  const preview = h('div', { class: 'history-preview', id: 'history-preview', hidden: true, tabindex: 0, 'aria-label': 'Version preview' })
  const legend = h(
    'p',
    { class: 'history-legend muted', hidden: true },
    h('span', { class: 'diff-delete' }, 'only in this version'),
    ' · ',
    h('span', { class: 'diff-insert' }, 'added since'),
  )
  const labelInput = h('input', { type: 'text', id: 'history-label', maxlength: 120, placeholder: 'Label, e.g. Before the vote', autocomplete: 'off' }) as HTMLInputElement
  const saveForm = h(
    'form',
    { class: 'row history-save', id: 'history-save', hidden: true },
    h('label', { for: 'history-label', class: 'sr-only' }, 'Version label'),
    labelInput,
    h('button', { type: 'submit', class: 'btn btn-small' }, 'Save version'),
  )
  const empty = h('p', { class: 'muted', id: 'history-empty' }, 'No versions yet. One is taken when the round ends and when the session is finalized.')
  const element = h(
    'details',
    { class: 'history', id: 'history' },
    h('summary', {}, h('h2', { id: 'history-h' }, 'History')),
    saveForm,
    empty,
    h('div', { class: 'history-slider' }, slider, at),
    restoreButton,
    legend,
    preview,
  )

  function selected(): Version | null {
    const i = Number(slider.value)
    return i < versions.length ? versions[i] : null
  }

  function describe(v: Version): string {
    const when = new Date(v.at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
    const who = v.by ? ` by ${v.by}` : ''
    return `${v.label} · ${when} (${TRIGGERS[v.trigger] ?? v.trigger}${who})`
  }

  async function load(keepLive = true): Promise<void> {
    try {
      const list = await api<{ versions: Version[] }>('GET', base, token)
      if (disposed) return
      versions = list.versions
      loaded = true
      slider.max = String(versions.length)
      if (keepLive) slider.value = String(versions.length)
      empty.hidden = versions.length > 0
      slider.parentElement!.hidden = versions.length === 0
      await show()
      element.dataset.loaded = String(versions.length)
    } catch (e) {
      toast(`History: ${describeError(e)}`)
    }
  }

  async function show(): Promise<void> {
    const v = selected()
    restoreButton.hidden = !v || !canWrite
    legend.hidden = !v
    preview.hidden = !v
    slider.setAttribute('aria-valuetext', v ? describe(v) : 'Live')
    if (!v) {
      at.textContent = 'Live: the chart as it is now'
      return
    }
    at.textContent = describe(v)
    preview.replaceChildren(h('p', { class: 'muted' }, 'Loading…'))
    try {
      const diff = await api<{ lines: DiffLine[] }>('GET', `${base}/${encodeURIComponent(v.id)}/diff?against=live`, token)
      if (disposed || selected() !== v) return
      preview.replaceChildren(
        ...diff.lines.map((l) =>
          h('div', { class: `diff-line diff-${l.tag}`, 'data-tag': l.tag }, l.text === '' ? '\u00a0' : l.text),
        ),
      )
    } catch (e) {
      preview.replaceChildren(h('p', { class: 'muted' }, describeError(e)))
    }
  }

  slider.addEventListener('input', () => void show())
  element.addEventListener('toggle', () => {
    if ((element as HTMLDetailsElement).open && !loaded) void load()
  })

  saveForm.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const label = labelInput.value.trim()
    void (async () => {
      try {
        await api('POST', base, token, { label })
        labelInput.value = ''
        toast('Version saved')
        await load()
      } catch (e) {
        toast(`Not saved: ${describeError(e)}`)
      }
    })()
  })

  restoreButton.addEventListener('click', () => {
    const v = selected()
    if (!v) return
    void (async () => {
      const ok = await confirmDialog({
        title: 'Restore this version?',
        body: `The chart will show “${v.label}” again, for everyone in it now. What it shows now is kept as a version, so this can be undone.`,
        confirm: 'Restore',
      })
      if (!ok) return
      try {
        await api('POST', `${base}/${encodeURIComponent(v.id)}/restore`, token)
        toast('Version restored')
        await load()
      } catch (e) {
        toast(`Not restored: ${describeError(e)}`)
      }
    })()
  })

  return {
    element,
    setAccess(write: boolean) {
      canWrite = write
      saveForm.hidden = !write
      restoreButton.hidden = !write || !selected()
    },
    destroy() {
      disposed = true
    },
  }
}
