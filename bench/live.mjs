// The subscribers of bench/run.py's `live` scenario: opens SUBSCRIBERS subscriptions to QUERY at
// GATEWAY_URL, half over graphql-sse (a POST read as an event stream) and half over
// graphql-transport-ws (the `ws` package), each caller token in TOKENS holding as many as the
// gateway's per-caller limit allows; waits for every first answer, prints `ready`, then on a line
// `go` from standard input notes when each subscriber's next answer arrives and prints the
// figures as JSON. Events are counted, not parsed, so the figures are the gateway's.
// Needs tests/clients' node_modules (`npm ci --prefix tests/clients`).
import http from 'node:http';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../tests/clients/package.json', import.meta.url));
const WebSocket = require('ws');

const url = new URL(process.env.GATEWAY_URL);
const tokens = JSON.parse(process.env.TOKENS);
const count = Number(process.env.SUBSCRIBERS);
const body = JSON.stringify({ query: process.env.QUERY });
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

const firstSeen = [];
const changedAt = new Array(count).fill(null);
let armed = false;

function seen(index) {
  if (firstSeen[index] === undefined) {
    firstSeen[index] = performance.now();
  } else if (armed && changedAt[index] === null) {
    changedAt[index] = performance.now();
  }
}

function sse(index, token) {
  const request = http.request(url, {
    method: 'POST',
    agent,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'content-length': Buffer.byteLength(body),
    },
  });
  request.on('response', (response) => {
    if (response.statusCode !== 200) throw new Error(`SSE refused: ${response.statusCode}`);
    let tail = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      const text = tail + chunk;
      let at = text.indexOf('event: next');
      while (at !== -1) {
        seen(index);
        at = text.indexOf('event: next', at + 1);
      }
      tail = text.slice(-16);
    });
  });
  request.end(body);
}

function ws(index, token) {
  const socket = new WebSocket(url.href.replace(/^http/, 'ws'), 'graphql-transport-ws');
  socket.on('open', () => {
    socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
  });
  socket.on('message', (data) => {
    const text = data.toString();
    if (text.startsWith('{"type":"next"')) return seen(index);
    if (text === '{"type":"connection_ack"}') {
      return socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: JSON.parse(body) }));
    }
    if (text === '{"type":"ping"}') return socket.send('{"type":"pong"}');
    throw new Error(`unexpected: ${text.slice(0, 200)}`);
  });
  socket.on('error', (error) => {
    throw error;
  });
}

const perToken = Math.ceil(count / tokens.length);
for (let index = 0; index < count; index += 1) {
  const token = tokens[Math.floor(index / perToken)];
  (index % 2 === 0 ? sse : ws)(index, token);
}
const started = performance.now();
while (firstSeen.filter((at) => at !== undefined).length < count) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  if (performance.now() - started > 120_000) throw new Error('not every subscriber got its first answer');
}
console.log(JSON.stringify({ ready: performance.now() - started }));
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== 'go') continue;
  const go = performance.now();
  armed = true;
  while (changedAt.some((at) => at === null)) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (performance.now() - go > 120_000) throw new Error('not every subscriber got the change');
  }
  const times = changedAt.map((at) => at - go).sort((a, b) => a - b);
  console.log(JSON.stringify({ first: times[0], median: times[Math.floor(count / 2)], last: times[count - 1] }));
  process.exit(0);
}
