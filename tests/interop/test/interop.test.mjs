// Interop self-test: stock y-websocket clients (client.mjs) talk through a server.
//
// Server under test:
//   EASEL_URL=ws://127.0.0.1:PORT/sync  -> an already running Easel (y-websocket appends /{room})
//   (unset)                             -> starts the reference @y/websocket-server on a free port
// Optional: EASEL_TOKEN is passed as --token (query parameter ?token=...);
//           EASEL_ROOM names the room (an Easel chart id; Easel only opens charts of real sessions).
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Client, startReferenceServer, eventually, content } from '../harness.mjs'

const TIMEOUT = 15000

describe(`y-websocket interop (${process.env.EASEL_URL ? 'EASEL_URL=' + process.env.EASEL_URL : 'reference server'})`, () => {
  let server = null
  let url
  const clients = []
  const room = process.env.EASEL_ROOM || `interop-${process.pid}-${Date.now().toString(36)}`
  const token = process.env.EASEL_TOKEN

  const newClient = async (name) => {
    const c = new Client({ url, room, token, name })
    clients.push(c)
    await c.ready()
    await c.request({ cmd: 'wait_synced' }, { timeoutMs: TIMEOUT })
    return c
  }

  const converged = async (a, b, check = () => true) => {
    const both = await eventually(
      async () => [content(await a.dump()), content(await b.dump())],
      ([da, db]) => { try { assert.deepEqual(da, db); return check(da) } catch { return false } },
      { timeoutMs: TIMEOUT, what: `${a.label} and ${b.label} to converge` })
    return both[0]
  }

  let alice, bob

  before(async () => {
    if (process.env.EASEL_URL) {
      url = process.env.EASEL_URL
    } else {
      server = await startReferenceServer()
      url = server.url
    }
    alice = await newClient('alice')
    bob = await newClient('bob')
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.quit()))
    if (server) await server.stop()
  })

  it('text, map, array and xml edits from both clients converge', async () => {
    await alice.request({ cmd: 'text_insert', name: 't', index: 0, text: 'hello' })
    await alice.request({ cmd: 'map_set', name: 'm', key: 'title', value: 'Retro' })
    await alice.request({ cmd: 'map_set', name: 'm', key: 'nested', value: { n: 1, l: [true, null, 'x'] } })
    await alice.request({ cmd: 'array_push', name: 'a', values: [1, 2] })
    await alice.request({ cmd: 'xml_push', name: 'notes', tag: 'paragraph', text: 'from alice' })

    await bob.request({ cmd: 'text_insert', name: 't2', index: 0, text: 'bob was here' })
    await bob.request({ cmd: 'map_set', name: 'm', key: 'owner', value: 'bob' })
    await bob.request({ cmd: 'array_push', name: 'a', values: ['b'] })
    await bob.request({ cmd: 'xml_push', name: 'notes', tag: 'heading', text: 'from bob' })

    const d = await converged(alice, bob, (d) =>
      d.text.t === 'hello' && d.text.t2 === 'bob was here' && d.map.m?.owner === 'bob' &&
      d.array.a?.length === 3 && (d.xml.notes?.match(/<\w+>/g) || []).length === 2)
    assert.deepEqual(d.map.m, { title: 'Retro', nested: { n: 1, l: [true, null, 'x'] }, owner: 'bob' })
    assert.deepEqual([...d.array.a].sort(), [1, 2, 'b'].sort())
    assert.match(d.xml.notes, /<paragraph>from alice<\/paragraph>/)
    assert.match(d.xml.notes, /<heading>from bob<\/heading>/)
  })

  it('concurrent edits at the same position converge', async () => {
    await Promise.all([
      alice.request({ cmd: 'text_insert', name: 'c', index: 0, text: 'AAA' }),
      bob.request({ cmd: 'text_insert', name: 'c', index: 0, text: 'BBB' }),
      alice.request({ cmd: 'map_set', name: 'cm', key: 'k', value: 'alice' }),
      bob.request({ cmd: 'map_set', name: 'cm', key: 'k', value: 'bob' })
    ])
    const d = await converged(alice, bob, (d) => d.text.c?.length === 6 && d.map.cm?.k !== undefined)
    assert.ok(d.text.c === 'AAABBB' || d.text.c === 'BBBAAA', d.text.c)
    assert.ok(['alice', 'bob'].includes(d.map.cm.k))
  })

  it('deletes propagate', async () => {
    await alice.request({ cmd: 'text_insert', name: 'del', index: 0, text: 'abcdef' })
    await converged(alice, bob, (d) => d.text.del === 'abcdef')
    await bob.request({ cmd: 'text_delete', name: 'del', index: 1, length: 3 })
    await bob.request({ cmd: 'map_delete', name: 'm', key: 'title' })
    const d = await converged(alice, bob, (d) => d.text.del === 'aef' && !('title' in (d.map.m || {})))
    assert.equal(d.text.del, 'aef')
  })

  it('awareness of one client is seen by the other', async () => {
    const state = { user: { name: 'alice', color: '#ff0000' }, cursor: { x: 10, y: 20 } }
    await alice.request({ cmd: 'awareness', state })
    const seen = await eventually(
      () => bob.request({ cmd: 'awareness_states' }),
      (ev) => JSON.stringify(ev.states[alice.clientId]) === JSON.stringify(state),
      { timeoutMs: TIMEOUT, what: "alice's awareness at bob" })
    assert.deepEqual(seen.states[alice.clientId], state)
    assert.equal(seen.self, bob.clientId)
  })

  it('a late joiner receives the full document state', async () => {
    const carol = await newClient('carol')
    const expected = content(await alice.dump())
    const d = await eventually(() => carol.dump(), (d) => {
      try { assert.deepEqual(content(d), expected); return true } catch { return false }
    }, { timeoutMs: TIMEOUT, what: 'carol to catch up' })
    assert.equal(d.text.t, 'hello')
    // and sees alice's awareness, which was set before carol connected
    await eventually(() => carol.request({ cmd: 'awareness_states' }),
      (ev) => ev.states[alice.clientId]?.user?.name === 'alice',
      { timeoutMs: TIMEOUT, what: "alice's awareness at carol" })
    await carol.quit()
  })

  it('offline edits sync after reconnect', async () => {
    await bob.request({ cmd: 'disconnect' })
    await bob.waitFor((e) => e.event === 'status' && e.status === 'disconnected', { timeoutMs: TIMEOUT })
    const mark = bob.events.length
    await alice.request({ cmd: 'text_insert', name: 'off', index: 0, text: 'online ' })
    await bob.request({ cmd: 'array_push', name: 'off_a', values: ['offline'] })
    await bob.request({ cmd: 'connect' })
    await bob.waitFor((e) => e.event === 'status' && e.status === 'connected', { timeoutMs: TIMEOUT, from: mark })
    await bob.request({ cmd: 'wait_synced' }, { timeoutMs: TIMEOUT })
    const d = await converged(alice, bob, (d) => d.text.off === 'online ' && d.array.off_a?.[0] === 'offline')
    assert.deepEqual(d.array.off_a, ['offline'])
  })

  it("a client's awareness is removed when it leaves", async () => {
    const dave = await newClient('dave')
    await dave.request({ cmd: 'awareness', state: { user: { name: 'dave' } } })
    await eventually(() => alice.request({ cmd: 'awareness_states' }),
      (ev) => ev.states[dave.clientId]?.user?.name === 'dave',
      { timeoutMs: TIMEOUT, what: "dave's awareness at alice" })
    await dave.quit()
    await eventually(() => alice.request({ cmd: 'awareness_states' }),
      (ev) => !(dave.clientId in ev.states),
      { timeoutMs: TIMEOUT, what: "dave's awareness to be removed at alice" })
  })
})
