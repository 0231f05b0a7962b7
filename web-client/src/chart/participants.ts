// The chart's participant list, `meta.participants` (docs/chart-schema.md):
// a Y.Array of names that the proceedings print under each session. People
// add names by hand, and the page adds the name of whoever edits the notes.

import * as Y from 'yjs'

export class Participants {
  private meta: Y.Map<unknown>

  constructor(private doc: Y.Doc) {
    this.meta = doc.getMap('meta')
  }

  private array(create: boolean): Y.Array<string> | null {
    const a = this.meta.get('participants')
    if (a instanceof Y.Array) return a as Y.Array<string>
    if (!create) return null
    const fresh = new Y.Array<string>()
    this.meta.set('participants', fresh)
    return fresh
  }

  names(): string[] {
    const a = this.array(false)
    return a ? a.toArray().filter((n): n is string => typeof n === 'string') : []
  }

  has(name: string): boolean {
    const n = name.trim().toLowerCase()
    return this.names().some((x) => x.trim().toLowerCase() === n)
  }

  add(name: string): void {
    const n = name.trim().slice(0, 80)
    if (!n || this.has(n)) return
    this.doc.transact(() => this.array(true)!.push([n]))
  }

  /** Removes the name at `index` if it is still `name` there. */
  remove(index: number, name: string): void {
    const a = this.array(false)
    if (a && a.get(index) === name) a.delete(index, 1)
  }

  observe(f: () => void): () => void {
    this.meta.observeDeep(f)
    return () => this.meta.unobserveDeep(f)
  }
}

/**
 * Calls `onEdit` after each transaction in which this browser changed the
 * notes (typing, formatting, ticking an action item). Changes from the
 * server or the local store are not edits by this person.
 */
export function watchOwnEdits(doc: Y.Doc, remoteOrigins: unknown[], onEdit: () => void): () => void {
  const notes = doc.getXmlFragment('notes')
  const f = (tr: Y.Transaction) => {
    if (tr.local && !remoteOrigins.includes(tr.origin) && tr.changedParentTypes.has(notes as unknown as Y.AbstractType<Y.YEvent<any>>)) onEdit()
  }
  doc.on('afterTransaction', f)
  return () => doc.off('afterTransaction', f)
}
