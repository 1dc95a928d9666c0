#!/usr/bin/env node
// relay.js is a second implementation of the relay server of
// spec/relay.md (protocol version 1), written from the spec, for the Go
// interop tests: Go relay clients register, dial and accept through it.
//
//   node relay.js [--host=127.0.0.1] [--port=0] [--path=/relay] [--origin=URL ...]
//                 [--max-frame=4096] [--handshake-timeout-ms=10000]
//                 [--pairing-timeout-ms=10000] [--ping-interval-ms=15000]
//                 [--max-pending=16] [--max-registrations-per-ip=64]
//                 [--max-conns-per-ip=1024] [--max-unauth=1024]
//                 [--read-limit=1048576] [--reconnect-in-ms=2000] [--try-for-ms=60000]
//                 [--idle-pairing-timeout-ms=300000]
//
// The first stdout line is the relay's URL, ws://HOST:PORT/PATH. --origin
// (repeatable) names the URLs the relay is published under: AUTH must sign
// the origin of one of them. Without it, the relay's own URL is its only
// origin; --origin=host takes the request's Host header instead (§3.2, the
// weaker rule for a relay with no configuration). SIGTERM and SIGINT shut
// it down: RESTARTING on every connection not yet paired, 1001 on the
// pairings, then exit. A pairing that carries no data message for
// --idle-pairing-timeout-ms (0: never) is closed on both sides with 4002.
//
// Required as a module, it exports the frame codec, the topic and origin
// functions and the AUTH check, for relay-vectors.js.
'use strict'
const crypto = require('crypto')
const http = require('http')
const { WebSocketServer, WebSocket } = require('ws')

const SUBPROTOCOL = 'multiserver-relay.1'
const AUTH_DOMAIN = Buffer.from('multiserver-relay.1 auth')
const TOPIC_DOMAIN = Buffer.from('multiserver-relay.1 topic')
const MAGIC = Buffer.from('MSRL')
const VERSION = 1

// Frame types (§3).
const T = {
  HELLO: 0x01, AUTH: 0x02, OK: 0x03, DENIED: 0x04, LISTEN: 0x05, CONNECT: 0x06,
  INCOMING: 0x07, ACCEPT: 0x08, PAIRED: 0x09, PING: 0x0a, PONG: 0x0b, RESTARTING: 0x0c,
}
const NAMES = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]))

// DENIED codes (§5).
const CODE = {
  BAD_FRAME: 1, BAD_ORIGIN: 2, BAD_SIGNATURE: 3, HANDSHAKE_TIMEOUT: 4, NO_PEER: 5,
  TIMEOUT: 6, LIMIT: 7, BAD_TOKEN: 8, REPLACED: 9, SHUTTING_DOWN: 10,
}

// Close codes of a pairing's end (§3.5).
const CLOSE_LOST = 4001
const CLOSE_IDLE = 4002
const CLOSE_UNSUPPORTED = 1003
const CLOSE_TOO_BIG = 1009

// --- frames -----------------------------------------------------------

// A frame is an object { type, ...fields }, the fields named as in
// spec/vectors/relay.json; byte fields are Buffers.

// The exact body sizes of the fixed-size frame types.
const BODY = {
  [T.OK]: 0, [T.CONNECT]: 48, [T.INCOMING]: 96, [T.ACCEPT]: 16,
  [T.PAIRED]: 48, [T.PING]: 8, [T.PONG]: 8, [T.RESTARTING]: 8,
}

class BadFrame extends Error {}

const u8 = (n) => Buffer.from([n])
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

