/**
 * Entry point: loadConfig → createLogger → startService → signals. The only file that
 * exits the process. A bad environment prints every problem at once and exits 1.
 */
import { loadConfig, type Config } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { startService } from './service.js'

async function main (): Promise<void> {
  let config: Readonly<Config>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chronos: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const log = createLogger(config.log)
  const service = await startService(config, log)

  let isStopping = false
  const stop = (signal: string): void => {
    if (isStopping) return
    isStopping = true
    log.info({ signal }, 'shutting down')
    service.stop().then(() => {
      log.info('shutdown complete')
      process.exit(0)
    }, (err: unknown) => {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err: unknown) => {
  process.stderr.write(`chronos: failed to start: ${String((err as Error).stack ?? err)}\n`)
  process.exit(1)
})
