// The skeleton of every tool's main.ts: flags (or --help, or one line and exit 2), a log on stderr
// prefixed with the tool's name, one teardown on the first SIGINT/SIGTERM (exit 130), the report
// on stdout (and as JSON with --json FILE), and the exit code the tool's outcome says.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startProgress, type ProgressTicker } from './progress.ts';
import { Teardown } from './teardown.ts';
import { UsageError } from './usage.ts';

type Log = (line: string) => void;

export interface CommandLine<O> {
  /** Names the tool in every line it prints: `burst: ...`. */
  tool: string;
  /** The --help text. */
  usage: string;
  /** Parses argv (without node and the script); throws UsageError with one line on anything wrong. */
  parse(argv: readonly string[]): O | 'help';
  /** Where a line goes; default stderr, prefixed `<tool>: `. */
  log?: Log;
  /** Print the usage on stderr after a usage error, too. */
  usageOnError?: boolean;
}

/** A log on stderr, each line prefixed with `prefix()` (the tool's name, maybe more). */
const stderrLog =
  (prefix: () => string): Log =>
  (line) =>
    process.stderr.write(`${prefix()}: ${line}\n`);

/**
 * The options argv asks for. --help prints the usage on stdout and exits 0; a UsageError is
 * printed as one line (`<tool>: <message>`) on stderr and exits 2.
 */
export function parseCommandLine<O>(cli: CommandLine<O>, argv: readonly string[] = process.argv.slice(2)): O {
  const log = cli.log ?? stderrLog(() => cli.tool);
  let options: O | 'help';
  try {
    options = cli.parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(error.message);
    if (cli.usageOnError) process.stderr.write(`${cli.usage}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${cli.usage}\n`);
    process.exit(0);
  }
  return options;
}

/**
 * Calls `handle` on the first SIGINT or SIGTERM. Ctrl-C reaches a tool more than once (from the
 * terminal, and relayed by pnpm and tsx): every signal after the first is the same request.
 */
export function onFirstSignal(handle: (signal: NodeJS.Signals) => unknown): void {
  let signalled = false;
  const once = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    void handle(signal);
  };
  process.on('SIGINT', once);
  process.on('SIGTERM', once);
}

/** Writes `report` as JSON to `file`, relative to where the user typed the command (pnpm runs tools in the repository root). */
async function writeJsonReport(file: string, report: unknown, log: Log): Promise<void> {
  const path = resolve(process.env.INIT_CWD ?? process.cwd(), file);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  log(`report written to ${path}`);
}

/** What a run gets: the log, the progress line on stderr, and what to undo on Ctrl-C or failure. */
export interface CliContext {
  log: Log;
  progress: ProgressTicker;
  teardown: Teardown;
}

export interface Cli<O extends { jsonFile: string | null }, R> extends Omit<CommandLine<O>, 'log'> {
  /** The log line's prefix (default: the tool's name). */
  logPrefix?: () => string;
  /** Logged after `SIGINT: ` while everything registered with the teardown is undone. */
  interruptMessage: string;
  run(options: O, context: CliContext): Promise<R>;
  /** The report, for stdout. */
  format(report: R): string;
  /** The exit code of a finished run (0, or 1 for a failed invariant). */
  exitCode(report: R): number;
  /** When `run` throws: whether the log shows the stack or only the message, and the exit code. */
  failure: { show: 'stack' | 'message'; exitCode: number };
}

/**
 * A tool's whole main: parse argv, run, print the report (and write it with --json FILE), exit.
 * The first SIGINT/SIGTERM stops the progress line, undoes everything registered with the
 * teardown (latest first) and exits 130; a failed run is logged, undone, and exits `failure.exitCode`.
 */
export async function runCli<O extends { jsonFile: string | null }, R>(cli: Cli<O, R>, argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const log = stderrLog(cli.logPrefix ?? (() => cli.tool));
  const options = parseCommandLine({ ...cli, log }, argv);

  const progress = startProgress();
  const teardown = new Teardown();
  let interrupted = false;
  onFirstSignal(async (signal) => {
    interrupted = true;
    progress.stop();
    log(`${signal}: ${cli.interruptMessage}`);
    await teardown.runAll();
    process.exit(130);
  });

  try {
    const report = await cli.run(options, { log, progress, teardown });
    process.stdout.write(cli.format(report));
    if (options.jsonFile) await writeJsonReport(options.jsonFile, report, log);
    // What is still registered (embedded servers started for the run) stops cleanly before the exit.
    await teardown.runAll();
    process.exit(cli.exitCode(report));
  } catch (error) {
    if (interrupted) await new Promise(() => {}); // the signal handler exits
    progress.stop();
    const detail = error instanceof Error ? (cli.failure.show === 'stack' ? (error.stack ?? error.message) : error.message) : String(error);
    log(`failed: ${detail}`);
    await teardown.runAll();
    process.exit(cli.failure.exitCode);
  }
}
