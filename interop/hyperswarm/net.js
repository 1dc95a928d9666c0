#!/usr/bin/env node
// net.js runs, in one process, a Hyperswarm DHT testnet on loopback, an echo
// peer on it and @hyperswarm/dht-relay over WebSocket (as the package's own
// bin.js serves it), its DHT node on the testnet.
//
//   node net.js [--nodes=3] [--seed=HEX32]
//
// It prints one JSON line once everything listens:
//   {"relay":"ws://127.0.0.1:PORT","publicKey":"HEX","refusingKey":"HEX","bootstrap":"127.0.0.1:PORT"}
// The peer of publicKey echoes every byte it reads; the peer of
// refusingKey refuses every handshake (its firewall says no). SIGTERM, SIGINT or stdin closing tear
// it down; SIGKILL is how a test kills the relay mid-transfer.
//
// Everything shares one process, hence one UDX instance: on loopback, DHT
// nodes in separate processes often connect their streams to the wrong one
// of a peer's two UDP sockets and time out.
'use strict'
const http = require('http')
const DHT = require('hyperdht')
const createTestnet = require('hyperdht/testnet')
const { WebSocketServer } = require('ws')
const { relay } = require('@hyperswarm/dht-relay')
const Stream = require('@hyperswarm/dht-relay/ws')

function arg (name, def) {
  const p = '--' + name + '='
  const a = process.argv.find((x) => x.startsWith(p))
  return a === undefined ? def : a.slice(p.length)
}

async function main () {
  const testnet = await createTestnet(Number(arg('nodes', '3')), { host: '127.0.0.1' })
  const seed = arg('seed', '')
  const keyPair = seed ? DHT.keyPair(Buffer.from(seed, 'hex')) : DHT.keyPair()
  const peer = testnet.createNode()
  const server = peer.createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await server.listen(keyPair)

  // A second peer whose firewall refuses every dialer.
  const refusingKeyPair = DHT.keyPair()
  const refusing = peer.createServer({ firewall: () => true }, (socket) => socket.destroy())
  await refusing.listen(refusingKeyPair)

  const node = testnet.createNode()
  await node.fullyBootstrapped()
  const hs = http.createServer()
  const wss = new WebSocketServer({ server: hs })
  wss.on('connection', (socket) => {
    socket.on('error', () => {})
    relay(node, new Stream(false, socket))
  })
  await new Promise((resolve) => hs.listen(0, '127.0.0.1', resolve))
  const b = testnet.bootstrap[0]
  process.stdout.write(JSON.stringify({
    relay: 'ws://127.0.0.1:' + hs.address().port,
    publicKey: keyPair.publicKey.toString('hex'),
    refusingKey: refusingKeyPair.publicKey.toString('hex'),
    bootstrap: b.host + ':' + b.port
  }) + '\n')

  let closing = false
  const stop = async () => {
    if (closing) return
    closing = true
    for (const ws of wss.clients) ws.terminate()
    hs.close()
    await testnet.destroy()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
}

main().catch((err) => { console.error(err); process.exit(1) })
