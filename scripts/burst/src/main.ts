// `pnpm burst [flags]`: the coupon event simulated, verified and reported. See --help.
// Exit code 0: every invariant held; 1: one failed; 2: bad flags or the target could not be used.
import { runCli } from '@coupons/harness/cli';
import { parseBurstArgs, USAGE } from './cli-args.ts';
import { formatReport } from './report.ts';
import { runBurst } from './run-burst.ts';
import { runWithLinearity } from './linearity.ts';

await runCli({
  tool: 'burst',
  usage: USAGE,
  parse: parseBurstArgs,
  interruptMessage: 'stopping the load and tearing down',
  run: (options, hooks) => (options.linearity ? runWithLinearity(options, hooks, runBurst) : runBurst(options, hooks)),
  format: formatReport,
  exitCode: (report) => (report.verdict.ok && (report.linearity?.small.ok ?? true) ? 0 : 1),
  failure: { show: 'message', exitCode: 2 },
});
