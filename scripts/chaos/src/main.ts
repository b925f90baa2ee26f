// `pnpm chaos [flags]`: the burst with faults injected, scenario by scenario, verified. See --help.
// Exit code 0: every invariant held; 1: a violation; 2: bad flags, or the run itself failed.
import { runCli } from '@coupons/harness/cli';
import { parseChaosArgs, USAGE } from './cli-args.ts';
import { runChaos } from './run-chaos.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { formatReport } from './table.ts';

await runCli({
  tool: 'chaos',
  usage: USAGE,
  parse: (argv) => parseChaosArgs(argv, SCENARIOS.map((s) => s.id)),
  interruptMessage: 'stopping the scenario and tearing it down',
  run: runChaos,
  format: formatReport,
  exitCode: (report) => (report.ok ? 0 : 1),
  failure: { show: 'stack', exitCode: 2 },
});
