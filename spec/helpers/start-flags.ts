// The node flags of `npm start` (package.json), read where the tests need them: the
// processes spec/helpers/chronos-process.ts starts run with them, as production does, and
// spec/unit/start-flags.spec.ts checks the Dockerfile passes the same.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url))

/** `npm start` split into words: `node`, its flags, the entry point. */
export async function npmStartCommand (): Promise<string[]> {
  const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } }
  return pkg.scripts.start.trim().split(/\s+/)
}

/** The flags alone (`--name` or `--name=value` words). */
export async function npmStartFlags (): Promise<string[]> {
  return (await npmStartCommand()).filter((word) => word.startsWith('--'))
}
