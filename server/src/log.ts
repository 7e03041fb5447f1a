// Structured logging to stderr: one JSON line per event.
type Fields = Record<string, unknown>;

function write(level: string, msg: string, fields: Fields = {}): void {
  if (process.env.QX_LOG === 'silent') return;
  process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields })}\n`);
}

export const log = {
  info: (msg: string, f?: Fields) => write('info', msg, f),
  warn: (msg: string, f?: Fields) => write('warn', msg, f),
  error: (msg: string, f?: Fields) => write('error', msg, f),
};
