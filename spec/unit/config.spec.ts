// loadConfig() is pure over the env object it is given (STYLE.md, Configuration), so every
// case passes a plain object and never touches process.env.
import { expect } from 'chai'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { loadConfig, type Config, type Env } from '../../lib/config.js'
import { ConfigError } from '../../lib/errors.js'

const GIB = 1024 ** 3
const MIB = 1024 ** 2

function configError (env: Env): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError)
    expect((err as ConfigError).code).to.equal('config_error')
    return err as ConfigError
  }
  expect.fail(`loadConfig(${JSON.stringify(env)}) did not throw`)
}

/** Reads `http.port`-style paths out of a Config. */
function pick (config: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], config)
}

describe('loadConfig()', () => {
  describe('with an empty environment', () => {
    const defaults: Array<[string, unknown]> = [
      ['http.port', 8080],
      ['http.host', '0.0.0.0'],
      ['http.apiKeys', []],
      ['http.uploadIdleTimeoutMs', 60_000],
      ['http.shutdownGraceMs', 30_000],
      ['upload.spoolDir', resolve('./var/spool')],
      ['upload.maxUploadBytes', 10 * GIB],
      ['upload.maxLineBytes', MIB],
      ['jobs.maxActiveJobs', 16],
      ['jobs.maxInFlight', 512],
      ['jobs.resultTtlSeconds', 7 * 24 * 3600],
      ['jobs.instanceId', hostname()],
      ['jobs.outcomeBatchSize', 1000],
      ['jobs.flushIntervalMs', 300],
      ['jobs.circuitMaxOpenMs', 3_600_000],
      ['delivery.concurrency', 4],
      ['delivery.maxConcurrency', 256],
      ['delivery.timeoutMs', 30_000],
      ['delivery.maxAttempts', 3],
      ['delivery.allowedTargets', []],
      ['redis.url', 'redis://127.0.0.1:6379'],
      ['redis.keyPrefix', 'chronos'],
      ['redis.clusterNodes', []],
      ['log.level', 'info']
    ]
    for (const [path, expected] of defaults) {
      it(`defaults ${path} to ${JSON.stringify(expected)}`, () => {
        expect(pick(loadConfig({}), path)).to.deep.equal(expected)
      })
    }

    it('groups the result by area', () => {
      expect(loadConfig({})).to.have.all.keys('http', 'upload', 'jobs', 'delivery', 'redis', 'log', 'tls')
    })

    it('treats empty and blank values as unset', () => {
      const env: Record<string, string> = {}
      for (const name of ['PORT', 'HOST', 'REDIS_URL', 'CHRONOS_CONCURRENCY', 'LOG_LEVEL', 'CHRONOS_KEY_PREFIX']) {
        env[name] = '  '
      }
      expect(loadConfig(env)).to.deep.equal(loadConfig({}))
    })
  })

  describe('parses each variable', () => {
    const cases: Array<[string, string, string, unknown]> = [
      ['PORT', '9090', 'http.port', 9090],
      ['PORT', '0', 'http.port', 0],
      ['PORT', '65535', 'http.port', 65535],
      ['PORT', ' 9090 ', 'http.port', 9090],
      ['HOST', '127.0.0.1', 'http.host', '127.0.0.1'],
      ['HOST', ' :: ', 'http.host', '::'],
      ['CHRONOS_API_KEYS', 'k1', 'http.apiKeys', ['k1']],
      ['CHRONOS_API_KEYS', 'k1, k2 ,,k3,', 'http.apiKeys', ['k1', 'k2', 'k3']],
      ['CHRONOS_API_KEYS', '', 'http.apiKeys', []],
      ['CHRONOS_UPLOAD_IDLE_TIMEOUT_MS', '5000', 'http.uploadIdleTimeoutMs', 5000],
      ['CHRONOS_SHUTDOWN_GRACE_MS', '0', 'http.shutdownGraceMs', 0],
      ['CHRONOS_SPOOL_DIR', '/tmp/chronos-spool', 'upload.spoolDir', '/tmp/chronos-spool'],
      ['CHRONOS_SPOOL_DIR', 'relative/spool', 'upload.spoolDir', resolve('relative/spool')],
      ['CHRONOS_MAX_UPLOAD_BYTES', '1048576', 'upload.maxUploadBytes', 1_048_576],
      ['CHRONOS_MAX_UPLOAD_BYTES', String(Number.MAX_SAFE_INTEGER), 'upload.maxUploadBytes', Number.MAX_SAFE_INTEGER],
      ['CHRONOS_MAX_LINE_BYTES', '64', 'upload.maxLineBytes', 64],
      ['CHRONOS_MAX_LINE_BYTES', String(64 * MIB), 'upload.maxLineBytes', 64 * MIB],
      ['CHRONOS_MAX_ACTIVE_JOBS', '4', 'jobs.maxActiveJobs', 4],
      ['CHRONOS_MAX_IN_FLIGHT', '2000', 'jobs.maxInFlight', 2000],
      ['CHRONOS_RESULT_TTL', '3600', 'jobs.resultTtlSeconds', 3600],
      ['CHRONOS_INSTANCE_ID', 'worker-7', 'jobs.instanceId', 'worker-7'],
      ['CHRONOS_OUTCOME_BATCH_SIZE', '50', 'jobs.outcomeBatchSize', 50],
      ['CHRONOS_FLUSH_INTERVAL_MS', '25', 'jobs.flushIntervalMs', 25],
      ['CHRONOS_CIRCUIT_MAX_OPEN_MS', '600000', 'jobs.circuitMaxOpenMs', 600_000],
      ['CHRONOS_CONCURRENCY', '32', 'delivery.concurrency', 32],
      ['CHRONOS_MAX_CONCURRENCY', '1024', 'delivery.maxConcurrency', 1024],
      ['CHRONOS_TIMEOUT_MS', '1500', 'delivery.timeoutMs', 1500],
      ['CHRONOS_MAX_ATTEMPTS', '10', 'delivery.maxAttempts', 10],
      ['CHRONOS_MAX_ATTEMPTS', '1', 'delivery.maxAttempts', 1],
      ['CHRONOS_ALLOWED_TARGETS', 'api.example.com, *.example.org:8443,10.0.0.0/8',
        'delivery.allowedTargets', ['api.example.com', '*.example.org:8443', '10.0.0.0/8']],
      ['REDIS_URL', 'rediss://cache.internal:6380/2', 'redis.url', 'rediss://cache.internal:6380/2'],
      ['REDIS_URL', 'redis://:secret@127.0.0.1:6379', 'redis.url', 'redis://:secret@127.0.0.1:6379'],
      ['CHRONOS_KEY_PREFIX', 'test:run-1.a_b', 'redis.keyPrefix', 'test:run-1.a_b'],
      ['CHRONOS_REDIS_CLUSTER_NODES', '127.0.0.1:7000', 'redis.clusterNodes', [{ host: '127.0.0.1', port: 7000 }]],
      ['CHRONOS_REDIS_CLUSTER_NODES', ' redis-0.redis:6379, redis-1.redis:6380 ,', 'redis.clusterNodes',
        [{ host: 'redis-0.redis', port: 6379 }, { host: 'redis-1.redis', port: 6380 }]],
      ['CHRONOS_REDIS_CLUSTER_NODES', '[::1]:7000,[fd00::2]:65535', 'redis.clusterNodes', [{ host: '::1', port: 7000 }, { host: 'fd00::2', port: 65535 }]],
      ['CHRONOS_REDIS_CLUSTER_NODES', '  ', 'redis.clusterNodes', []],
      ['LOG_LEVEL', 'debug', 'log.level', 'debug'],
      ['LOG_LEVEL', 'silent', 'log.level', 'silent'],
      ['LOG_LEVEL', ' warn ', 'log.level', 'warn']
    ]
    for (const [name, value, path, expected] of cases) {
      it(`reads ${name}=${JSON.stringify(value)} into ${path}`, () => {
        expect(pick(loadConfig({ [name]: value }), path)).to.deep.equal(expected)
      })
    }

    it('accepts CHRONOS_CONCURRENCY equal to CHRONOS_MAX_CONCURRENCY', () => {
      const config = loadConfig({ CHRONOS_CONCURRENCY: '8', CHRONOS_MAX_CONCURRENCY: '8' })
      expect(config.delivery.concurrency).to.equal(8)
      expect(config.delivery.maxConcurrency).to.equal(8)
    })

    it('ignores variables it does not know', () => {
      expect(loadConfig({ CHRONOS_SOMETHING_ELSE: 'x', PATH: '/usr/bin' })).to.deep.equal(loadConfig({}))
    })
  })

  describe('with a bad value', () => {
    const cases: Array<[string, string]> = [
      ['PORT', '-1'],
      ['PORT', '65536'],
      ['PORT', 'http'],
      ['PORT', '80.5'],
      ['PORT', '8080abc'],
      ['CHRONOS_UPLOAD_IDLE_TIMEOUT_MS', '99'],
      ['CHRONOS_SHUTDOWN_GRACE_MS', '-5'],
      ['CHRONOS_MAX_UPLOAD_BYTES', '0'],
      ['CHRONOS_MAX_UPLOAD_BYTES', '1e300'],
      ['CHRONOS_MAX_UPLOAD_BYTES', '10GB'],
      ['CHRONOS_MAX_LINE_BYTES', '63'],
      ['CHRONOS_MAX_LINE_BYTES', String(64 * MIB + 1)],
      ['CHRONOS_MAX_ACTIVE_JOBS', '0'],
      ['CHRONOS_MAX_IN_FLIGHT', '0'],
      ['CHRONOS_MAX_IN_FLIGHT', '1000001'],
      ['CHRONOS_RESULT_TTL', '0'],
      ['CHRONOS_RESULT_TTL', '7d'],
      ['CHRONOS_OUTCOME_BATCH_SIZE', '0'],
      ['CHRONOS_FLUSH_INTERVAL_MS', '0'],
      ['CHRONOS_CIRCUIT_MAX_OPEN_MS', '10'],
      ['CHRONOS_CONCURRENCY', '0'],
      ['CHRONOS_CONCURRENCY', 'four'],
      ['CHRONOS_MAX_CONCURRENCY', '0'],
      ['CHRONOS_TIMEOUT_MS', '0'],
      ['CHRONOS_MAX_ATTEMPTS', '0'],
      ['CHRONOS_MAX_ATTEMPTS', '11'],
      ['CHRONOS_MAX_ATTEMPTS', 'Infinity'],
      ['CHRONOS_MAX_ATTEMPTS', 'NaN'],
      ['REDIS_URL', 'http://127.0.0.1:6379'],
      ['REDIS_URL', '127.0.0.1:6379'],
      ['CHRONOS_KEY_PREFIX', 'has space'],
      ['CHRONOS_KEY_PREFIX', 'braces{x}'],
      ['CHRONOS_KEY_PREFIX', 'slash/x'],
      ['CHRONOS_REDIS_CLUSTER_NODES', '127.0.0.1'],
      ['CHRONOS_REDIS_CLUSTER_NODES', ':7000'],
      ['CHRONOS_REDIS_CLUSTER_NODES', 'host:0'],
      ['CHRONOS_REDIS_CLUSTER_NODES', 'host:65536'],
      ['CHRONOS_REDIS_CLUSTER_NODES', 'host:70a'],
      ['CHRONOS_REDIS_CLUSTER_NODES', 'redis://host:7000'],
      ['CHRONOS_REDIS_CLUSTER_NODES', '::1:7000'],
      ['CHRONOS_REDIS_CLUSTER_NODES', 'host:7000,other'],
      ['LOG_LEVEL', 'verbose'],
      ['LOG_LEVEL', 'INFO']
    ]
    for (const [name, value] of cases) {
      it(`refuses ${name}=${JSON.stringify(value)} and names the variable`, () => {
        const err = configError({ [name]: value })
        expect(err.problems).to.have.lengthOf(1)
        expect(err.problems[0]).to.include(name)
      })
    }

    it('names each bad CHRONOS_REDIS_CLUSTER_NODES entry in a problem of its own', () => {
      const err = configError({ CHRONOS_REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2,10.0.0.3:99999' })
      expect(err.problems).to.have.lengthOf(2)
      expect(err.problems[0]).to.include('CHRONOS_REDIS_CLUSTER_NODES').and.to.include('"10.0.0.2"')
      expect(err.problems[1]).to.include('"10.0.0.3:99999"')
    })

    it('does not check REDIS_URL when CHRONOS_REDIS_CLUSTER_NODES is set: it is not used then', () => {
      const config = loadConfig({ REDIS_URL: 'localhost', CHRONOS_REDIS_CLUSTER_NODES: '10.0.0.1:7000' })
      expect(config.redis.clusterNodes).to.deep.equal([{ host: '10.0.0.1', port: 7000 }])
      expect(configError({ REDIS_URL: 'localhost' }).problems[0]).to.include('REDIS_URL')
    })

    it('refuses CHRONOS_CONCURRENCY above CHRONOS_MAX_CONCURRENCY', () => {
      const err = configError({ CHRONOS_CONCURRENCY: '300' })
      expect(err.problems).to.have.lengthOf(1)
      expect(err.problems[0]).to.include('CHRONOS_CONCURRENCY').and.to.include('CHRONOS_MAX_CONCURRENCY')
    })

    it('refuses CHRONOS_CONCURRENCY above a lowered CHRONOS_MAX_CONCURRENCY', () => {
      const err = configError({ CHRONOS_CONCURRENCY: '9', CHRONOS_MAX_CONCURRENCY: '8' })
      expect(err.problems).to.have.lengthOf(1)
    })

    // DESIGN §5: "Invalid configuration stops start-up with one clear message listing every
    // problem." A malformed target entry is configuration too; today it passes loadConfig()
    // and either throws a bare RangeError later (createTargetPolicy in buildDeps) or, for
    // "10.0.0.0/", silently becomes 0.0.0.0/0 (see target-policy.spec.ts).
    const badTargets = ['10.0.0.0/33', '10.0.0.0/abc', '10.0.0.0/', '::1/129']
    for (const entry of badTargets) {
      it(`refuses a CHRONOS_ALLOWED_TARGETS entry ${JSON.stringify(entry)} with a bad CIDR prefix`, () => {
        const err = configError({ CHRONOS_ALLOWED_TARGETS: `api.example.com,${entry}` })
        expect(err.problems).to.have.lengthOf(1)
        expect(err.problems[0]).to.include('CHRONOS_ALLOWED_TARGETS')
      })
    }
  })

  describe('with several bad values', () => {
    it('reports every problem together in one ConfigError', () => {
      const err = configError({
        PORT: 'eighty',
        CHRONOS_MAX_ATTEMPTS: '0',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'localhost',
        CHRONOS_KEY_PREFIX: 'a b',
        CHRONOS_MAX_LINE_BYTES: '1'
      })
      expect(err.problems).to.have.lengthOf(6)
      const names = ['PORT', 'CHRONOS_MAX_ATTEMPTS', 'LOG_LEVEL', 'REDIS_URL', 'CHRONOS_KEY_PREFIX', 'CHRONOS_MAX_LINE_BYTES']
      for (const name of names) {
        expect(err.problems.some((problem) => problem.includes(name)), name).to.equal(true)
      }
      for (const problem of err.problems) expect(err.message).to.include(problem)
    })

    it('reports the cross-field check beside the per-field problems', () => {
      const err = configError({ PORT: '-1', CHRONOS_CONCURRENCY: '20', CHRONOS_MAX_CONCURRENCY: '10' })
      expect(err.problems).to.have.lengthOf(2)
    })
  })

  describe('the result', () => {
    it('is frozen at every level', () => {
      const config = loadConfig({ CHRONOS_API_KEYS: 'a,b', CHRONOS_ALLOWED_TARGETS: 'x.example' })
      expect(Object.isFrozen(config)).to.equal(true)
      for (const area of Object.values(config)) expect(Object.isFrozen(area)).to.equal(true)
      expect(Object.isFrozen(config.http.apiKeys)).to.equal(true)
      expect(Object.isFrozen(config.delivery.allowedTargets)).to.equal(true)
      const cluster = loadConfig({ CHRONOS_REDIS_CLUSTER_NODES: '10.0.0.1:7000' })
      expect(Object.isFrozen(cluster.redis.clusterNodes[0])).to.equal(true)
    })

    it('throws on an attempt to change it', () => {
      const config = loadConfig({ CHRONOS_API_KEYS: 'a' })
      expect(() => { (config.http as { port: number }).port = 1 }).to.throw(TypeError)
      expect(() => { (config as { log: unknown }).log = {} }).to.throw(TypeError)
      expect(() => { (config.http.apiKeys as string[]).push('b') }).to.throw(TypeError)
      expect(config.http.port).to.equal(8080)
      expect(config.http.apiKeys).to.deep.equal(['a'])
    })

    it('is a new object per call', () => {
      expect(loadConfig({})).not.to.equal(loadConfig({}))
    })
  })
})
