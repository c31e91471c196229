// The dashboard's entry: hash routes (#/ the job list, #/jobs/<id> a job), the API key
// prompt (shown whenever the API answers 401), and the job list with its filters and pages.
import { api, apiKey, ApiError, setApiKey } from './api.js'
import { h, number, progress, stateBadge, time } from './dom.js'
import { showJob } from './job-view.js'

const STATES = ['', 'queued', 'running', 'paused', 'completed', 'cancelled', 'failed']
const LIST_REFRESH_MS = 2000
const view = document.getElementById('view')
let leave = () => {}

/** Asks for a key; resolves once one was given. */
function askForKey (wasRejected) {
  const dialog = document.getElementById('key-dialog')
  document.getElementById('key-error').hidden = !wasRejected
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      setApiKey(document.getElementById('key-input').value.trim())
      document.getElementById('key-input').value = ''
      resolve()
    }, { once: true })
    if (!dialog.open) dialog.showModal()
  })
}

/** Renders a view; on 401 asks for a key and renders again. */
export async function guard (render) {
  for (;;) {
    try {
      return await render()
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err
      await askForKey(apiKey() !== '')
      document.getElementById('forget-key').hidden = false
    }
  }
}

export function showError (err) {
  view.replaceChildren(h('p', { class: 'error' }, err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)))
}

function showList (filters) {
  const controller = new AbortController()
  const stateSelect = h('select', { name: 'state' }, STATES.map((state) => h('option', { value: state, selected: state === filters.state }, state === '' ? 'any state' : state)))
  const keyInput = h('input', { name: 'primarykey', placeholder: 'primarykey', value: filters.primarykey })
  const form = h('form', {
    class: 'filters',
    onsubmit: (event) => {
      event.preventDefault()
      window.location.hash = `#/?${new URLSearchParams({ state: stateSelect.value, primarykey: keyInput.value.trim() })}`
    }
  }, stateSelect, keyInput, h('button', { type: 'submit' }, 'Filter'))
  const body = h('tbody')
  const pager = h('nav', { class: 'pager' })
  view.replaceChildren(h('h1', {}, 'Jobs'), form, h('table', { id: 'jobs-table' },
    h('thead', {}, h('tr', {}, ['Job', 'Primarykey', 'State', 'Progress', 'Done', 'Rate/s', 'Failed', 'Submitted'].map((name) => h('th', {}, name)))), body), pager)

  const pages = [null] // cursors of the pages seen, for "newer"
  let page = 0
  const load = async () => {
    const query = new URLSearchParams({ limit: '20' })
    if (filters.state !== '') query.set('state', filters.state)
    if (filters.primarykey !== '') query.set('primarykey', filters.primarykey)
    if (pages[page] !== null) query.set('cursor', pages[page])
    const answer = await api(`/jobs?${query}`)
    if (controller.signal.aborted) return
    body.replaceChildren(...answer.jobs.map((job) => h('tr', { 'data-job': job.job_id },
      h('td', {}, h('a', { href: `#/jobs/${job.job_id}` }, job.job_id)), h('td', {}, job.primarykey), h('td', {}, stateBadge(job.state)),
      h('td', {}, progress(job)), h('td', { class: 'num' }, `${number(job.count)}/${number(job.total)}`),
      h('td', { class: 'num' }, number(job.rate, 1)), h('td', { class: job.failed > 0 ? 'num bad' : 'num' }, number(job.failed)),
      h('td', {}, time(job.submitted_at)))))
    if (answer.jobs.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No jobs.')))
    pages[page + 1] = answer.next_cursor
    pager.replaceChildren(
      h('button', { type: 'button', disabled: page === 0, onclick: () => { page--; load().catch(showError) } }, '← Newer'),
      h('button', { type: 'button', disabled: answer.next_cursor === null, onclick: () => { page++; load().catch(showError) } }, 'Older →'))
  }
  const timer = setInterval(() => { load().catch(() => {}) }, LIST_REFRESH_MS)
  leave = () => {
    controller.abort()
    clearInterval(timer)
  }
  return load()
}

function route () {
  leave()
  leave = () => {}
  const hash = window.location.hash.replace(/^#/, '') || '/'
  const job = /^\/jobs\/([^/?]+)$/.exec(hash)
  const render = job !== null
    ? async () => { leave = await showJob(view, decodeURIComponent(job[1]), { guard, showError }) }
    : async () => {
      const params = new URLSearchParams(hash.split('?')[1] ?? '')
      await showList({ state: params.get('state') ?? '', primarykey: params.get('primarykey') ?? '' })
    }
  guard(render).catch(showError)
}

document.getElementById('forget-key').addEventListener('click', () => {
  setApiKey('')
  window.location.reload()
})
document.getElementById('forget-key').hidden = apiKey() === ''
window.addEventListener('hashchange', route)
route()
