#!/usr/bin/env node
// secretstream-vectors.js prints spec/vectors/secretstream.json: messages
// of libsodium's crypto_secretstream_xchacha20poly1305 pushed by
// sodium-native (fixed keys and messages, random headers), with every tag
// and a rekey. The header is random in libsodium, so two runs differ;
// --check=FILE instead pulls every message of FILE with sodium-native and
// exits non-zero unless each decrypts to its plaintext and tag.
//
//   node secretstream-vectors.js > ../../spec/vectors/secretstream.json
//   node secretstream-vectors.js --check=../../spec/vectors/secretstream.json
'use strict'
const fs = require('fs')
const sodium = require('sodium-native')

const P = 'crypto_secretstream_xchacha20poly1305_'
const hex = (b) => Buffer.from(b).toString('hex')
const TAGS = { message: 0, push: 1, rekey: 2, final: 3 }

function stream (key, messages) {
  const state = Buffer.alloc(sodium[P + 'STATEBYTES'])
  const header = Buffer.alloc(sodium[P + 'HEADERBYTES'])
  sodium[P + 'init_push'](state, header, key)
  const out = messages.map(([m, ad, tag]) => {
    const c = Buffer.alloc(m.length + sodium[P + 'ABYTES'])
    sodium[P + 'push'](state, c, m, ad, TAGS[tag])
    return { message: hex(m), ad: ad ? hex(ad) : '', tag, ciphertext: hex(c) }
  })
  return { key: hex(key), header: hex(header), messages: out }
}

function check (file) {
  const v = JSON.parse(fs.readFileSync(file, 'utf8'))
  for (const s of v.streams) {
    const state = Buffer.alloc(sodium[P + 'STATEBYTES'])
    sodium[P + 'init_pull'](state, Buffer.from(s.header, 'hex'), Buffer.from(s.key, 'hex'))
    for (const m of s.messages) {
      const c = Buffer.from(m.ciphertext, 'hex')
      const out = Buffer.alloc(c.length - sodium[P + 'ABYTES'])
      const tag = Buffer.alloc(1)
      sodium[P + 'pull'](state, out, tag, c, m.ad ? Buffer.from(m.ad, 'hex') : null)
      if (hex(out) !== m.message || tag[0] !== TAGS[m.tag]) throw new Error('mismatch in ' + file)
    }
  }
  console.log('ok')
}

const c = process.argv.find((a) => a.startsWith('--check='))
if (c) {
  check(c.slice('--check='.length))
} else {
  const key = (n) => Buffer.alloc(32, n)
  const big = Buffer.alloc(1000)
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff
  const out = {
    about: 'crypto_secretstream_xchacha20poly1305 messages pushed by sodium-native, printed by interop/hyperswarm/secretstream-vectors.js',
    streams: [
      stream(key(1), [
        [Buffer.from('hello'), null, 'message'],
        [Buffer.alloc(0), null, 'message'],
        [Buffer.from('with additional data'), Buffer.from('ad'), 'push'],
        [big, null, 'message'],
        [Buffer.from('rekey now'), null, 'rekey'],
        [Buffer.from('after the rekey'), null, 'message'],
        [Buffer.from('the end'), null, 'final']
      ]),
      stream(key(2), [[Buffer.alloc(0), null, 'message'], [Buffer.from('x'), null, 'message']])
    ]
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}
