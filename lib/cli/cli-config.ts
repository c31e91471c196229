/**
 * The CLI's settings: flags first, then CHRONOS_URL and CHRONOS_API_KEY (DESIGN §9). The one
 * CLI file that reads the environment (scripts/eslint.config.js allows it here only), as
 * lib/config.ts is for the server.
 */
export const DEFAULT_URL = 'http://127.0.0.1:8080'

export interface CliConfig {
  /** The server's origin, without a trailing slash. */
  readonly url: string
  /** Sent as `Authorization: Bearer <key>`; '' sends none. */
  readonly apiKey: string
  /** Whether stdout is a terminal: a live bar there, plain lines elsewhere. */
  readonly isTty: boolean
}

export function cliConfig (flags: { url?: string | undefined, apiKey?: string | undefined }, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const url = flags.url ?? env.CHRONOS_URL ?? DEFAULT_URL
  return {
    url: url.replace(/\/+$/, ''),
    apiKey: flags.apiKey ?? env.CHRONOS_API_KEY ?? '',
    isTty: process.stdout.isTTY === true && env.CHRONOS_NO_TTY === undefined
  }
}
