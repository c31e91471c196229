// The dashboard at /ui/ (DESIGN §9, issue 14) in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core): the list shows a running job, its page's counter
// rises live over SSE, pause then resume work from the buttons, the failed-records table
// lists the failures, and with API keys the key prompt works (the key never in a URL).
// The strict Content-Security-Policy must hold: any violation fails the spec.
// A screenshot of the job page goes to spec-output/dashboard/; with
// CHRONOS_UPDATE_SCREENSHOT=1 it also refreshes docs/dashboard.png for the README.
import { existsSync } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const OUTPUT = new URL('../../spec-output/dashboard/', import.meta.url)

describe('dashboard /ui/ (headless Chromium)', function () {
  this.timeout(30_000)
  let browser: Browser
  let target: Target
  const violations: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.warn(`    skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does it)`)
      this.skip()
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    // Record 7, 14, ... fail at once (422), so jobs have failures to show.
    target = await startTarget((req) => Number(req.recordId) % 7 === 0 ? { status: 422, body: '{"error":"bad record"}' } : { delayMs: 40 })
  })

  after(async function () {
    await browser?.close()
    await target?.close()
  })

  async function open (url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    page.on('console', (message) => { if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text()) })
    await page.goto(url)
    return page
  }

  async function countOf (page: Page): Promise<number> {
    return Number((await page.locator('#job-count').textContent() ?? '').split('/')[0]?.replace(/,/g, '').trim())
  }

  /** Polls the page's done counter from here (the CSP forbids the string evaluation waitForFunction uses). */
  async function waitForCountAbove (page: Page, before: number): Promise<void> {
    const deadline = Date.now() + 10_000
    while (await countOf(page) <= before) {
      if (Date.now() > deadline) throw new Error(`the done counter stayed at ${before}`)
      await sleep(100)
    }
  }

  describe('without API keys', function () {
    let chronos: Chronos
    let jobId: string

    before(async function () {
      chronos = await startChronos()
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(400), { concurrency: 2, max_attempts: 1 }))
      jobId = answer.json.job_id
      await chronos.waitForState(jobId, ['running'])
    })

    after(async function () {
      await chronos?.cleanup()
    })

    afterEach(function () {
      expect(violations, 'Content-Security-Policy violations').to.deep.equal([])
    })

    it('lists the running job with its state and progress', async function () {
      const page = await open(`${chronos.url}/ui/`)
      const row = page.locator(`#jobs-table tr[data-job="${jobId}"]`)
      await row.waitFor()
      expect(await row.locator('.state').textContent()).to.equal('running')
      expect(await row.locator('progress').count()).to.equal(1)
      await page.close()
    })

    it('updates the job page live, and pause then resume work from the buttons', async function () {
      const page = await open(`${chronos.url}/ui/#/jobs/${jobId}`)
      await page.locator('#job-count').filter({ hasText: '/' }).waitFor()
      const first = await countOf(page)
      await waitForCountAbove(page, first)
      expect(await countOf(page)).to.be.greaterThan(first)
      await page.locator('#failed-table tbody tr td').first().waitFor()
      await mkdir(OUTPUT, { recursive: true })
      const shot = new URL('job-page.png', OUTPUT)
      await sleep(1200) // one more progress event, so rate and ETA are filled
      await page.screenshot({ path: shot.pathname, fullPage: true })
      if (process.env.CHRONOS_UPDATE_SCREENSHOT === '1') await copyFile(shot, new URL('../../docs/dashboard.png', import.meta.url))

      await page.click('button[data-action="pause"]')
      await page.locator('#job-state .state', { hasText: 'paused' }).waitFor()
      expect((await chronos.get(`/jobs/${jobId}`)).json.state).to.equal('paused')
      await page.click('button[data-action="resume"]')
      await page.locator('#job-state .state', { hasText: 'running' }).waitFor()
      expect((await chronos.get(`/jobs/${jobId}`)).json.state).to.be.oneOf(['running', 'queued'])
      const resumedAt = await countOf(page)
      await waitForCountAbove(page, resumedAt)
      await page.close()
    })

    it('lists the failed records, paged from results', async function () {
      const done = await chronos.upload(buildUpload(target.port, makeRecords(30), { max_attempts: 1 }))
      await chronos.waitForState(done.json.job_id)
      const page = await open(`${chronos.url}/ui/#/jobs/${String(done.json.job_id)}`)
      await page.locator('#failed-table tbody tr td', { hasText: '422' }).first().waitFor()
      const ids = await page.locator('#failed-table tbody tr td:first-child').allTextContents()
      expect(ids.sort()).to.deep.equal(['14', '21', '28', '7'])
      expect(await page.locator('button[data-action="retry-failed"]').isEnabled()).to.equal(true)
      await page.close()
    })
  })

  describe('with API keys', function () {
    let chronos: Chronos

    before(async function () {
      chronos = await startChronos({ CHRONOS_API_KEYS: 'key-one,key-two' })
    })

    after(async function () {
      await chronos?.cleanup()
    })

    it('asks for the key, refuses a wrong one, and sends the right one in the Authorization header only', async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(3)), { authorization: 'Bearer key-one' })
      const jobId = answer.json.job_id as string
      const page = await open(`${chronos.url}/ui/`)
      const sent: string[] = []
      page.on('request', (request) => { if (request.url().includes('/jobs')) sent.push(`${request.url()} ${request.headers().authorization ?? ''}`) })
      await page.locator('#key-dialog[open]').waitFor()
      await page.fill('#key-input', 'wrong-key')
      await page.click('#key-form button[type="submit"]')
      await page.locator('#key-error:not([hidden])').waitFor()
      await page.fill('#key-input', 'key-one')
      await page.click('#key-form button[type="submit"]')
      await page.locator(`#jobs-table tr[data-job="${jobId}"]`).waitFor()
      expect(sent.some((line) => line.endsWith('Bearer key-one'))).to.equal(true)
      expect(sent.every((line) => !line.split(' ')[0]?.includes('key-'))).to.equal(true)
      expect(await page.evaluate('window.sessionStorage.getItem("chronos.apiKey")')).to.equal('key-one')
      expect(violations).to.deep.equal([])
      await page.close()
    })
  })
})
