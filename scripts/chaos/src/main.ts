// `pnpm chaos [flags]`: the burst with faults injected, scenario by scenario, verified. See --help.
// Exit code 0: every invariant held; 1: a violation; 2: bad flags, or the run itself failed.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseChaosArgs, USAGE, UsageError, type ChaosOptions } from './cli-args.ts';
import { runChaos } from './run-chaos.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { formatReport } from './table.ts';

const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);

let options: ChaosOptions | 'help';
try {
  options = parseChaosArgs(process.argv.slice(2), SCENARIOS.map((s) => s.id));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`chaos: ${error.message}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

let undoOnInterrupt: () => Promise<void> = async () => {};
let interrupted = false;
const interrupt = async (signal: NodeJS.Signals) => {
  if (interrupted) return; // a second Ctrl-C while tearing down changes nothing
  interrupted = true;
  log(`${signal}: stopping the scenario and tearing it down`);
  await undoOnInterrupt().catch(() => {});
  process.exit(130);
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

try {
  const report = await runChaos(options, { log, onInterrupt: (undo) => (undoOnInterrupt = undo) });
  process.stdout.write(formatReport(report));
  if (options.jsonFile) {
    // `pnpm chaos` runs in the repository root; a relative path means where the user typed it.
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), options.jsonFile);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`report written to ${file}`);
  }
  process.exit(report.ok ? 0 : 1);
} catch (error) {
  if (interrupted) await new Promise(() => {}); // the interrupt handler exits
  log(`failed: ${(error as Error).stack ?? error}`);
  process.exit(2);
}
