#!/usr/bin/env node
// server.js runs a JavaScript multiserver server with the net plug and the
// shs transform on 127.0.0.1, for the Go interop tests.
//
//   node server.js --app-key=B64 --seed=B64 [--mode=echo|send] [--bytes=N] [--timeout=MS] [--plug=net|ws]
//
// --plug picks the transport: net (the default) or ws.
//
// --seed is the server's 32-byte ed25519 seed. The first stdout line is the
// advertised address, ms.stringify('device'). After that, one JSON line per
// connection: {"remote":"<b64 key>","bytes":N,"sent":"<sha256>","received":"<sha256>"}
// or {"error":"<message>"} for a failed handshake or session. It runs until
// killed.
'use strict'
const net = require('net')
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')
const WS = require('multiserver/plugins/ws')
const Shs = require('multiserver/plugins/shs')
const chloride = require('chloride')
const session = require('./session')

const opts = session.parseArgs(process.argv.slice(2), {
  'app-key': undefined, seed: undefined, mode: 'echo', bytes: String(1 << 20), timeout: '5000', plug: 'net',
})
const report = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

// multiserver's net plug takes port 0 to mean "pick a random one", so ask
// the kernel for a free port first.
const probe = net.createServer().listen(0, '127.0.0.1', () => {
  const { port } = probe.address()
  probe.close(() => start(port))
})

function start(port) {
  const keys = chloride.crypto_sign_seed_keypair(session.key32('seed', opts.seed))
  const ms = MultiServer([[
    opts.plug === 'ws' ? WS({ host: '127.0.0.1', port }) : Net({ host: '127.0.0.1', port }),
    Shs({
      keys,
      appKey: session.key32('app-key', opts['app-key']),
      auth: (id, cb) => cb(null, true),
      timeout: Number(opts.timeout),
    }),
  ]])
  ms.server(onConnect, (err) => report({ error: session.oneLine(err) }), (err) => {
    if (err) {
      console.error('server.js: ' + session.oneLine(err))
      process.exit(1)
    }
    process.stdout.write(ms.stringify('device') + '\n')
  })
}

function onConnect(stream) {
  const remote = stream.remote.toString('base64')
  const done = (err, res) => report(err ? { remote, error: session.oneLine(err) } : { remote, ...res })
  if (opts.mode === 'echo') session.echo(stream, done)
  else session.send(stream, 'js-server', Number(opts.bytes), done, opts.plug === 'ws')
}