// encode returns f as one WebSocket message.
function encode(f) {
  const parts = [u8(f.type)]
  switch (f.type) {
    case T.HELLO:
      parts.push(MAGIC, u8(VERSION), f.challenge, u32(f.max_frame), u32(f.handshake_timeout_ms),
        u32(f.pairing_timeout_ms), u32(f.ping_interval_ms))
      break
    case T.AUTH: parts.push(f.key, f.signature, Buffer.from(f.origin, 'latin1')); break
    case T.OK: break
    case T.DENIED: parts.push(u16(f.code), Buffer.from(f.text, 'utf8')); break
    case T.LISTEN:
      parts.push(u8(f.labels.length))
      for (const l of f.labels) parts.push(u8(Buffer.byteLength(l, 'latin1')), Buffer.from(l, 'latin1'))
      break
    case T.CONNECT: parts.push(f.topic, f.stream_id); break
    case T.INCOMING: parts.push(f.token, f.topic, f.key, f.stream_id); break
    case T.ACCEPT: parts.push(f.token); break
    case T.PAIRED: parts.push(f.key, f.stream_id); break
    case T.PING: case T.PONG: parts.push(f.payload); break
    case T.RESTARTING: parts.push(u32(f.reconnect_in_ms), u32(f.try_for_ms)); break
    default: throw new Error('encode: unknown frame type ' + f.type)
  }
  return Buffer.concat(parts)
}

// printable reports whether b is 1 or more bytes of 0x21..0x7e.
const printable = (b) => b.length > 0 && b.every((c) => c >= 0x21 && c <= 0x7e)

const utf8 = new TextDecoder('utf-8', { fatal: true })

// decode parses one WebSocket message, or throws BadFrame.
function decode(msg) {
  if (msg.length === 0) throw new BadFrame('empty message')
  const type = msg[0]
  const body = msg.subarray(1)
  const copy = (from, to) => Buffer.from(body.subarray(from, to))
  if (type in BODY && body.length !== BODY[type]) {
    throw new BadFrame(`${NAMES[type]} has ${body.length} bytes of body, want ${BODY[type]}`)
  }
  switch (type) {
    case T.HELLO:
      if (body.length < 4 + 1 + 32 + 16) throw new BadFrame('HELLO too short')
      if (!body.subarray(0, 4).equals(MAGIC) || body[4] !== VERSION) throw new BadFrame('HELLO of an unknown protocol or version')
      return {
        type, challenge: copy(5, 37), max_frame: body.readUInt32BE(37), handshake_timeout_ms: body.readUInt32BE(41),
        pairing_timeout_ms: body.readUInt32BE(45), ping_interval_ms: body.readUInt32BE(49),
      }
    case T.AUTH: {
      const origin = body.subarray(96)
      if (origin.length < 1 || origin.length > 255) throw new BadFrame(`AUTH origin of ${origin.length} bytes`)
      if (!printable(origin)) throw new BadFrame('AUTH origin is not printable ASCII')
      return { type, key: copy(0, 32), signature: copy(32, 96), origin: origin.toString('latin1') }
    }
    case T.OK: return { type }
    case T.DENIED: {
      if (body.length < 2 || body.length > 2 + 1024) throw new BadFrame(`DENIED of ${body.length} bytes of body`)
      let text
      try { text = utf8.decode(body.subarray(2)) } catch { throw new BadFrame('DENIED text is not UTF-8') }
      return { type, code: body.readUInt16BE(0), text }
    }
    case T.LISTEN: return { type, labels: decodeLabels(body) }
    case T.CONNECT: return { type, topic: copy(0, 32), stream_id: copy(32, 48) }
    case T.INCOMING: return { type, token: copy(0, 16), topic: copy(16, 48), key: copy(48, 80), stream_id: copy(80, 96) }
    case T.ACCEPT: return { type, token: copy(0, 16) }
    case T.PAIRED: return { type, key: copy(0, 32), stream_id: copy(32, 48) }
    case T.PING: case T.PONG: return { type, payload: copy(0, 8) }
    case T.RESTARTING: return { type, reconnect_in_ms: body.readUInt32BE(0), try_for_ms: body.readUInt32BE(4) }
    default: throw new BadFrame(`unknown frame type 0x${type.toString(16).padStart(2, '0')}`)
  }
}

// decodeLabels parses LISTEN's body: 1..8 distinct labels of 1..64
// printable ASCII bytes, and nothing after them (§3.3).
function decodeLabels(body) {
  if (body.length < 1 || body[0] < 1 || body[0] > 8) throw new BadFrame('LISTEN must carry 1 to 8 labels')
  const labels = []
  let at = 1
  for (let i = 0; i < body[0]; i++) {
    if (at >= body.length || at + 1 + body[at] > body.length) throw new BadFrame('LISTEN label runs past the frame')
    const l = body.subarray(at + 1, at + 1 + body[at])
    at += 1 + body[at]
    if (l.length > 64 || !printable(l)) throw new BadFrame('LISTEN label is not 1 to 64 bytes of printable ASCII')
    const s = l.toString('latin1')
    if (labels.includes(s)) throw new BadFrame(`LISTEN label ${JSON.stringify(s)} twice`)
    labels.push(s)
  }
  if (at !== body.length) throw new BadFrame(`${body.length - at} bytes after LISTEN's labels`)
  return labels
}

