// The "propose a topic" form of the board.
//
// One form at a time, kept as one element for as long as it is open: live
// agenda updates move or leave it, never rebuild it, so what someone is
// typing and the focus survive. If the cell it was opened in is taken by
// someone else meanwhile (seen live, or refused by the server with
// `cell_taken`), the form stays with the typed topic, says so, and offers
// the free cells to pick another.

import { api, ApiError, describeError, type ConferenceView, type SessionChanged } from '../api'
import { rememberName, storedName } from '../identity'
import { formatDay, formatTime, h, toast } from '../util'

/** The server's limit (crates/agenda/src/text.rs), in characters. */
export const TOPIC_MAX = 200
const CONVENER_MAX = 100

export interface ProposeHost {
  conferenceId: string
  token: string | null
  zone: string
  conf: () => ConferenceView | null
  /** The form was closed or posted: show the board without it. */
  closed: () => void
  /** A session was created (the live stream will bring it too). */
  posted: (changed: SessionChanged) => void
}

export class ProposeForm {
  /** "round|space" the form posts into; null when closed. */
  cell: string | null = null
  readonly el: HTMLFormElement
  private topic: HTMLInputElement
  private convener: HTMLInputElement
  private counter: HTMLElement
  private takenNote: HTMLElement
  private slotRow: HTMLElement
  private slot: HTMLSelectElement
  private label: HTMLLabelElement
  private busy = false

  constructor(private host: ProposeHost) {
    this.topic = h('input', { type: 'text', id: 'topic-input', required: true, maxlength: TOPIC_MAX, placeholder: 'Topic', 'aria-describedby': 'topic-count', autocomplete: 'off' })
    this.convener = h('input', { type: 'text', id: 'convener-input', required: true, maxlength: CONVENER_MAX, placeholder: 'Your name', autocomplete: 'nickname' })
    this.counter = h('span', { class: 'counter small muted', id: 'topic-count', 'aria-live': 'polite' })
    this.label = h('label', { for: this.topic.id, class: 'sr-only' }, 'Topic')
    this.takenNote = h('p', { class: 'notice notice-error small taken-note', role: 'alert', hidden: true })
    this.slot = h('select', { id: 'topic-slot' })
    this.slotRow = h('div', { class: 'stack', hidden: true }, h('label', { for: this.slot.id, class: 'small' }, 'Post it in'), this.slot)
    this.el = h(
      'form',
      { class: 'propose stack', id: 'propose-form' },
      this.takenNote,
      this.label,
      this.topic,
      this.counter,
      h('label', { for: this.convener.id, class: 'sr-only' }, 'Convener'),
      this.convener,
      this.slotRow,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-small btn-primary' }, 'Post'),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => this.close() }, 'Cancel'),
      ),
    )
    // maxlength drops what does not fit without a word: the paste says how
    // much it brings, the input event after it shows the note.
    let cut = false
    this.topic.addEventListener('paste', (e) => {
      const pasted = [...(e.clipboardData?.getData('text') ?? '')].length
      const selected = [...this.topic.value.slice(this.topic.selectionStart ?? 0, this.topic.selectionEnd ?? 0)].length
      cut = pasted > TOPIC_MAX - [...this.topic.value].length + selected
    })
    this.topic.addEventListener('input', () => {
      this.count(cut ? `Cut to ${TOPIC_MAX} characters: a topic holds at most ${TOPIC_MAX}.` : undefined)
      cut = false
    })
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close()
    })
    this.el.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.submit()
    })
  }

  /** Opens the form for a free cell, keeping whatever was typed already. */
  open(cell: string, where: string): void {
    this.cell = cell
    this.label.textContent = `Topic for ${where}`
    this.takenNote.hidden = true
    this.slotRow.hidden = true
    if (!this.convener.value) this.convener.value = storedName() ?? ''
    this.count()
  }

  close(): void {
    this.cell = null
    this.topic.value = ''
    this.takenNote.hidden = true
    this.slotRow.hidden = true
    this.host.closed()
  }

  focus(): void {
    this.topic.focus()
  }

  private count(extra?: string): void {
    const n = [...this.topic.value].length
    this.counter.textContent = `${n}/${TOPIC_MAX}${extra ? ` · ${extra}` : ''}`
    this.counter.classList.toggle('counter-full', n >= TOPIC_MAX - 20)
  }

  /**
   * Called after each agenda update while the form is open: if its cell
   * was taken, say by what and offer the free cells.
   */
  refresh(): void {
    const conf = this.host.conf()
    if (!conf || !this.cell) return
    const taker = conf.sessions.find((s) => `${s.round_id}|${s.space_id}` === this.cell)
    if (taker || !this.slotRow.hidden) this.offerOtherCells(taker ? `“${taker.topic}” (${taker.convener})` : null)
  }

  private offerOtherCells(takenBy: string | null): void {
    const conf = this.host.conf()
    if (!conf) return
    const taken = new Set(conf.sessions.map((s) => `${s.round_id}|${s.space_id}`))
    const free: { key: string; text: string }[] = []
    for (const r of conf.rounds) {
      if (r.kind !== 'breakout') continue
      for (const sp of conf.spaces) {
        const key = `${r.id}|${sp.id}`
        if (!taken.has(key)) free.push({ key, text: `${formatDay(r.starts_at, this.host.zone)} ${formatTime(r.starts_at, this.host.zone)} · ${sp.name}` })
      }
    }
    const previous = this.slot.value
    this.slot.replaceChildren(...free.map((f) => h('option', { value: f.key, selected: f.key === previous }, f.text)))
    this.takenNote.hidden = false
    this.takenNote.textContent =
      free.length === 0
        ? `${takenBy ? `Someone just took this slot for ${takenBy}` : 'This slot was taken'}, and no slot is free now. Your topic is still here.`
        : `${takenBy ? `Someone just took this slot for ${takenBy}` : 'This slot was taken'}. Your topic is still here: pick another slot and post it.`
    this.slotRow.hidden = free.length === 0
    this.label.textContent = 'Topic'
  }

  private async submit(): Promise<void> {
    if (this.busy || !this.cell) return
    const t = this.topic.value.trim()
    const who = this.convener.value.trim()
    if (!t || !who) return
    const target = this.slotRow.hidden ? this.cell : this.slot.value
    const [round_id, space_id] = target.split('|')
    if (!round_id || !space_id) return
    rememberName(who)
    this.busy = true
    try {
      const res = await api<SessionChanged>('POST', `/conferences/${encodeURIComponent(this.host.conferenceId)}/sessions`, this.host.token, {
        topic: t,
        convener: who,
        round_id,
        space_id,
      })
      this.host.posted(res)
      this.close()
      toast(`Posted “${t}”`)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'cell_taken') {
        this.cell = target
        this.offerOtherCells(null)
        this.slot.focus()
      } else {
        toast(describeError(err), 'error')
      }
    } finally {
      this.busy = false
    }
  }
}
