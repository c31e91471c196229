// One job's page: live progress over SSE (fetch-streamed, with the API key), latency
// percentiles, status-code and error breakdowns, the live limit and circuit once the server
// reports them, the failed records paged from results, and the steering buttons.
import { api, followEvents, ndjsonPage } from './api.js'
import { duration, h, number, percent, progress, stateBadge, time } from './dom.js'

const FAILED_PAGE = 25
const ACTIONS = [
  { name: 'pause', label: 'Pause', method: 'POST', suffix: '/pause', states: ['queued', 'running'] },
  { name: 'resume', label: 'Resume', method: 'POST', suffix: '/resume', states: ['paused'] },
  { name: 'cancel', label: 'Cancel', method: 'DELETE', suffix: '', states: ['queued', 'running', 'paused'], confirm: 'Cancel this job? Records not yet sent will never be sent.' },
  { name: 'retry-failed', label: 'Retry failed', method: 'POST', suffix: '/retry-failed', states: ['completed', 'cancelled', 'failed'], needsFailures: true }
]

function stat (label, id) {
  return h('div', { class: 'stat' }, h('span', { class: 'label' }, label), h('span', { class: 'value', id }, '–'))
}

function breakdown (title, id) {
  return h('section', { class: 'breakdown' }, h('h3', {}, title), h('table', { id }, h('tbody')))
}

