// Loaded with --import in every test process (and in CLI processes the tests spawn, through
// NODE_OPTIONS): refuses any TCP connection or UDP datagram to an address outside
// 127.0.0.0/8 and ::1, so that a test can never reach the Internet by accident. A refused
// attempt throws with a message naming the address.
import net from 'node:net';
import dgram from 'node:dgram';

function loopback(host) {
  if (host === undefined || host === null || host === '' || host === 'localhost') return true;
  const h = String(host)
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:/i, '');
  return /^127\./.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1';
}

function fail(host, port) {
  const err = new Error(`network fence: a test tried to reach ${host}:${port}; tests may only use loopback`);
  err.code = 'EFENCE';
  return err;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect() and tls.connect() call socket.connect() with the normalised [options, cb]
  // array as the first argument.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let port;
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path) return connect.apply(this, args);
    host = first.host;
    port = first.port;
  } else if (typeof first === 'number' || /^\d+$/.test(String(first))) {
    port = first;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  } else {
    return connect.apply(this, args);
  }
  if (!loopback(host)) {
    const err = fail(host, port);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};

const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (msg, ...rest) {
  // send(msg, [offset, length,] port [, address] [, callback])
  const args = [msg, ...rest];
  const nums = args.slice(1).filter((a) => typeof a === 'number');
  const address = args.slice(1).find((a) => typeof a === 'string');
  if (address !== undefined && !loopback(address)) {
    const cb = args.find((a, i) => i > 0 && typeof a === 'function');
    const err = fail(address, nums.at(-1));
    if (cb) process.nextTick(() => cb(err));
    else process.nextTick(() => this.emit('error', err));
    return;
  }
  return send.apply(this, args);
};
