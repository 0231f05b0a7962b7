import './style.css'
import { conferencePage } from './board'
import { proceedingsPage } from './proceedings'
import { organizerPage } from './organizer'
import { homePage } from './home'
import { newsPage } from './news'
import { dashboardPage } from './organizer/dashboard'
import { conferenceToken, tokenForChart } from './share'
import { clear, clearToasts, currentRoute, h, setTitle } from './util'

const main = document.getElementById('main') as HTMLElement
let cleanup: (() => void) | null = null
let lastPath = ''

function route(): void {
  const { parts } = currentRoute()
  const path = parts.join('/')
  // Query-only changes (e.g. a token being stripped) do not rebuild the page.
  if (path === lastPath && cleanup) return
  lastPath = path
  cleanup?.()
  cleanup = null
  clearToasts()
  const [page, id] = parts
  // The token leaves the address bar here, before any page renders a link.
  const token = !id ? null : page === 'chart' ? tokenForChart(id) : conferenceToken(id)
  try {
    if (page === 'chart' && id) {
      // The editor is most of the code: load it only for chart pages.
      const myPath = path
      let inner: (() => void) | null = null
      let gone = false
      cleanup = () => {
        gone = true
        inner?.()
      }
      void import('./chart').then(({ chartPage }) => {
        if (!gone && lastPath === myPath) inner = chartPage(main, id, token)
      })
    }
    else if (page === 'conference' && id && parts[2] === 'proceedings') cleanup = proceedingsPage(main, id, token)
    else if (page === 'conference' && id && parts[2] === 'organize') cleanup = organizerPage(main, id, token)
    else if (page === 'conference' && id && parts[2] === 'news') cleanup = newsPage(main, id, token, parts[3] === 'projector')
    else if (page === 'conference' && id && parts[2] === 'dashboard') cleanup = dashboardPage(main, id, token)
    else if (page === 'conference' && id) cleanup = conferencePage(main, id, token)
    else if (page === 'proceedings' && id) cleanup = proceedingsPage(main, id, token)
    else if (page === 'organize' && id) cleanup = organizerPage(main, id, token)
    else if (!page || page === 'new') cleanup = homePage(main)
    else notFound()
  } catch (e) {
    console.error(e)
    clear(main)
    main.append(h('p', { class: 'notice notice-error' }, `Something went wrong: ${String(e)}`))
  }
}

function notFound(): void {
  clear(main)
  setTitle('Not found')
  main.append(
    h('div', { class: 'page narrow' }, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '#/' }, 'Go to the start page'))),
  )
}

window.addEventListener('hashchange', route)
route()