export async function showJob (view, jobId, { guard, showError }) {
  const path = `/jobs/${encodeURIComponent(jobId)}`
  const first = await api(path)
  const controller = new AbortController()
  const bar = h('div', { class: 'bar' })
  const message = h('p', { class: 'message', id: 'action-message' })
  const buttons = h('div', { class: 'actions' }, ACTIONS.map((action) => h('button', {
    type: 'button',
    'data-action': action.name,
    onclick: () => act(action).catch((err) => { message.textContent = `${err.code ?? 'error'}: ${err.message}` })
  }, action.label)))
  const failedBody = h('tbody')
  const failedPager = h('nav', { class: 'pager' })
  view.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← Jobs')),
    h('h1', {}, h('span', { id: 'job-id' }, first.job_id), ' ', h('span', { id: 'job-state' })),
    h('p', { class: 'muted', id: 'job-primarykey' }),
    bar, buttons, message,
    h('div', { class: 'stats' },
      stat('Done', 'job-count'), stat('Succeeded', 'job-succeeded'), stat('Failed', 'job-failed'), stat('Rate /s', 'job-rate'),
      stat('ETA', 'job-eta'), stat('Retries', 'job-retries'), stat('Concurrency', 'job-concurrency'), stat('Circuit', 'job-circuit')),
    h('h2', {}, 'Latency (ms)'),
    h('div', { class: 'stats' }, stat('p50', 'job-p50'), stat('p95', 'job-p95'), stat('p99', 'job-p99'),
      stat('min', 'job-min'), stat('avg', 'job-avg'), stat('max', 'job-max')),
    h('div', { class: 'breakdowns' }, breakdown('Status codes', 'status-codes'), breakdown('Errors', 'errors')),
    h('h2', {}, 'Failed records'),
    h('table', { id: 'failed-table' }, h('thead', {}, h('tr', {}, ['Record id', 'Status', 'Error', 'Attempts', 'Time (ms)', 'Response'].map((name) => h('th', {}, name)))), failedBody),
    failedPager,
    h('p', { class: 'muted', id: 'job-times' }))

  let failedPage = 0
  let failedShown = -1
  const set = (id, text) => { document.getElementById(id).textContent = text }

  function render (status) {
    document.getElementById('job-state').replaceChildren(stateBadge(status.state))
    set('job-primarykey', `primarykey ${status.primarykey}${status.parent_job_id ? ` · retry of ${status.parent_job_id}` : ''}${status.error ? ` · ${status.error.code}: ${status.error.message}` : ''}`)
    bar.replaceChildren(progress(status), h('span', { class: 'percent', id: 'job-percent' }, `${percent(status).toFixed(1)}%`))
    set('job-count', `${number(status.count)} / ${number(status.total)}`)
    set('job-succeeded', number(status.succeeded))
    set('job-failed', number(status.failed))
    set('job-rate', number(status.rate, 1))
    set('job-eta', duration(status.eta_ms))
    set('job-retries', number(status.retries))
    set('job-concurrency', status.concurrency_limit === undefined ? '–' : number(status.concurrency_limit))
    set('job-circuit', status.circuit ?? '–')
    // Shown once the server reports them (DESIGN §8: adaptive concurrency, circuit breaker).
    document.getElementById('job-concurrency').parentElement.hidden = status.concurrency_limit === undefined
    document.getElementById('job-circuit').parentElement.hidden = status.circuit === undefined
    for (const [id, field] of [['job-p50', 'p50_time'], ['job-p95', 'p95_time'], ['job-p99', 'p99_time'], ['job-min', 'min_time'], ['job-avg', 'avg_time'], ['job-max', 'max_time']]) set(id, number(status[field], 1))
    fillCounts('status-codes', status.status_codes)
    fillCounts('errors', Object.fromEntries(Object.entries(status.errors).filter(([, n]) => n > 0)))
    set('job-times', `submitted ${time(status.submitted_at)} · started ${time(status.started_at)} · finished ${time(status.finished_at)}`)
    for (const action of ACTIONS) {
      const button = buttons.querySelector(`[data-action="${action.name}"]`)
      button.disabled = !action.states.includes(status.state) || (action.needsFailures === true && status.failed === 0)
    }
    if (status.failed !== failedShown) {
      failedShown = status.failed
      loadFailed().catch(showError)
    }
  }

  function fillCounts (id, counts) {
    const rows = Object.entries(counts).sort(([, a], [, b]) => b - a).map(([key, n]) => h('tr', {}, h('td', {}, key), h('td', { class: 'num' }, number(n))))
    document.querySelector(`#${id} tbody`).replaceChildren(...(rows.length > 0 ? rows : [h('tr', {}, h('td', { class: 'empty' }, 'none yet'))]))
  }

  async function loadFailed () {
    const { lines, hasMore } = await ndjsonPage(`${path}/results?outcome=failed`, failedPage * FAILED_PAGE, FAILED_PAGE, controller.signal)
    failedBody.replaceChildren(...lines.map((line) => h('tr', {},
      h('td', {}, String(line.id)), h('td', { class: 'num' }, line.status ?? '–'), h('td', {}, line.error ?? ''),
      h('td', { class: 'num' }, line.attempts), h('td', { class: 'num' }, number(line.time_ms, 1)), h('td', { class: 'response' }, line.response ?? line.detail ?? ''))))
    if (lines.length === 0) failedBody.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No failed records.')))
    failedPager.replaceChildren(
      h('button', { type: 'button', disabled: failedPage === 0, onclick: () => { failedPage--; loadFailed().catch(showError) } }, '← Previous'),
      h('span', {}, ` page ${failedPage + 1} `),
      h('button', { type: 'button', disabled: !hasMore, onclick: () => { failedPage++; loadFailed().catch(showError) } }, 'Next →'))
  }

  async function act (action) {
    if (action.confirm !== undefined && !window.confirm(action.confirm)) return
    message.textContent = ''
    const answer = await guard(async () => await api(`${path}${action.suffix}`, { method: action.method }))
    if (action.name === 'retry-failed') {
      window.location.hash = `#/jobs/${answer.job_id}`
      return
    }
    render(answer)
    if (!controller.signal.aborted && ['queued', 'running', 'paused'].includes(answer.state)) follow()
  }

  let following = false
  function follow () {
    if (following) return
    following = true
    followEvents(`${path}/events`, (event, data) => {
      if (event === 'progress' || event === 'final') render(data)
      return event === 'final'
    }, { signal: controller.signal, onError: showError }).finally(() => { following = false })
  }

  render(first)
  follow()
  return () => controller.abort()
}
