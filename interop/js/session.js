// session.js is the data exchange that server.js and client.js run over an
// established (handshaken) duplex pull-stream.
//
// Modes:
//   echo      the server echoes what it reads until the client ends.
//   send      (echo clients and both exchange peers) send `bytes` bytes of
//             data(seed) and read the peer's bytes at the same time.
//
// The box stream goodbye (pull-stream end) goes out only after this side has
// sent everything and has read `bytes` bytes, because the JavaScript net
// sockets use allowHalfOpen:false: a peer that ended early would get its
// socket torn down before it had read the rest.
'use strict'
const crypto = require('crypto')
const pull = require('pull-stream')

const CHUNK = 64 * 1024

// data returns n deterministic pseudo-random bytes: the concatenation of
// sha256(seed ‖ uint32be(i)) for i = 0, 1, ... (interop/data_test.go has the
// same function).
function data(seed, n) {
  const out = Buffer.alloc(n)
  const ctr = Buffer.alloc(4)
  for (let i = 0, off = 0; off < n; i++, off += 32) {
    ctr.writeUInt32BE(i)
    crypto.createHash('sha256').update(seed).update(ctr).digest().copy(out, off)
  }
  return out
}

// echo pipes stream.source into stream.sink and reports how much went
// through. It ends when the peer ends.
function echo(stream, cb) {
  const h = crypto.createHash('sha256')
  let n = 0
  pull(
    stream.source,
    pull.through((buf) => { h.update(buf); n += buf.length }),
    pull.through(null, (err) => {
      const e = err === true ? null : err
      if (e) return cb(e)
      const sum = h.digest('hex')
      cb(null, { bytes: n, sent: sum, received: sum })
    }),
    stream.sink
  )
}

// send writes data(seed, bytes) while it reads the peer's data, ends after
// both are done, then reads to the peer's end. cb gets sha256 sums of what
// was sent and received.
//
// With holdEnd, our end waits for the peer's instead: a WebSocket stream
// closes the whole socket when its sink ends, which would cut off a
// goodbye the peer had not yet delivered. The Go peers say goodbye first.
function send(stream, seed, bytes, cb, holdEnd) {
  const out = data(seed, bytes)
  const h = crypto.createHash('sha256')
  let received = 0
  let gotAll = null // called once `bytes` bytes are in
  let peerEnded = false
  let off = 0

  // The source holds back its end until everything expected has arrived.
  stream.sink(function source(abort, next) {
    if (abort) return next(abort)
    if (off < out.length) {
      const chunk = out.subarray(off, off + CHUNK)
      off += chunk.length
      return next(null, chunk)
    }
    if (peerEnded || (received >= bytes && !holdEnd)) return next(true)
    gotAll = () => next(true)
  })

  pull(
    stream.source,
    pull.drain(
      (buf) => {
        h.update(buf)
        received += buf.length
        if (received >= bytes && gotAll && !holdEnd) {
          const g = gotAll
          gotAll = null
          g()
        }
      },
      (err) => {
        if (err && err !== true) return cb(err)
        peerEnded = true
        if (gotAll) gotAll() // peer ended early: let our sink end too
        const sent = crypto.createHash('sha256').update(out).digest('hex')
        cb(null, { bytes: received, sent, received: h.digest('hex') })
      }
    )
  )
}

// parseArgs reads --name=value flags into an object.
function parseArgs(argv, defaults) {
  const opts = Object.assign({}, defaults)
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a)
    if (!m || !(m[1] in defaults)) throw new Error('unknown argument ' + JSON.stringify(a))
    opts[m[1]] = m[2]
  }
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined) throw new Error('missing --' + k)
  }
  return opts
}

// key32 decodes a base64 32-byte value.
function key32(name, b64) {
  const b = Buffer.from(b64, 'base64')
  if (b.length !== 32) throw new Error(`--${name} must be 32 bytes of base64, got ${b.length}`)
  return b
}

// oneLine flattens an error message for a one-line report.
function oneLine(err) {
  return String((err && err.message) || err).replace(/\s*\n\s*/g, ' ')
}

module.exports = { data, echo, send, parseArgs, key32, oneLine }
