// HTTP/1.1 over a bare socket, for requests node:http refuses to send: header values with UTF-8
// or control bytes, folded lines, a header over the parser's limit. Loopback only.
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/**
 * Sends `GET path` to `url`'s host with `headerLines` (strings or Buffers, without CRLF) and
 * resolves with { status, headers, body (parsed when JSON), text } once the server closes or answers in full. Bounded by
 * `timeoutMs`.
 */
export function rawGet(url, path, headerLines, { timeoutMs = 5000 } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw GET ${path} timed out`));
    }, timeoutMs);
    socket.on('connect', () => {
      const lines = [Buffer.from(`GET ${path} HTTP/1.1`), Buffer.from(`Host: ${hostname}:${port}`), ...headerLines.map((l) => (Buffer.isBuffer(l) ? l : Buffer.from(l, 'latin1'))), Buffer.from('Connection: close')];
      const crlf = Buffer.from('\r\n');
      // write, not end: a half-closed socket makes node's server abort a request whose answer
      // is asynchronous. `Connection: close` ends the exchange after the answer.
      socket.write(Buffer.concat([...lines.flatMap((line) => [line, crlf]), crlf]));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const [statusLine = '', ...headerText] = head.split('\r\n');
      const headers = {};
      for (const line of headerText) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = split === -1 ? '' : text.slice(split + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
      try {
        body = JSON.parse(body);
      } catch {
        // not JSON: kept as text
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, text });
    });
  });
}

function dechunk(body) {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol === -1) return out;
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
export async function blackHole() {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
