// Server entry point.
import { createApp } from './app.js';

const [host, port] = (process.env.QX_SERVER_LISTEN ?? '127.0.0.1:8443').split(':');
createApp().listen(Number(port), host, () => {
  process.stderr.write(`quantix server on http://${host}:${port}/\n`);
});
