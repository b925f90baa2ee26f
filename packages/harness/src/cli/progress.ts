// Progress on stderr at least once a second, so a long run (burst, bench) never looks hung. On a terminal the
// line is rewritten in place; elsewhere (CI logs) each tick is its own line.

export interface ProgressTicker {
  /** Prints `line()` now and then every second, until the next `phase` or `stop`. */
  phase(line: () => string): void;
  stop(): void;
}

export function startProgress(stream: NodeJS.WriteStream = process.stderr): ProgressTicker {
  const tty = stream.isTTY === true;
  let timer: NodeJS.Timeout | null = null;
  let current: (() => string) | null = null;
  const print = (final: boolean) => {
    if (!current) return;
    const text = `  ${current()}`;
    stream.write(tty ? `\r\x1b[K${text}${final ? '\n' : ''}` : `${text}\n`);
  };
  const stop = () => {
    print(true);
    if (timer) clearInterval(timer);
    timer = null;
    current = null;
  };
  return {
    phase(line) {
      stop();
      current = line;
      print(false);
      timer = setInterval(() => print(false), 1_000);
    },
    stop,
  };
}

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');
