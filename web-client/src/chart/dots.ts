// The chart page's dots: the session's own count and one per action item
// (task items with an `actionId`, read from the chart's Yjs document, so
// the list follows the notes as people write them). Hidden until the
// organizers set up a convergence phase.

import * as Y from 'yjs'

import { h } from '../util'
import { dotControl, Votes, votesBar } from '../votes'
import { ACTION_ID } from './action-id'

interface Action {
  id: string
  text: string
}

function textOf(el: Y.XmlElement | Y.XmlText): string {
  if (el instanceof Y.XmlText) {
    return (el.toDelta() as { insert?: unknown }[]).map((d) => (typeof d.insert === 'string' ? d.insert : ' ')).join('')
  }
  if (['taskList', 'bulletList', 'orderedList'].includes(el.nodeName)) return ''
  return el
    .toArray()
    .map((c) => (c instanceof Y.XmlElement || c instanceof Y.XmlText ? textOf(c) : ''))
    .join(' ')
}

/** Task items with an id, in document order (nested ones after their parent). */
export function actionItems(doc: Y.Doc): Action[] {
  const out: Action[] = []
  const walk = (node: Y.XmlFragment | Y.XmlElement) => {
    for (const c of node.toArray()) {
      if (!(c instanceof Y.XmlElement)) continue
      if (c.nodeName === 'taskItem') {
        const id = c.getAttribute(ACTION_ID)
        const text = c
          .toArray()
          .map((x) => (x instanceof Y.XmlElement || x instanceof Y.XmlText ? textOf(x) : ''))
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim()
        if (typeof id === 'string' && id && text) out.push({ id, text })
      }
      walk(c)
    }
  }
  walk(doc.getXmlFragment('notes'))
  return out
}

export function dotsSection(doc: Y.Doc): {
  el: HTMLElement
  attach(conferenceId: string, sessionId: string, token: string | null): Votes
  dispose(): void
} {
  const body = h('div', {})
  const el = h('section', { 'aria-labelledby': 'dots-h', id: 'dots-section', hidden: true }, h('h2', { id: 'dots-h' }, 'Dots'), body)
  let votes: Votes | null = null
  let sessionId = ''
  let shown = ''
  let timer = 0
  const list = h('ul', { class: 'plain-list dot-items', id: 'dot-items' })

  function drawItems(): void {
    if (!votes) return
    const items = actionItems(doc)
    const sig = JSON.stringify(items)
    if (sig === shown) return
    shown = sig
    list.replaceChildren(
      ...items.map((a) =>
        h('li', { class: 'dot-item', 'data-item': a.id }, h('span', { class: 'dot-item-text' }, a.text), dotControl(votes!, { session_id: sessionId, item_id: a.id }, `the action item “${a.text}”`)),
      ),
    )
  }
  const onUpdate = () => {
    clearTimeout(timer)
    timer = window.setTimeout(drawItems, 300)
  }
  doc.on('update', onUpdate)

  return {
    el,
    attach(conferenceId, session, token) {
      if (votes && sessionId === session) return votes
      sessionId = session
      votes = new Votes(conferenceId, token)
      const v = votes
      v.onChange(() => {
        el.hidden = !v.active
      })
      body.replaceChildren(
        votesBar(v),
        h('p', { class: 'row dot-session' }, h('span', {}, 'This session'), dotControl(v, { session_id: session }, 'this session')),
        h('h3', { class: 'small' }, 'Action items'),
        list,
      )
      shown = ''
      drawItems()
      void v.load()
      return v
    },
    dispose() {
      clearTimeout(timer)
      doc.off('update', onUpdate)
    },
  }
}
