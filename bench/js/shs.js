#!/usr/bin/env node
// shs.js measures JavaScript multiserver over net~shs, for the Go benchmark
// suite (bench/). It uses the npm packages that interop/js installs
// (`npm ci --prefix interop/js`), so it needs no install of its own.
//
//   node shs.js server
//   node shs.js client --addr=ADDR --measure=throughput|conns|rtt [--seconds=S] [--workers=N]
//
// The server listens on a free port on 127.0.0.1 and prints its address,
// ms.stringify('device'), as its first stdout line; it runs until killed.
// It speaks the suite's stream protocol (bench/proto.go): a first byte 'e'
// echoes the rest of the stream; 's' and a uint64be N reads N bytes and
// answers 'k', then reads the next command.
//
// The client runs one measure for about S seconds (default 1) after a
// warm-up and prints one JSON line: {"throughput": MB/s} (10^6 bytes),
// {"conns": per second} (connect + handshake + 1-byte echo + close), or
// {"p50": µs, "p99": µs} (64-byte messages echoed one at a time).
'use strict'
const net = require('net')
const path = require('path')

const modules = path.join(__dirname, '..', '..', 'interop', 'js', 'node_modules')
const need = (name) => require(path.join(modules, name))
const MultiServer = need('multiserver')
const Net = need('multiserver/plugins/net')
const Shs = need('multiserver/plugins/shs')
const chloride = need('chloride')
const pull = need('pull-stream')
const Pushable = need('pull-pushable')

// Go sets TCP_NODELAY on every TCP socket; Node does not, and a box
// stream writes a frame's header and body separately, so with Nagle's
// algorithm every small message would wait for a delayed ACK (about 40 ms
// on Linux). The net plugin offers no option for it, so set it here on
// every socket, to measure the implementation rather than Nagle.
const connect = net.connect
net.connect = (...args) => connect(...args).setNoDelay(true)
const createServer = net.createServer
net.createServer = (opts, listener) => createServer({ ...opts, noDelay: true }, listener)

const appKey = Buffer.alloc(32) // the Go rows' app key too
const CHUNK = 64 * 1024
const zeros = Buffer.alloc(CHUNK)

function fail(err) {
  console.error('shs.js: ' + String((err && err.message) || err).replace(/\s*\n\s*/g, ' '))
  process.exit(1)
}

function parseArgs(argv, defaults) {
  const opts = Object.assign({}, defaults)
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a)
    if (!m || !(m[1] in defaults)) fail('unknown argument ' + JSON.stringify(a))
    opts[m[1]] = m[2]
  }
  return opts
}

function shs(keys) {
  return Shs({ keys, appKey, auth: (id, cb) => cb(null, true), timeout: 10000 })
}

// server ------------------------------------------------------------------

function server() {
  const keys = chloride.crypto_sign_keypair()
  // multiserver's net plug takes port 0 to mean "pick a random one", so ask
  // the kernel for a free port first.
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => {
      const ms = MultiServer([[Net({ host: '127.0.0.1', port }), shs(keys)]])
      ms.server(serveStream, () => {}, (err) => {
        if (err) fail(err)
        process.stdout.write(ms.stringify('device') + '\n')
      })
    })
  })
}

// serveStream runs the suite's protocol on one stream.
function serveStream(stream) {
  const out = Pushable()
  pull(out, stream.sink)
  let state = 'cmd'
  let hdr = Buffer.alloc(0)
  let left = 0
  pull(
    stream.source,
    pull.drain(
      (buf) => {
        let off = 0
        while (off < buf.length) {
          if (state === 'cmd') {
            const c = buf[off++]
            if (c === 0x65) state = 'echo'
            else if (c === 0x73) { state = 'len'; hdr = Buffer.alloc(0) }
            else return false // an unknown command ends the stream
          } else if (state === 'echo') {
            out.push(Buffer.from(buf.subarray(off)))
            off = buf.length
          } else if (state === 'len') {
            const take = Math.min(8 - hdr.length, buf.length - off)
            hdr = Buffer.concat([hdr, buf.subarray(off, off + take)])
            off += take
            if (hdr.length === 8) {
              left = Number(hdr.readBigUInt64BE(0))
              state = 'sink'
              if (left === 0) { out.push(Buffer.from('k')); state = 'cmd' }
            }
          } else {
            const take = Math.min(left, buf.length - off)
            left -= take
            off += take
            if (left === 0) { out.push(Buffer.from('k')); state = 'cmd' }
          }
        }
      },
      () => out.end()
    )
  )
}

// client ------------------------------------------------------------------

