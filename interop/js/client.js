#!/usr/bin/env node
// client.js dials a multiserver address over net~shs or ws~shs, for the Go
// interop tests.
//
//   node client.js --addr=ADDR --app-key=B64 --seed=B64 [--mode=echo|send] [--bytes=N] [--timeout=MS]
//
// It sends --bytes bytes of session.data('js-client') and reads as many back:
// in echo mode the server's echo (which must match), in send mode the
// server's own data. On success it prints one JSON line
// {"remote":"<b64 key>","bytes":N,"sent":"<sha256>","received":"<sha256>"}
// and exits 0; on failure, one line on stderr and exit status 1.
'use strict'
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')
const WS = require('multiserver/plugins/ws')
const Shs = require('multiserver/plugins/shs')
const chloride = require('chloride')
const session = require('./session')

function fail(err) {
  console.error('client.js: ' + session.oneLine(err))
  process.exit(1)
}

let opts
try {
  opts = session.parseArgs(process.argv.slice(2), {
    addr: undefined, 'app-key': undefined, seed: undefined, mode: 'echo', bytes: String(1 << 20), timeout: '5000',
  })
  opts.keys = chloride.crypto_sign_seed_keypair(session.key32('seed', opts.seed))
  opts.appKey = session.key32('app-key', opts['app-key'])
} catch (err) {
  fail(err)
}

const bytes = Number(opts.bytes)
const shs = () => Shs({ keys: opts.keys, appKey: opts.appKey, timeout: Number(opts.timeout) })
// The first plug that parses the address dials it: net:… or ws://….
const ms = MultiServer([[Net({}), shs()], [WS({}), shs()]])

ms.client(opts.addr, (err, stream) => {
  if (err) return fail(err)
  const holdEnd = opts.addr.startsWith('ws')
  session.send(stream, 'js-client', bytes, (err, res) => {
    if (err) return fail(err)
    if (res.bytes !== bytes) return fail(`read ${res.bytes} bytes, want ${bytes}`)
    if (opts.mode === 'echo' && res.received !== res.sent) return fail('echo differs from what was sent')
    process.stdout.write(JSON.stringify({ remote: stream.remote.toString('base64'), ...res }) + '\n')
    // Exit once the socket has closed, not now: with holdEnd our goodbye
    // is still on its way out.
    process.exitCode = 0
  }, holdEnd)
})