// --- keys, topics, origins ---------------------------------------------

// topicOf is SHA-256("multiserver-relay.1 topic" ‖ key ‖ label) (§3.3).
function topicOf(key, label) {
  return crypto.createHash('sha256').update(TOPIC_DOMAIN).update(key).update(label, 'latin1').digest()
}

// authMessage is what AUTH signs (§3.2).
function authMessage(challenge, origin) {
  return Buffer.concat([AUTH_DOMAIN, challenge, Buffer.from(origin, 'latin1')])
}

// An Ed25519 public key as SPKI DER is this prefix and the 32 raw bytes.
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

// verify reports whether sig is key's Ed25519 signature of msg.
function verify(key, msg, sig) {
  try {
    const pub = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, key]), format: 'der', type: 'spki' })
    return crypto.verify(null, msg, pub, sig)
  } catch {
    return false // not a key OpenSSL takes
  }
}

const SCHEMES = { ws: 'ws', http: 'ws', wss: 'wss', https: 'wss' }

// originOf returns the origin a client signs for a relay URL (§3.2):
// scheme "://" host [":" port], http written ws and https wss, scheme and
// host in lower case, the default port left out.
function originOf(url) {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(url)
  const scheme = m && SCHEMES[m[1].toLowerCase()]
  if (!scheme) throw new Error(`${JSON.stringify(url)} is not a ws, wss, http or https URL`)
  const authority = m[2].slice(m[2].lastIndexOf('@') + 1) // no user information
  return originFromHost(scheme, authority)
}

// originFromHost normalises scheme and a host[:port], as a URL or a Host
// header gives it.
function originFromHost(scheme, hostport) {
  let host = hostport
  let port = ''
  const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(hostport)
  if (v6) {
    host = v6[1]
    port = v6[2] || ''
  } else if (hostport.includes(':')) {
    host = hostport.slice(0, hostport.lastIndexOf(':'))
    port = hostport.slice(hostport.lastIndexOf(':') + 1)
  }
  host = host.toLowerCase()
  if (host.includes(':')) host = `[${host}]`
  if (port === '' || (scheme === 'ws' && port === '80') || (scheme === 'wss' && port === '443')) return `${scheme}://${host}`
  return `${scheme}://${host}:${port}`
}

const hex = (b) => b.toString('hex')

// --- the relay ----------------------------------------------------------

// A Conn is one WebSocket the relay took. Its state follows §4: hello,
// authed, control, pending, paired, closed.
class Conn {
  constructor(ip, host) {
    this.ip = ip
    this.host = host // the Host header, for --origin=host
    this.ws = null
    this.unauth = true
    this.state = 'hello'
    this.challenge = crypto.randomBytes(32)
    this.key = null
    this.handshakeTimer = null
    this.registered = false // a control connection counted against its IP
    this.topics = new Map() // control: topic hex → label
    this.pingTimer = null
    this.lastRead = Date.now()
    this.pending = null // dialer: its pending CONNECT
    this.peer = null // paired: the other Conn
    this.idleTimer = null // paired: the pairing's idle timer, shared with the peer
  }
}

class Relay {
  constructor(opts) {
    this.opts = opts
    this.origins = opts.origins // null: from the Host header
    this.closing = false
    this.unauth = 0
    this.perIP = new Map() // ip → { conns, regs }
    this.keys = new Map() // key hex → control Conn
    this.topics = new Map() // topic hex → control Conn
    this.pending = new Map() // token hex → pending CONNECT
    this.waiting = new Map() // topic hex → pending CONNECTs
    this.conns = new Set()
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(opts.readLimit, opts.maxFrame),
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
  }

