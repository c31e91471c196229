#!/usr/bin/env node
// The `chronos` CLI (package.json "bin"). In a checkout it runs the TypeScript source through
// tsx (a devDependency), so `npx chronos` works without a build; in the image, where lib/ and
// tsx are absent, it runs the compiled dist/lib/cli/main.js.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = new URL('../lib/cli/main.ts', import.meta.url)
const built = new URL('../dist/lib/cli/main.js', import.meta.url)

async function tsxRegister () {
  try {
    const { register } = await import('tsx/esm/api')
    register()
    return true
  } catch {
    return false
  }
}

if (existsSync(fileURLToPath(source)) && await tsxRegister()) {
  await import(source.href)
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  process.stderr.write('chronos: neither lib/cli/main.ts with tsx nor dist/lib/cli/main.js is here: run `npm ci && npm run build`\n')
  process.exitCode = 1
}
