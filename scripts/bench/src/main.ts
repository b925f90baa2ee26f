// `pnpm bench [flags]`: this system beside its references, as ratios. See --help.
// Exit code 0: the run finished (missed targets are reported, not failed: these are benchmarks);
// 1: a phase could not run; 2: bad flags.
import { runCli } from '@coupons/harness/cli';
import { parseBenchArgs, USAGE } from './cli-args.ts';
import { formatReport } from './report.ts';
import { runBench } from './run-bench.ts';

const started = Date.now();

await runCli({
  tool: 'bench',
  usage: USAGE,
  parse: parseBenchArgs,
  logPrefix: () => `bench [${((Date.now() - started) / 1000).toFixed(1)} s]`,
  interruptMessage: 'stopping the load, the processes, and removing the databases and keys',
  run: (options, context) => runBench({ options, ...context }),
  format: formatReport,
  exitCode: () => 0,
  failure: { show: 'stack', exitCode: 1 },
});
