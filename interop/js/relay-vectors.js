#!/usr/bin/env node
// relay-vectors.js checks relay.js's codec, topics, origins and AUTH check
// against the vectors of the Go implementation, spec/vectors/relay.json:
//
//   node relay-vectors.js [path/to/relay.json]
//
// It prints one line per failure and exits with status 1 if there was
// any, else prints "ok N" (N checks) and exits with 0.
'use strict'
const assert = require('assert')
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const relay = require('./relay')

const file = process.argv[2] || path.join(__dirname, '..', '..', 'spec', 'vectors', 'relay.json')
const v = JSON.parse(fs.readFileSync(file, 'utf8'))

let checks = 0
let failures = 0
function check(name, fn) {
  checks++
  try {
    fn()
  } catch (err) {
    failures++
    console.log(`FAIL ${name}: ${err.message.split('\n')[0]}`)
  }
}

const BYTES = ['challenge', 'key', 'signature', 'stream_id', 'token', 'topic', 'payload']
const hex = (b) => Buffer.from(b).toString('hex')

// frameOf turns a vector's fields into a relay.js frame.
function frameOf(name, fields) {
  const f = { type: relay.T[name] }
  for (const [k, val] of Object.entries(fields)) f[k] = BYTES.includes(k) ? Buffer.from(val, 'hex') : val
  return f
}

for (const fv of v.frames) {
  const f = frameOf(fv.name, fv.fields)
  check(`encode ${fv.name}`, () => assert.strictEqual(hex(relay.encode(f)), fv.wire))
  check(`decode ${fv.name}`, () => assert.deepStrictEqual(relay.decode(Buffer.from(fv.wire, 'hex')), f))
}

for (const iv of v.invalid) {
  check(`refuse ${iv.why}`, () => assert.throws(() => relay.decode(Buffer.from(iv.wire, 'hex')), relay.BadFrame))
}

const a = v.auth
check('auth', () => {
  const priv = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(a.seed, 'hex')]),
    format: 'der', type: 'pkcs8',
  })
  const pub = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32)
  assert.strictEqual(hex(pub), a.public_key)
  const msg = relay.authMessage(Buffer.from(a.challenge, 'hex'), a.origin)
  assert.strictEqual(hex(msg), a.message)
  assert.strictEqual(hex(crypto.sign(null, msg, priv)), a.signature)
  assert.ok(relay.verify(pub, msg, Buffer.from(a.signature, 'hex')), 'the signature does not verify')
  const bad = Buffer.from(a.signature, 'hex')
  bad[0] ^= 1
  assert.ok(!relay.verify(pub, msg, bad), 'a corrupted signature verifies')
  const frame = relay.decode(Buffer.from(a.frame, 'hex'))
  assert.strictEqual(frame.origin, a.origin)
  assert.strictEqual(hex(relay.encode({ type: relay.T.AUTH, key: pub, signature: Buffer.from(a.signature, 'hex'), origin: a.origin })), a.frame)
})

for (const tv of v.topics) {
  check(`topic ${tv.label}`, () => assert.strictEqual(hex(relay.topicOf(Buffer.from(tv.key, 'hex'), tv.label)), tv.topic))
}

for (const ov of v.origins) {
  check(`origin ${ov.url}`, () => assert.strictEqual(relay.originOf(ov.url), ov.origin))
}

if (failures) {
  console.log(`${failures} of ${checks} checks failed`)
  process.exit(1)
}
console.log(`ok ${checks}`)