  // request answers plain HTTP: 426 at the relay's path (§2).
  request(req, res) {
    const path = req.url.split('?')[0]
    if (path === this.opts.path) {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' })
      res.end(`this is a multiserver relay; it speaks WebSocket (${SUBPROTOCOL}) only\n`)
    } else if (path === '/healthz') {
      res.end('ok\n')
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end('not found\n')
    }
  }

  // upgrade takes a WebSocket upgrade, or refuses it before upgrading
  // (§2: 400 without the subprotocol, 503 over a limit or while closing).
  upgrade(req, socket, head) {
    socket.on('error', () => {}) // a reset before the upgrade is not ours to report
    const path = req.url.split('?')[0]
    if (path !== this.opts.path) return refuse(socket, 404, 'not found')
    const asked = String(req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim())
    if (!asked.includes(SUBPROTOCOL)) return refuse(socket, 400, `the WebSocket subprotocol ${SUBPROTOCOL} is required`)
    const ip = String(socket.remoteAddress || '').replace(/^::ffff:/, '')
    const n = this.perIP.get(ip) || { conns: 0, regs: 0 }
    let why = ''
    if (this.closing) why = 'shutting down'
    else if (this.unauth >= this.opts.maxUnauth) why = 'too many unauthenticated connections'
    else if (n.conns >= this.opts.maxConnsPerIP) why = 'too many connections from ' + ip
    if (why) return refuse(socket, 503, why, { 'Retry-After': '1' })
    n.conns++
    this.perIP.set(ip, n)
    this.unauth++
    const c = new Conn(ip, req.headers.host || '')
    socket.once('close', () => this.release(c))
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(c, ws))
  }

  // release forgets c once its TCP connection has closed.
  release(c) {
    if (c.unauth) this.unauth--
    c.unauth = false
    this.perIP.get(c.ip).conns--
    this.forgetIP(c.ip)
  }

  forgetIP(ip) {
    const n = this.perIP.get(ip)
    if (n && n.conns === 0 && n.regs === 0) this.perIP.delete(ip)
  }

  // open sends HELLO on a new WebSocket and starts the handshake timeout.
  open(c, ws) {
    c.ws = ws
    this.conns.add(c)
    ws.on('message', (data, isBinary) => this.message(c, data, isBinary))
    ws.on('close', (code, reason) => this.closed(c, code, reason))
    ws.on('error', () => {}) // 'close' follows
    c.handshakeTimer = setTimeout(() => {
      this.deny(c, CODE.HANDSHAKE_TIMEOUT, `no request within ${this.opts.handshakeTimeoutMs}ms`)
    }, this.opts.handshakeTimeoutMs)
    this.send(c, {
      type: T.HELLO, challenge: c.challenge, max_frame: this.opts.maxFrame,
      handshake_timeout_ms: this.opts.handshakeTimeoutMs, pairing_timeout_ms: this.opts.pairingTimeoutMs,
      ping_interval_ms: this.opts.pingIntervalMs,
    })
  }

  send(c, f) {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(encode(f))
  }

  // deny sends DENIED, the last frame on c, and closes it (§3.2).
  deny(c, code, text) {
    if (c.state === 'closed') return
    c.state = 'closed'
    clearTimeout(c.handshakeTimer)
    let b = Buffer.from(text, 'utf8')
    if (b.length > 1024) b = Buffer.from(b.subarray(0, 1024).toString('utf8').replace(/\uFFFD$/, ''), 'utf8')
    this.send(c, { type: T.DENIED, code, text: b.toString('utf8') })
    c.ws.resume() // a pending WebSocket is paused: read the close frame that answers ours
    c.ws.close(1000, 'denied')
  }

  // restarting sends RESTARTING on c and closes it with 1001 (§3.6).
  restarting(c) {
    if (c.state === 'closed') return
    c.state = 'closed'
    clearTimeout(c.handshakeTimer)
    this.send(c, { type: T.RESTARTING, reconnect_in_ms: this.opts.reconnectInMs, try_for_ms: this.opts.tryForMs })
    c.ws.resume()
    c.ws.close(1001, 'relay restarting')
  }

  // message handles one WebSocket message on c, by c's state (§4).
  message(c, data, isBinary) {
    if (c.state === 'paired') return this.forward(c, data, isBinary)
    if (c.state === 'closed') return
    if (data.length > this.opts.maxFrame) {
      c.state = 'closed'
      return c.ws.close(CLOSE_TOO_BIG, 'frame too big')
    }
    if (!isBinary) return this.deny(c, CODE.BAD_FRAME, 'text message')
    let f
    try {
      f = decode(data)
    } catch (err) {
      if (err instanceof BadFrame) return this.deny(c, CODE.BAD_FRAME, err.message)
      throw err
    }
    c.lastRead = Date.now()
    const want = {
      hello: [T.AUTH, T.PING],
      authed: [T.LISTEN, T.CONNECT, T.ACCEPT, T.PING],
      control: [T.LISTEN, T.PING, T.PONG],
      pending: [],
    }[c.state]
    if (!want.includes(f.type)) return this.deny(c, CODE.BAD_FRAME, `${NAMES[f.type]} is not expected now`)
    switch (f.type) {
      case T.PING: return this.send(c, { type: T.PONG, payload: f.payload })
      case T.PONG: return
      case T.AUTH: return this.auth(c, f)
      case T.LISTEN: return this.listen(c, f.labels)
      case T.CONNECT: return this.connect(c, f)
      case T.ACCEPT: return this.accept(c, f)
    }
  }

  // auth checks AUTH: the origin is the relay's, the signature good.
  auth(c, f) {
    const ok = this.origins
      ? this.origins.includes(f.origin)
      : f.origin === originFromHost('ws', c.host) || f.origin === originFromHost('wss', c.host)
    if (!ok) return this.deny(c, CODE.BAD_ORIGIN, `origin ${JSON.stringify(f.origin)} is not this relay's`)
    if (!verify(f.key, authMessage(c.challenge, f.origin), f.signature)) {
      return this.deny(c, CODE.BAD_SIGNATURE, 'signature does not verify')
    }
    c.key = f.key
    c.state = 'authed'
    c.unauth = false
    this.unauth--
    this.send(c, { type: T.OK })
  }

  // listen registers c's labels (§3.3): the first LISTEN makes c a
  // control connection; the newest registration of a key wins.
  listen(c, labels) {
    clearTimeout(c.handshakeTimer)
    if (this.closing) return this.deny(c, CODE.SHUTTING_DOWN, 'the relay is shutting down')
    if (c.state === 'authed') {
      const n = this.perIP.get(c.ip)
      if (n.regs >= this.opts.maxRegistrationsPerIP) return this.deny(c, CODE.LIMIT, 'too many registrations from ' + c.ip)
      n.regs++
      c.registered = true
      c.state = 'control'
      c.pingTimer = setInterval(() => this.ping(c), this.opts.pingIntervalMs)
    }
    const k = hex(c.key)
    const old = this.keys.get(k) !== c ? this.keys.get(k) : null
    if (old) {
      this.dropTopics(old)
      for (const p of this.pending.values()) if (p.ctl === old) p.ctl = c
    }
    this.keys.set(k, c)
    this.dropTopics(c)
    for (const l of labels) {
      const t = hex(topicOf(c.key, l))
      c.topics.set(t, l)
      this.topics.set(t, c)
    }
    this.send(c, { type: T.OK })
    if (old) this.deny(old, CODE.REPLACED, 'a newer registration of this key replaced this one')
  }

  dropTopics(ctl) {
    for (const t of ctl.topics.keys()) if (this.topics.get(t) === ctl) this.topics.delete(t)
    ctl.topics.clear()
  }

  // ping pings a control connection, or closes it after three silent
  // intervals (§3.6).
  ping(c) {
    if (Date.now() - c.lastRead >= 3 * this.opts.pingIntervalMs) return c.ws.terminate()
    this.send(c, { type: T.PING, payload: crypto.randomBytes(8) })
  }

  // connect serves a CONNECT (§3.4): NO_PEER at once, LIMIT, or INCOMING
  // to the listener and a wait for its ACCEPT.
  connect(c, f) {
    clearTimeout(c.handshakeTimer)
    if (this.closing) return this.deny(c, CODE.SHUTTING_DOWN, 'the relay is shutting down')
    const topic = hex(f.topic)
    const ctl = this.topics.get(topic)
    if (!ctl) return this.deny(c, CODE.NO_PEER, 'nobody is registered for the topic')
    if ((this.waiting.get(topic) || 0) >= this.opts.maxPending) {
      return this.deny(c, CODE.LIMIT, 'too many connects waiting for the listener')
    }
    const p = { token: crypto.randomBytes(16), topic, stream: f.stream_id, dialer: c, ctl, listener: ctl.key }
    this.pending.set(hex(p.token), p)
    this.waiting.set(topic, (this.waiting.get(topic) || 0) + 1)
    c.pending = p
    c.state = 'pending'
    c.ws.pause() // nothing is read from a pending WebSocket
    p.timer = setTimeout(() => this.fail(p, CODE.TIMEOUT, `the listener did not accept within ${this.opts.pairingTimeoutMs}ms`),
      this.opts.pairingTimeoutMs)
    this.send(ctl, { type: T.INCOMING, token: p.token, topic: f.topic, key: c.key, stream_id: f.stream_id })
  }

  // unpend forgets the pending CONNECT p.
  unpend(p) {
    clearTimeout(p.timer)
    this.pending.delete(hex(p.token))
    const n = this.waiting.get(p.topic) - 1
    if (n > 0) this.waiting.set(p.topic, n)
    else this.waiting.delete(p.topic)
    p.dialer.pending = null
  }

  // fail ends the pending CONNECT p with DENIED code.
  fail(p, code, text) {
    this.unpend(p)
    this.deny(p.dialer, code, text)
  }

  // accept serves an ACCEPT: it pairs c with the CONNECT of its token, if
  // c has the key that registered the topic.
  accept(c, f) {
    clearTimeout(c.handshakeTimer)
    const p = this.pending.get(hex(f.token))
    if (this.closing) return this.restarting(c)
    if (!p || !p.listener.equals(c.key)) return this.deny(c, CODE.BAD_TOKEN, 'no connect waits for this token and key')
    this.unpend(p)
    const a = p.dialer
    a.state = c.state = 'paired'
    a.peer = c
    c.peer = a
    this.send(a, { type: T.PAIRED, key: c.key, stream_id: p.stream })
    this.send(c, { type: T.PAIRED, key: a.key, stream_id: p.stream })
    a.ws.resume()
    if (this.opts.idlePairingTimeoutMs > 0) {
      a.idleTimer = c.idleTimer = setTimeout(() => this.idle(a, c), this.opts.idlePairingTimeoutMs)
    }
  }

  // idle closes both sides of a pairing that carried no data message for
  // the idle pairing timeout, with 4002 (§3.5).
  idle(a, b) {
    for (const c of [a, b]) {
      this.unpair(c)
      c.ws.resume() // read the close frame that answers ours
      c.ws.close(CLOSE_IDLE, 'idle')
    }
  }

  // forward copies one data message from src to its peer (§3.5). While the
  // peer's socket has more queued than it takes without blocking, src is
  // not read: the backpressure reaches src's sender through TCP.
  forward(src, data, isBinary) {
    const dst = src.peer
    if (!dst) return
    if (!isBinary) {
      this.unpair(src)
      src.ws.close(CLOSE_UNSUPPORTED, 'text message')
      dst.ws.close(CLOSE_UNSUPPORTED, 'text message')
      return
    }
    if (dst.ws.readyState !== WebSocket.OPEN) return
    if (src.idleTimer) src.idleTimer.refresh()
    dst.ws.send(data)
    if (dst.ws._socket.writableNeedDrain && !src.ws.isPaused) {
      src.ws.pause()
      dst.ws._socket.once('drain', () => src.ws.resume())
    }
  }

  unpair(c) {
    if (c.peer) c.peer.peer = null
    c.peer = null
  }

  // closed cleans up after c's WebSocket has closed, and ends its peer's:
  // with the same status after a close frame, 4001 after a lost
  // connection (§3.5).
  closed(c, code, reason) {
    c.state = 'closed'
    this.conns.delete(c)
    clearTimeout(c.handshakeTimer)
    clearTimeout(c.idleTimer)
    clearInterval(c.pingTimer)
    if (c.registered) this.unregister(c)
    if (c.pending) this.unpend(c.pending)
    const peer = c.peer
    if (peer) {
      this.unpair(c)
      peer.ws.resume() // it may wait for a drain of c that will not come
      if (code === 1006) peer.ws.close(CLOSE_LOST, 'peer connection lost')
      else if (code === 1005) peer.ws.close()
      else peer.ws.close(code, reason)
    }
    if (this.closing && this.conns.size === 0) process.exit(0)
  }

  // unregister drops a control connection's topics; the CONNECTs waiting
  // for it get NO_PEER at once.
  unregister(ctl) {
    ctl.registered = false
    this.perIP.get(ctl.ip).regs--
    this.forgetIP(ctl.ip)
    if (this.keys.get(hex(ctl.key)) === ctl) this.keys.delete(hex(ctl.key))
    this.dropTopics(ctl)
    for (const p of [...this.pending.values()]) {
      if (p.ctl === ctl) this.fail(p, CODE.NO_PEER, 'the listener went away')
    }
  }

  // shutdown takes no more WebSockets, sends RESTARTING on those not yet
  // paired and closes the pairings with 1001 (§3.6).
  shutdown(server) {
    if (this.closing) return
    this.closing = true
    server.close()
    for (const p of [...this.pending.values()]) this.unpend(p)
    for (const c of this.conns) {
      if (c.state === 'paired') c.ws.close(1001, 'relay shutting down')
      else this.restarting(c)
    }
    if (this.conns.size === 0) process.exit(0)
    setTimeout(() => process.exit(0), 2000).unref()
  }
}

