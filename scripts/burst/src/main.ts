// `pnpm burst [flags]`: the coupon event simulated, verified and reported. See --help.
// Exit code 0: every invariant held; 1: one failed; 2: bad flags or the target could not be used.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseBurstArgs, USAGE, UsageError, type BurstOptions } from './cli-args.ts';
import { startProgress } from './progress.ts';
import { formatReport } from './report.ts';
import { runBurst } from './run-burst.ts';

const log = (line: string) => process.stderr.write(`burst: ${line}\n`);

let options: BurstOptions | 'help';
try {
  options = parseBurstArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`burst: ${error.message}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const progress = startProgress();
const undoOnInterrupt: (() => unknown)[] = [];
let interrupted = false;
const interrupt = async (signal: NodeJS.Signals) => {
  if (interrupted) return; // a second Ctrl-C while tearing down changes nothing
  interrupted = true;
  progress.stop();
  log(`${signal}: stopping the load and tearing down`);
  // Last registered first: stop the load before the cluster goes.
  for (const undo of undoOnInterrupt.reverse()) await Promise.resolve(undo()).catch(() => {});
  process.exit(130);
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

try {
  const report = await runBurst(options, { log, progress, onInterrupt: (undo) => undoOnInterrupt.push(undo) });
  process.stdout.write(formatReport(report));
  if (options.jsonFile) {
    // `pnpm burst` runs in the repository root; a relative path means where the user typed it.
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), options.jsonFile);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`report written to ${file}`);
  }
  process.exit(report.verdict.ok ? 0 : 1);
} catch (error) {
  if (interrupted) await new Promise(() => {}); // the interrupt handler exits
  progress.stop();
  log(`failed: ${(error as Error).message}`);
  process.exit(2);
}