// A Conn wraps a client stream: send queues bytes (a Buffer, or a count of
// zero bytes sent in CHUNK pieces as the socket drains), onData receives.
class Conn {
  constructor(stream) {
    this.queue = []
    this.pending = null // the sink's read callback, waiting for data
    this.ended = false
    this.onData = () => {}
    this.onEnd = () => {}
    stream.sink((abort, cb) => {
      if (abort) return cb(abort)
      this.pending = cb
      this.flush()
    })
    pull(stream.source, pull.drain((buf) => this.onData(buf), (err) => this.onEnd(err === true ? null : err)))
  }

  flush() {
    if (!this.pending) return
    if (this.queue.length === 0) {
      if (this.ended) { const cb = this.pending; this.pending = null; cb(true) }
      return
    }
    const head = this.queue[0]
    let chunk
    if (Buffer.isBuffer(head)) {
      chunk = head
      this.queue.shift()
    } else {
      const n = Math.min(head.left, CHUNK)
      chunk = n === CHUNK ? zeros : zeros.subarray(0, n)
      head.left -= n
      if (head.left === 0) this.queue.shift()
    }
    const cb = this.pending
    this.pending = null
    cb(null, chunk)
  }

  send(item) { this.queue.push(item); this.flush() }
  end() { this.ended = true; this.flush() }
}

function dial(ms, addr) {
  return new Promise((resolve, reject) => {
    ms.client(addr, (err, stream) => (err ? reject(err) : resolve(new Conn(stream))))
  })
}

// sink sends n bytes with the sink command and resolves on the ack.
function sink(c, n) {
  return new Promise((resolve, reject) => {
    const hdr = Buffer.alloc(9)
    hdr[0] = 0x73
    hdr.writeBigUInt64BE(BigInt(n), 1)
    c.onData = (buf) => (buf[0] === 0x6b ? resolve() : reject(new Error('not the ack')))
    c.onEnd = (err) => reject(err || new Error('stream ended before the ack'))
    c.send(hdr)
    c.send({ left: n })
  })
}

// read resolves once n bytes have arrived.
function read(c, n) {
  return new Promise((resolve, reject) => {
    let got = 0
    c.onData = (buf) => { got += buf.length; if (got >= n) resolve() }
    c.onEnd = (err) => reject(err || new Error('stream ended early'))
  })
}

const now = () => Number(process.hrtime.bigint()) / 1e9

async function throughput(ms, addr, seconds) {
  const c = await dial(ms, addr)
  let n = 1 << 20
  let took
  for (;;) {
    const t = now()
    await sink(c, n)
    took = now() - t
    if (took >= seconds / 8 || n >= 1 << 30) break
    n *= 4
  }
  n = Math.max(CHUNK, Math.floor((n / took) * seconds / CHUNK) * CHUNK)
  const t = now()
  await sink(c, n)
  return { throughput: n / (now() - t) / 1e6 }
}

async function connectOnce(ms, addr) {
  const c = await dial(ms, addr)
  const got = read(c, 1)
  c.send(Buffer.from('ex'))
  await got
  const closed = new Promise((resolve) => { c.onEnd = resolve })
  c.end()
  await closed
}

async function conns(ms, addr, seconds, workers) {
  for (let i = 0; i < 3; i++) await connectOnce(ms, addr)
  let count = 0
  const t = now()
  const end = t + seconds
  const loop = async () => {
    while (now() < end) {
      await connectOnce(ms, addr)
      count++
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
  return { conns: count / (now() - t) }
}

async function rtt(ms, addr, seconds) {
  const c = await dial(ms, addr)
  c.send(Buffer.from('e'))
  const msg = Buffer.alloc(64)
  const ping = async () => {
    const got = read(c, msg.length)
    const t = process.hrtime.bigint()
    c.send(msg)
    await got
    return Number(process.hrtime.bigint() - t) / 1e3
  }
  for (let i = 0; i < 200; i++) await ping()
  const lat = []
  const end = now() + seconds
  while (now() < end) lat.push(await ping())
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.floor(p * (lat.length - 1))]
  return { p50: q(0.5), p99: q(0.99) }
}

async function client(opts) {
  const ms = MultiServer([[Net({}), shs(chloride.crypto_sign_keypair())]])
  const seconds = Number(opts.seconds)
  let res
  if (opts.measure === 'throughput') res = await throughput(ms, opts.addr, seconds)
  else if (opts.measure === 'conns') res = await conns(ms, opts.addr, seconds, Number(opts.workers))
  else if (opts.measure === 'rtt') res = await rtt(ms, opts.addr, seconds)
  else fail('unknown --measure ' + opts.measure)
  process.stdout.write(JSON.stringify(res) + '\n')
  process.exit(0)
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'server') server()
else if (role === 'client') {
  client(parseArgs(rest, { addr: '', measure: 'throughput', seconds: '1', workers: '1' })).catch(fail)
} else fail('usage: shs.js server | client --addr=ADDR --measure=throughput|conns|rtt')