// refuse answers an upgrade with an HTTP error and closes the socket.
function refuse(socket, status, text, headers = {}) {
  const body = `relay: ${text}\n`
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`, 'Connection: close', 'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body)}`]
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body)
}

// parseArgs reads --name=value flags; --origin may repeat.
function parseArgs(argv) {
  const num = {
    port: 0, 'max-frame': 4096, 'handshake-timeout-ms': 10000, 'pairing-timeout-ms': 10000,
    'ping-interval-ms': 15000, 'max-pending': 16, 'max-registrations-per-ip': 64, 'max-conns-per-ip': 1024,
    'max-unauth': 1024, 'read-limit': 1 << 20, 'reconnect-in-ms': 2000, 'try-for-ms': 60000,
    'idle-pairing-timeout-ms': 300000,
  }
  const str = { host: '127.0.0.1', path: '/relay' }
  const origins = []
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a)
    if (m && m[1] === 'origin') origins.push(m[2])
    else if (m && m[1] in str) str[m[1]] = m[2]
    else if (m && m[1] in num && /^\d+$/.test(m[2])) num[m[1]] = Number(m[2])
    else throw new Error('bad argument ' + JSON.stringify(a))
  }
  const camel = (s) => s.replace(/-(.)/g, (_, c) => c.toUpperCase())
  const opts = { origins }
  for (const [k, v] of Object.entries({ ...num, ...str })) opts[camel(k)] = v
  opts.maxRegistrationsPerIP = opts.maxRegistrationsPerIp
  opts.maxConnsPerIP = opts.maxConnsPerIp
  return opts
}

function main() {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.error('relay.js: ' + err.message)
    process.exit(2)
  }
  const server = http.createServer()
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address()
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
    const url = `ws://${host}:${port}${opts.path}`
    try {
      if (opts.origins.includes('host')) opts.origins = null
      else opts.origins = (opts.origins.length ? opts.origins : [url]).map(originOf)
    } catch (err) {
      console.error('relay.js: --origin: ' + err.message)
      process.exit(2)
    }
    const relay = new Relay(opts)
    server.on('request', (req, res) => relay.request(req, res))
    server.on('upgrade', (req, socket, head) => relay.upgrade(req, socket, head))
    process.on('SIGTERM', () => relay.shutdown(server))
    process.on('SIGINT', () => relay.shutdown(server))
    process.stdout.write(url + '\n')
  })
  server.on('error', (err) => {
    console.error('relay.js: ' + err.message)
    process.exit(1)
  })
}

if (require.main === module) main()

module.exports = { T, CODE, BadFrame, encode, decode, topicOf, authMessage, verify, originOf, SUBPROTOCOL }
