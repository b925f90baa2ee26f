// What a tool must undo (child processes, environments, a running load): each undone when its
// owner is done with it and, for whatever is still there, on Ctrl-C or a failed run (runCli).

export class Teardown {
  private readonly undos = new Set<() => Promise<void>>();
  private closed = false;

  /**
   * Registers `undo` and returns a function that runs it once and forgets it. After `runAll`
   * (Ctrl-C) anything registered late, such as an environment whose creation was in flight,
   * is undone at once.
   */
  add(undo: () => unknown): () => Promise<void> {
    let done: Promise<void> | null = null;
    const once = () => {
      this.undos.delete(once);
      return (done ??= Promise.resolve().then(undo).then(() => {}, () => {}));
    };
    this.undos.add(once);
    if (this.closed) void once();
    return once;
  }

  /** Undoes everything still registered, latest first (stop the load before the servers go). */
  async runAll(): Promise<void> {
    this.closed = true;
    for (const undo of [...this.undos].reverse()) await undo();
  }
}
