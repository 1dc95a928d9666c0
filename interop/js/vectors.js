#!/usr/bin/env node
// vectors.js prints secret-handshake v1 and box stream test vectors as JSON,
// computed by the npm implementation (secret-handshake crypto.js,
// pull-box-stream). Every input is fixed, so the output is deterministic:
//
//   node interop/js/vectors.js > spec/vectors/shs1.json
'use strict'
const shs = require('secret-handshake/crypto')
const sodium = require('chloride')
const boxes = require('pull-box-stream')
const pull = require('pull-stream')

const hex = (b) => Buffer.from(b).toString('hex')
const copy = (b) => Buffer.from(b) // clean() zeroes the state's secrets
const fill = (byte, n = 32) => Buffer.alloc(n, byte)

// handshake runs both sides of one handshake with fixed long-term and
// ephemeral seeds (the ephemeral seed stands in for the random 32 bytes
// that secret-handshake/protocol.js draws) and records every step.
function handshake(name, appKey, s) {
  const server = sodium.crypto_sign_seed_keypair(fill(s.server))
  const client = sodium.crypto_sign_seed_keypair(fill(s.client))
  let c = shs.initialize({
    app_key: appKey, local: client, remote: { publicKey: server.publicKey }, random: fill(s.clientEph),
  })
  let b = shs.initialize({ app_key: appKey, local: server, random: fill(s.serverEph) })
  const cEph = { pk: copy(c.local.kx_pk), sk: copy(c.local.kx_sk) }
  const sEph = { pk: copy(b.local.kx_pk), sk: copy(b.local.kx_sk) }

  const msg1 = shs.createChallenge(c)
  b = must(shs.verifyChallenge(b, msg1), 'server rejected msg1')
  const msg2 = shs.createChallenge(b)
  c = must(shs.clientVerifyChallenge(c, msg2), 'client rejected msg2')
  const msg3 = shs.clientCreateAuth(c)
  b = must(shs.serverVerifyAuth(b, msg3), 'server rejected msg3')
  const msg4 = shs.serverCreateAccept(b)
  c = must(shs.clientVerifyAccept(c, msg4), 'client rejected msg4')

  const v = {
    name,
    app_key: hex(appKey),
    server_seed: hex(fill(s.server)),
    server_pk: hex(server.publicKey),
    server_sk: hex(server.secretKey),
    client_seed: hex(fill(s.client)),
    client_pk: hex(client.publicKey),
    client_sk: hex(client.secretKey),
    client_eph_seed: hex(fill(s.clientEph)),
    client_eph_pk: hex(cEph.pk),
    client_eph_sk: hex(cEph.sk),
    server_eph_seed: hex(fill(s.serverEph)),
    server_eph_pk: hex(sEph.pk),
    server_eph_sk: hex(sEph.sk),
    msg1: hex(msg1),
    msg2: hex(msg2),
    shared_ab: hex(c.secret),
    shared_ab_sha256: hex(c.shash),
    shared_aB: hex(c.a_bob),
    box_key_msg3: hex(c.secret2),
    msg3_plain_detached_sig_a_then_client_pk: hex(c.local.hello),
    msg3: hex(msg3),
    shared_Ab: hex(c.b_alice),
    box_key_msg4: hex(c.secret3),
    msg4: hex(msg4),
  }
  v.client = outcome(shs.clean(c))
  v.server = outcome(shs.clean(b))
  return v
}

function must(state, msg) {
  if (!state) throw new Error('vectors: ' + msg)
  return state
}

// outcome is what secret-handshake/protocol.js hands to the box streams.
function outcome(state) {
  return {
    encrypt_key: hex(state.encryptKey),
    encrypt_nonce: hex(state.remote.app_mac.slice(0, 24)),
    decrypt_key: hex(state.decryptKey),
    decrypt_nonce: hex(state.local.app_mac.slice(0, 24)),
  }
}

// boxstream runs writes through pull-box-stream and records each wire
// segment (headers and bodies are separate segments, then the goodbye).
function boxstream(name, key, nonce, writes, cb) {
  pull(
    pull.values(writes.map(copy)),
    boxes.createBoxStream(Buffer.from(key, 'hex'), Buffer.from(nonce, 'hex')),
    pull.collect((err, segs) => {
      if (err) throw err
      cb({
        name,
        key,
        nonce,
        plaintext_writes: writes.map(hex),
        wire_segments: segs.map(hex),
        wire: hex(Buffer.concat(segs)),
      })
    })
  )
}

const mainnetCap = Buffer.from('1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', 'base64')
const shsVectors = [
  handshake('fixed-ssb-mainnet-cap', mainnetCap, { server: 1, client: 2, serverEph: 3, clientEph: 4 }),
  handshake('fixed-custom-cap', fill(0xaa), { server: 0x11, client: 0x22, serverEph: 0x33, clientEph: 0x44 }),
]
const [v0] = shsVectors
const counting = Buffer.alloc(5000).map((_, i) => i & 0xff)
const boxCases = [
  ['client->server, writes 5B, 5000B (split 4096+904), 1B, then goodbye',
    v0.client.encrypt_key, v0.client.encrypt_nonce, [Buffer.from('hello'), counting, Buffer.from([0xff])]],
  ['empty session: goodbye only', v0.server.encrypt_key, v0.server.encrypt_nonce, []],
  ['nonce carry (..00ffff -> ..010000)', hex(fill(7)), '00'.repeat(22) + 'ffff',
    [Buffer.from('abc'), Buffer.from('de')]],
]

const boxVectors = []
function next(i) {
  if (i === boxCases.length) return done()
  boxstream(...boxCases[i], (v) => { boxVectors.push(v); next(i + 1) })
}
function done() {
  const out = {
    generator: 'interop/js/vectors.js (secret-handshake@1.1.21 crypto.js, pull-box-stream@1.0.13, chloride@2.4.1)',
    notes: [
      'all byte fields hex',
      'msg1..msg4 are the exact wire bytes',
      'boxstream wire = concat(header34, body) per write (writes >4096 split) + 34-byte goodbye',
    ],
    shs: shsVectors,
    boxstream: boxVectors,
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}
next(0)
