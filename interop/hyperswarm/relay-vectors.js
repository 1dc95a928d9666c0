#!/usr/bin/env node
// relay-vectors.js prints spec/vectors/dhtrelay.json: the frames
// @hyperswarm/dht-relay 0.4.3's Protocol writes (through protomux) for the
// messages a non-custodial dialer sends or receives, captured from a
// stream, with the values that went in.
//
//   node relay-vectors.js > ../../spec/vectors/dhtrelay.json
'use strict'
const { Duplex } = require('streamx')
const path = require('path')
// The package exports no subpath for its Protocol: load the file.
const { Protocol } = require(path.join(path.dirname(require.resolve('@hyperswarm/dht-relay')), 'lib/protocol.js'))

const frames = []
const stream = new Duplex({
  write (data, cb) { frames.push(Buffer.from(data)); cb(null) }
})
const protocol = new Protocol(stream)
const b = (n, len) => Buffer.alloc(len, n)
const hex = (x) => Buffer.from(x).toString('hex')

const cases = [
  ['handshake', { custodial: false, publicKey: b(1, 32) }],
  ['ping', undefined],
  ['pong', undefined],
  ['connect', { custodial: false, alias: 7, publicKey: b(1, 32), remotePublicKey: b(2, 32) }],
  ['connect', { custodial: false, alias: 300, publicKey: b(1, 32), remotePublicKey: b(2, 32) }],
  ['destroy', { paired: false, remoteAlias: 7, error: 'PEER_NOT_FOUND: Peer not found' }],
  ['destroy', { paired: true, alias: 70000 }],
  ['open', { custodial: false, alias: 9, remoteAlias: 7, handshakeId: 3 }],
  ['end', { alias: 9 }],
  ['data', { alias: 9, data: [Buffer.from('hello'), Buffer.alloc(0), b(3, 300)] }],
  ['noiseSend', { isInitiator: true, id: 3, remoteStreamAlias: 7, payload: Buffer.from('opaque payload') }],
  ['noiseReceive', { isInitiator: true, id: 3, payload: b(4, 80) }],
  ['noiseReply', { isInitiator: true, complete: false, id: 3, payload: b(5, 100) }],
  ['noiseReply', { isInitiator: true, complete: true, id: 3, payload: b(6, 20), remoteId: b(7, 32), holepunchSecret: b(8, 32) }]
]

function show (v) {
  if (v === undefined) return null
  const o = {}
  for (const [k, x] of Object.entries(v)) {
    if (Buffer.isBuffer(x)) o[k] = hex(x)
    else if (Array.isArray(x)) o[k] = x.map(hex)
    else o[k] = x
  }
  return o
}

// The peer opens the channel too: control channel 0, type 1 (open), its
// channel id 1, the protocol name, no id.
const proto = Buffer.from('@hyperswarm/dht-relay')
const remoteOpen = Buffer.concat([Buffer.from([0, 1, 1, proto.length]), proto, Buffer.from([0])])
stream.push(remoteOpen)

setTimeout(() => {
  for (const [type, value] of cases) protocol[type].send(value)
  setTimeout(() => {
    const out = {
      about: 'frames of @hyperswarm/dht-relay 0.4.3 (protomux 3), printed by interop/hyperswarm/relay-vectors.js',
      remoteOpen: hex(remoteOpen),
      open: hex(frames.shift()),
      messages: cases.map(([type, value]) => ({ type, value: show(value), frame: hex(frames.shift()) }))
    }
    if (frames.length) throw new Error('unexpected frames')
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
    process.exit(0)
  }, 100)
}, 100)
