// ESLint flat config, kept in scripts/ because the top level is fixed (STYLE.md, Tooling).
// Run as `eslint --config scripts/eslint.config.js .`; paths below are relative to the cwd.
import neostandard from 'neostandard'

export default [
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.redis/'] },
  ...neostandard({ ts: true }),
  {
    name: 'chronos/node',
    rules: {
      'n/prefer-node-protocol': 'error',
      // Only the entry point decides when the process ends (STYLE.md, layout: main.ts).
      'n/no-process-exit': 'error',
      // Config is read once, in lib/config.ts (house rule 6).
      'n/no-process-env': 'error',
    },
  },
  {
    name: 'chronos/process-exit-allowed',
    files: ['lib/main.ts', 'scripts/**'],
    rules: { 'n/no-process-exit': 'off' },
  },
  {
    name: 'chronos/process-env-allowed',
    // lib/cli/cli-config.ts is the CLI's own config.ts: the one file of it that reads CHRONOS_URL/CHRONOS_API_KEY.
    files: ['lib/config.ts', 'lib/cli/cli-config.ts', 'spec/**', 'scripts/**'],
    rules: { 'n/no-process-env': 'off' },
  },
]
