#!/usr/bin/env node
// vectors.js prints spec/vectors/hyperswarm_noise.json: hyperdht's peer
// handshake (Noise_IK_Ed25519_ChaChaPoly_BLAKE2b through noise-handshake and
// noise-curve-ed, the prologue hyperdht uses), its holepunch secret, the
// secret-stream ids, the namespaces, and Ed25519 Diffie-Hellman results and
// refusals from sodium-native. Fixed seeds make the output the same every
// run.
//
//   node vectors.js > ../../spec/vectors/hyperswarm_noise.json
'use strict'
const sodium = require('sodium-native')
const NoiseHandshake = require('noise-handshake')
const curve = require('noise-curve-ed')
const SecretStream = require('@hyperswarm/secret-stream')
const { NS, COMMANDS } = require('hyperdht/lib/constants')

const hex = (b) => Buffer.from(b).toString('hex')
const seed = (n) => Buffer.alloc(32, n)

function keyPair (s) {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, s)
  return { publicKey, secretKey }
}

function generichash (data, key) {
  const out = Buffer.alloc(32)
  if (key) sodium.crypto_generichash(out, data, key)
  else sodium.crypto_generichash(out, data)
  return out
}

// Points: a valid key, then encodings libsodium refuses.
const dhCases = [
  ['valid', keyPair(seed(9)).publicKey],
  ['identity', Buffer.from('01' + '00'.repeat(31), 'hex')],
  ['small order (order 2)', Buffer.from('ec' + 'ff'.repeat(30) + '7f', 'hex')],
  ['small order (order 4)', Buffer.alloc(32)],
  ['small order (order 8)', Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')],
  ['non-canonical y', Buffer.from('ee' + 'ff'.repeat(30) + '7f', 'hex')],
  ['not on the curve', Buffer.from('02' + '00'.repeat(31), 'hex')],
  ['outside the prime-order subgroup', null],
  ['valid (high bit set, sign of x)', null]
]
// A point of the prime-order subgroup plus one of order 8 is outside it.
{
  const p = keyPair(seed(9)).publicKey
  const out = Buffer.alloc(32)
  sodium.crypto_core_ed25519_add(out, p, dhCases[4][1])
  dhCases[7][1] = out
  const q = keyPair(seed(11)).publicKey
  dhCases[8][1] = q
}

const dhSecret = keyPair(seed(1)).secretKey
const dh = dhCases.map(([name, pub]) => {
  let out = null
  try {
    out = hex(curve.dh(pub, { secretKey: dhSecret }))
  } catch {}
  return { name, seed: hex(seed(1)), public: hex(pub), shared: out }
})

function handshake (initSeed, respSeed, eInit, eResp, payload1, payload2) {
  const ik = keyPair(initSeed)
  const rk = keyPair(respSeed)
  const i = new NoiseHandshake('IK', true, ik, { curve })
  const r = new NoiseHandshake('IK', false, rk, { curve })
  i.initialise(NS.PEER_HANDSHAKE, rk.publicKey)
  r.initialise(NS.PEER_HANDSHAKE)
  i.e = curve.generateKeyPair(eInit)
  r.e = curve.generateKeyPair(eResp)
  // recv keeps the peer's ephemeral key as a view of the message and zeroes
  // it when the handshake completes: it gets a copy.
  const msg1 = i.send(payload1)
  const got1 = r.recv(Buffer.from(msg1))
  const msg2 = r.send(payload2)
  const got2 = i.recv(Buffer.from(msg2))
  if (!got1.equals(payload1) || !got2.equals(payload2)) throw new Error('payload mismatch')
  if (!Buffer.from(i.hash).equals(Buffer.from(r.hash))) throw new Error('hash mismatch')
  const hash = Buffer.from(i.hash)
  const holepunchSecret = Buffer.alloc(32)
  sodium.crypto_generichash(holepunchSecret, NS.PEER_HOLEPUNCH, hash)
  return {
    initiatorSeed: hex(initSeed),
    responderSeed: hex(respSeed),
    initiatorEphemeralSeed: hex(eInit),
    responderEphemeralSeed: hex(eResp),
    responderPublic: hex(rk.publicKey),
    initiatorPublic: hex(ik.publicKey),
    payload1: hex(payload1),
    payload2: hex(payload2),
    msg1: hex(msg1),
    msg2: hex(msg2),
    hash: hex(hash),
    initiatorTx: hex(i.tx),
    initiatorRx: hex(i.rx),
    holepunchSecret: hex(holepunchSecret),
    initiatorStreamId: hex(SecretStream.id(hash, true)),
    responderStreamId: hex(SecretStream.id(hash, false))
  }
}

const out = {
  about: 'hyperdht peer handshake, holepunch secret, secret-stream ids and Ed25519 DH, printed by interop/hyperswarm/vectors.js',
  namespaces: {
    'hyperswarm/dht': {
      name: 'hyperswarm/dht',
      ids: [COMMANDS.ANNOUNCE, COMMANDS.UNANNOUNCE, COMMANDS.MUTABLE_PUT, COMMANDS.PEER_HANDSHAKE, COMMANDS.PEER_HOLEPUNCH, COMMANDS.PLUGIN],
      values: [NS.ANNOUNCE, NS.UNANNOUNCE, NS.MUTABLE_PUT, NS.PEER_HANDSHAKE, NS.PEER_HOLEPUNCH, NS.PLUGIN].map(hex)
    },
    'hyperswarm/secret-stream': {
      name: 'hyperswarm/secret-stream',
      ids: [0, 1, 2],
      values: [0, 1, 2].map((i) => hex(generichash(Buffer.concat([generichash(Buffer.from('hyperswarm/secret-stream')), Buffer.from([i])]))))
    }
  },
  dh,
  handshakes: [
    handshake(seed(1), seed(2), seed(3), seed(4), Buffer.from('hello from the initiator'), Buffer.from('and from the responder')),
    handshake(seed(5), seed(6), seed(7), seed(8), Buffer.alloc(0), Buffer.alloc(0))
  ]
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n')
