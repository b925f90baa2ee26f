// `pnpm bench [flags]`: this system beside its references, as ratios. See --help.
// Exit code 0: the run finished (missed targets are reported, not failed: these are benchmarks);
// 1: a phase could not run; 2: bad flags.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startProgress } from '@coupons/burst/progress';
import { parseBenchArgs, USAGE, UsageError, type BenchOptions } from './cli-args.ts';
import { formatReport } from './report.ts';
import { runBench } from './run-bench.ts';
import { Teardown } from './teardown.ts';

const started = Date.now();
const log = (line: string) => process.stderr.write(`bench [${((Date.now() - started) / 1000).toFixed(1)} s]: ${line}\n`);

let options: BenchOptions | 'help';
try {
  options = parseBenchArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  log(error.message);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const progress = startProgress();
const teardown = new Teardown();
let interrupted = false;
const interrupt = async (signal: NodeJS.Signals) => {
  if (interrupted) return; // a second Ctrl-C while tearing down changes nothing
  interrupted = true;
  progress.stop();
  log(`${signal}: stopping the load, the processes, and removing the databases and keys`);
  await teardown.runAll();
  process.exit(130);
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

try {
  const report = await runBench({ options, log, progress, teardown });
  process.stdout.write(formatReport(report));
  if (options.jsonFile) {
    // `pnpm bench` runs in the repository root; a relative path means where the user typed it.
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), options.jsonFile);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`report written to ${file}`);
  }
  process.exit(0);
} catch (error) {
  if (interrupted) await new Promise(() => {}); // the interrupt handler exits
  progress.stop();
  log(`failed: ${(error as Error).stack ?? (error as Error).message}`);
  await teardown.runAll();
  process.exit(1);
}
