// How a `qx` process ends: every failure one line on stderr ("qx: …", the server's own sentence
// for an API error) and exit code 1.
export function runCli(main: (argv: string[]) => Promise<void>, argv = process.argv.slice(2)): void {
  main(argv).then(
    () => {
      process.exitCode ??= 0;
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`qx: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
