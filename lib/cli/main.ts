/**
 * `chronos`: the command line for Chronos (DESIGN §9). Commands, flags and exit codes are a
 * contract: 0 ok (a followed job completed without failed records), 2 completed with failed
 * records, 3 cancelled or failed, 1 usage, network or API error (code, message and details
 * on stderr), 130 Ctrl-C while following (the job keeps running). Argument parsing is
 * commander's; this file only wires commands to their modules.
 */
import { Command, Option } from 'commander'
import { VERSION } from '../version.js'
import { ApiClient, ApiError } from './api-client.js'
import { cliConfig, DEFAULT_URL, type CliConfig } from './cli-config.js'
import { followJob } from './follow.js'
import { act, jobs, results, retryFailed, status, type Action } from './job-commands.js'
import { submit } from './submit.js'
import { EXIT } from './summary.js'

type Run = (client: ApiClient, config: CliConfig) => Promise<number>

export function createProgram (): Command {
  const program = new Command('chronos')
    .description('Push huge NDJSON batches through Chronos and watch them run.')
    .version(VERSION)
    .addOption(new Option('--url <url>', `Chronos server (env CHRONOS_URL, default ${DEFAULT_URL})`))
    .addOption(new Option('--api-key <key>', 'API key (env CHRONOS_API_KEY)'))
    .showHelpAfterError()

  /** Runs a command with the global options resolved; sets the exit code, prints API errors. */
  const run = (command: Command, body: Run): Promise<void> => {
    const config = cliConfig(command.optsWithGlobals<{ url?: string, apiKey?: string }>())
    return body(new ApiClient(config), config).then((code) => { process.exitCode = code }, (err: unknown) => {
      printError(err)
      process.exitCode = EXIT.error
    })
  }

  program.command('submit').argument('<file>', 'an .ndjson, .jsonl, .json or .gz file, or - for stdin')
    .description('upload a job; prints its id')
    .option('-f, --follow', 'follow the job to its end with a live progress bar')
    .option('--dry-run', 'validate the upload and check the target; send nothing')
    .action(async (file: string, options: { follow?: boolean, dryRun?: boolean }, command: Command) =>
      await run(command, async (client, config) => await submit(client, file, options, config.isTty)))
  program.command('status').argument('<key>', 'a job id, or a primarykey (its latest job)')
    .description('show a job\'s status').option('--json', 'print the status object as JSON')
    .action(async (key: string, options: { json?: boolean }, command: Command) =>
      await run(command, async (client) => await status(client, key, options)))
  program.command('jobs').description('list your jobs, newest first')
    .option('--state <state>', 'only jobs in this state').option('--primarykey <key>', 'only jobs of this primarykey')
    .option('--limit <n>', 'page size (1-100)').option('--cursor <cursor>', 'the next page, as printed after the list')
    .option('--json', 'print the page as JSON')
    .action(async (options: Record<string, string>, command: Command) => await run(command, async (client) => await jobs(client, options)))
  program.command('watch').argument('<job>').description('follow a job to its end (exit code as submit --follow)')
    .action(async (job: string, _options: unknown, command: Command) =>
      await run(command, async (client, config) => await followJob(client, job, config.isTty)))
  program.command('results').argument('<job>').description('per-record results as NDJSON')
    .option('--failed', 'only the failed records')
    .option('-o, --out <file>', 'write to a file instead of stdout; with --failed, the failed records themselves as an upload to fix and submit again')
    .action(async (job: string, options: { failed?: boolean, out?: string }, command: Command) =>
      await run(command, async (client) => await results(client, job, options)))
  for (const action of ['cancel', 'pause', 'resume'] as Action[]) {
    program.command(action).argument('<job>').description(`${action} a job`)
      .action(async (job: string, _options: unknown, command: Command) => await run(command, async (client) => await act(client, action, job)))
  }
  program.command('retry-failed').argument('<job>').description('send a finished job\'s failed records again, as a new job')
    .action(async (job: string, _options: unknown, command: Command) => await run(command, async (client) => await retryFailed(client, job)))
  return program
}

function printError (err: unknown): void {
  if (err instanceof ApiError) {
    const status = err.status === null ? '' : ` (HTTP ${err.status})`
    process.stderr.write(`chronos: ${err.code}${status}: ${err.message}\n`)
    if (!err.areDetailsShown) for (const detail of err.details) process.stderr.write(`  ${JSON.stringify(detail)}\n`)
  } else {
    process.stderr.write(`chronos: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}

await createProgram().parseAsync(process.argv)
