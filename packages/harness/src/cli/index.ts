// The tools' one CLI skeleton (burst, chaos, bench, cluster): flags, main, teardown, progress line.
export { runCli, parseCommandLine, onFirstSignal, type Cli, type CliContext, type CommandLine } from './run-cli.ts';
export { UsageError, readFlags, wholeNumber, commaList, authMode, AUTH_FLAG_USAGE } from './usage.ts';
export { Teardown } from './teardown.ts';
export { startProgress, formatCount, type ProgressTicker } from './progress.ts';
