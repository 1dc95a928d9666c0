// An SSB room member for the tunnel plug's interop tests: secret-stack
// 8.1.0 with ssb-conn 6.0.4 and ssb-room-client 2.0.2, joined to one room.
// Tunnels carry secret-handshake (multiserver's shs plugin, the SSB app
// key) and then raw test data instead of muxrpc, so that the Go side can
// check every byte:
//
//   node member.js --seed=B64 --room=ADDR [--bytes=N] [--dir=PATH]
//       joins the room, prints {"ready":ID} once the room lists it, and
//       for each tunnel to it: shs as server, then sends N bytes while
//       reading N, and prints {"remote","bytes","sent","received"}
//       (sha256 sums in hex).
//   node member.js --seed=B64 --room=ADDR --dial=TARGET_ID [--bytes=N]
//       calls tunnel.connect for TARGET_ID through the room, shs as
//       client with the target's key, then the same exchange; prints
//       the report, or {"error":MESSAGE}, and exits.
'use strict'
const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const pull = require('pull-stream')
const ssbKeys = require('ssb-keys')
const caps = require('ssb-caps')
const SecretStack = require('secret-stack')
const Shs = require('multiserver/plugins/shs')

const args = { bytes: String(1 << 20) }
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)=(.*)$/.exec(a)
  if (!m) throw new Error('bad argument ' + a)
  args[m[1]] = m[2]
}
const report = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const oneLine = (e) => String((e && e.message) || e).split('\n')[0]
const bytes = Number(args.bytes)

const keys = ssbKeys.generate('ed25519', Buffer.from(args.seed, 'base64'))
const roomId = '@' + args.room.split('~shs:')[1] + '.ed25519'
const dir = args.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'ssbmember-'))

// secret-stack 8 reads config.global; ssb-conn still reads the top level.
const global = {
  path: dir,
  keys,
  caps,
  timers: { inactivity: 600e3, handshake: 10e3 },
  connections: {
    incoming: { tunnel: [{ scope: 'public', transform: 'shs' }] },
    outgoing: { net: [{ transform: 'shs' }], tunnel: [{ transform: 'shs' }] },
  },
}
const ssb = SecretStack({ global: { caps } })
  .use(require('ssb-conn'))
  .use(require('ssb-room-client'))
  .call(null, { global, ...global, conn: { autostart: false, populatePubs: false } })

const shs = Shs({ keys: { publicKey: Buffer.from(keys.public.replace('.ed25519', ''), 'base64'), secretKey: Buffer.from(keys.private.replace('.ed25519', ''), 'base64') }, appKey: caps.shs, auth: (id, cb) => cb(null, true), timeout: 10e3 })

// exchange sends `bytes` bytes while reading as many, and reports
// sha256 sums of both directions once all has arrived. Its end waits
// until then: muxrpc streams have no half-close, so an early end would
// cut the other direction short.
function exchange (stream, remote, cb) {
  const out = crypto.randomBytes(bytes)
  const h = crypto.createHash('sha256')
  let received = 0
  let off = 0
  let waiting = null
  let reported = false
  const done = (r) => { if (!reported) { reported = true; cb(r) } }
  const release = () => { if (waiting) { const w = waiting; waiting = null; w() } }
  stream.sink(function source (abort, next) {
    if (abort) return next(abort)
    if (off < out.length) {
      const chunk = out.subarray(off, off + 32768)
      off += chunk.length
      return next(null, chunk)
    }
    if (received >= bytes) return next(true)
    waiting = () => next(true)
  })
  pull(stream.source, pull.drain((buf) => {
    h.update(buf)
    received += buf.length
    if (received >= bytes) {
      done({ remote, bytes: received, sent: crypto.createHash('sha256').update(out).digest('hex'), received: h.digest('hex') })
      release()
      return false
    }
  }, (err) => {
    release()
    done({ remote, error: err && err !== true ? oneLine(err) : 'ended after ' + received + ' bytes' })
  }))
}

function serveTunnel (stream, origin) {
  shs.create()(stream, (err, secure) => {
    if (err) return report({ remote: origin, error: oneLine(err) })
    const remote = '@' + secure.remote.toString('base64') + '.ed25519'
    exchange(secure, remote, report)
  })
}

function whenRoom (cb) {
  const rooms = ssb.tunnel.getRoomsMap()
  const t = setInterval(() => {
    if (!rooms.has(roomId)) return
    clearInterval(t)
    cb(rooms.get(roomId))
  }, 50)
}

ssb.conn.connect(args.room, (err) => {
  if (err) { report({ error: 'connect to the room: ' + oneLine(err) }); process.exit(1) }
  whenRoom((obs) => {
    if (args.dial) return dial(obs)
    obs.handler = serveTunnel
    // Ready once the room lists this member among its endpoints.
    pull(obs.rpc.tunnel.endpoints(), pull.drain((ids) => {
      if (Array.isArray(ids) && ids.includes(ssb.id)) { report({ ready: ssb.id }); return false }
    }))
  })
})

function dial (obs) {
  const target = args.dial
  const key = Buffer.from(target.slice(1, -'.ed25519'.length), 'base64')
  const duplex = obs.rpc.tunnel.connect({ target, portal: roomId }, () => {})
  shs.create({ key })(duplex, (err, secure) => {
    if (err) { report({ error: oneLine(err) }); return finish() }
    exchange(secure, target, (r) => { report(r); finish() })
  })
}

function finish () { ssb.close(true, () => process.exit(0)) }
function stop () { ssb.close(true, () => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
