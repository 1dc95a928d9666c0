// An SSB room server for the tunnel plug's interop tests: the tunnel
// and shim plugins of npm ssb-room 1.3.0 (Room 1.0: tunnel.isRoom,
// tunnel.endpoints, tunnel.connect, tunnel.ping), on ssb-room's own
// secret-stack 6.3.0 with ssb-conn, as ssb-room's index.js assembles
// them, without its HTTP pages and invites, on 127.0.0.1 only.
//
//   node room.js --seed=B64 [--port=N] [--inactivity-ms=N] [--dir=PATH]
//
// Prints "net:127.0.0.1:PORT~shs:KEY" on its first line once listening,
// and serves until SIGTERM or SIGINT.
'use strict'
const path = require('path')
const os = require('os')
const fs = require('fs')
const ssbKeys = require('ssb-keys')

const args = {}
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)=(.*)$/.exec(a)
  if (!m) throw new Error('bad argument ' + a)
  args[m[1]] = m[2]
}
const roomDir = path.dirname(require.resolve('ssb-room/package.json'))
const fromRoom = (name) => require(require.resolve(name, { paths: [roomDir] }))

const seed = Buffer.from(args.seed, 'base64')
const keys = ssbKeys.generate('ed25519', seed)
const dir = args.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'ssbroom-'))
const SecretStack = fromRoom('secret-stack')
const caps = require('ssb-caps')

// multiserver's net plug takes port 0 to mean a random port of its own
// choosing, which may be taken: ask the kernel for a free one instead.
if (Number(args.port || 0)) start(Number(args.port))
else {
  const probe = require('net').createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => start(port))
  })
}

function start (port) {
  const server = SecretStack({ appKey: caps.shs })
    .use(fromRoom('ssb-master'))
    .use(fromRoom('ssb-conn'))
    .use(require('ssb-room/tunnel/server'))
    .use(require('ssb-room/ssb-shims'))
    .call(null, {
      path: dir,
      keys,
      caps,
      timers: { inactivity: Number(args['inactivity-ms'] || 600e3), handshake: 10e3 },
      conn: { autostart: false },
      connections: {
        incoming: { net: [{ scope: 'device', transform: 'shs', port, host: '127.0.0.1' }] },
        outgoing: { net: [{ transform: 'shs' }] },
      },
    })

  server.once('multiserver:listening', () => {
    console.log(server.getAddress('device'))
  })
  function stop () { server.close(true, () => process.exit(0)) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
