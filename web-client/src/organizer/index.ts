// The organizer's page: conference settings, capability links, spaces,
// rounds, sessions; one module per section (settings.ts, links.ts,
// spaces.ts, rounds.ts, sessions.ts, webhooks.ts), each updating its own part when the
// conference changes.

import { api, ApiError, tokenProblem, type ConferenceView } from '../api'
import { rememberCharts, rememberRole, shareButton } from '../share'
import { appLink, clear, h, setTitle } from '../util'
import { makeContext } from './context'
import { convergenceSection } from './convergence'
import { linksSection } from './links'
import { reportSection } from './report'
import { roundsSection } from './rounds'
import { sessionsSection } from './sessions'
import { settingsSection } from './settings'
import { spacesSection } from './spaces'
import { webhooksSection } from './webhooks'

export function organizerPage(root: HTMLElement, conferenceId: string, token: string | null): () => void {
  clear(root)
  setTitle('Organize')
  const state: { conf: ConferenceView | null } = { conf: null }
  let disposed = false

  const heading = h('h1', {}, 'Organize')
  const errorEl = h('div', { id: 'org-problem' })
  const tools = h('div', { class: 'row wrap conf-nav' })
  const grid = h('div', { class: 'org-grid' })
  root.append(h('div', { class: 'page' }, h('a', { class: 'back', href: appLink(`/conference/${conferenceId}`) }, '← Agenda'), heading, tools, errorEl, grid))

  const ctx = makeContext(conferenceId, token, state, render, reload)
  const settings = settingsSection(ctx)
  const links = linksSection(ctx)
  const spaces = spacesSection(ctx)
  const rounds = roundsSection(ctx)
  const sessions = sessionsSection(ctx)
  const webhooks = webhooksSection(ctx)
  const report = reportSection(ctx)
  const convergence = convergenceSection(ctx, () => links.load())

  function render(): void {
    const c = state.conf
    if (!c || disposed) return
    heading.textContent = `Organize · ${c.name}`
    setTitle('Organize', c.name)
    rememberCharts(conferenceId, c.sessions.map((s) => s.chart_id))
    settings.render(c)
    spaces.render(c)
    rounds.render(c)
    sessions.render(c)
    report.render(c)
  }

  function problem(message: string): void {
    clear(errorEl)
    errorEl.append(h('p', { class: 'notice notice-error', role: 'alert' }, message))
  }

  async function reload(): Promise<void> {
    try {
      state.conf = await api<ConferenceView>('GET', `/conferences/${ctx.cid}`, token)
      render()
    } catch (e) {
      if (!disposed) problem(tokenProblem(e, 'this conference'))
    }
  }

  async function start(): Promise<void> {
    // The links list is for organizers only: whether it loads says whether
    // this link may organize, before any form is offered.
    try {
      await api('GET', `/conferences/${ctx.cid}/links`, token)
    } catch (e) {
      if (disposed) return
      if (e instanceof ApiError && e.status === 403) {
        problem('This link cannot organize the conference: it is a read or edit link. Only an organizer link can change the agenda.')
      } else {
        problem(tokenProblem(e, 'this conference'))
      }
      return
    }
    if (token) rememberRole(token, 'organizer')
    tools.append(
      h('a', { class: 'btn btn-small', id: 'dashboard-link', href: appLink(`/conference/${conferenceId}/dashboard`) }, 'Dashboard'),
      h('a', { class: 'btn btn-small', href: appLink(`/conference/${conferenceId}/news`) }, 'News wall'),
      shareButton({ conferenceId, path: `/conference/${conferenceId}`, token, role: 'organizer', what: 'the agenda' }),
    )
    grid.append(settings.el, links.el, convergence.el, spaces.el, rounds.el, sessions.el, webhooks.el, report.el)
    await reload()
    await links.load()
    await webhooks.load()
    await convergence.load()
  }

  void start()
  return () => {
    disposed = true
  }
}
