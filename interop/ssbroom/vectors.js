// Prints spec/vectors/muxrpc.json: packets encoded by the JavaScript
// packet-stream-codec (the codec of muxrpc) and how it decodes them.
// Run from the repository root: node interop/ssbroom/vectors.js
'use strict'
const psc = require('packet-stream-codec')

const messages = [
  { name: 'async request', msg: { req: 1, stream: false, end: false, value: { name: ['tunnel', 'isRoom'], args: [], type: 'async' } } },
  { name: 'async answer, JSON', msg: { req: -1, stream: false, end: false, value: { name: 'room', description: 'a room' } } },
  { name: 'async answer, true', msg: { req: -7, stream: false, end: false, value: true } },
  { name: 'async error answer', msg: { req: -2, stream: false, end: true, value: { message: 'no async:room.metadata', name: 'Error', stack: '' } } },
  { name: 'duplex request', msg: { req: 3, stream: true, end: false, value: { name: ['tunnel', 'connect'], args: [{ target: '@Ft1TjpWfIQ6VUdc7DBNeoPm3r8smfZlT7TfWDUMEaIQ=.ed25519', portal: '@51w4nYL0k7mRzDGw20KQqCjt35y8qLiopoGb8f/QuYI=.ed25519' }], type: 'duplex' } } },
  { name: 'stream data, buffer', msg: { req: 3, stream: true, end: false, value: Buffer.from('00010203fffefd', 'hex') } },
  { name: 'stream data from the callee, buffer', msg: { req: -3, stream: true, end: false, value: Buffer.from('hello') } },
  { name: 'stream data, string', msg: { req: 4, stream: true, end: false, value: 'héllo' } },
  { name: 'stream data, JSON event', msg: { req: -5, stream: true, end: false, value: { type: 'joined', id: '@Ft1TjpWfIQ6VUdc7DBNeoPm3r8smfZlT7TfWDUMEaIQ=.ed25519' } } },
  { name: 'stream end', msg: { req: 3, stream: true, end: true, value: true } },
  { name: 'stream end with error', msg: { req: -3, stream: true, end: true, value: { message: 'could not connect to: @Ft1TjpWfIQ6VUdc7DBNeoPm3r8smfZlT7TfWDUMEaIQ=.ed25519', name: 'Error', stack: '' } } },
  { name: 'largest request number', msg: { req: 2147483647, stream: false, end: false, value: 'x' } },
  { name: 'smallest request number', msg: { req: -2147483648, stream: true, end: false, value: Buffer.from([0]) } },
  { name: 'message with no request', msg: { req: 0, stream: false, end: false, value: [] } },
]

const packets = messages.map(({ name, msg }) => {
  const [head, body] = psc.encodePair(msg)
  const wire = Buffer.concat([head, body])
  const dec = psc.decodeBody(body, psc.decodeHead(head))
  return {
    name,
    wire: wire.toString('hex'),
    stream: dec.stream,
    end: dec.end,
    type: ['buffer', 'string', 'json'][dec.type],
    req: dec.req,
    body: body.toString('hex'),
  }
})

const [goodbye] = psc.encodePair('GOODBYE')

// Headers the decoder refuses or reads specially.
function decodeError (hex) {
  const b = Buffer.from(hex, 'hex')
  try {
    const h = psc.decodeHead(b.subarray(0, 9))
    if (h.length === 0) return 'goodbye'
    psc.decodeBody(b.subarray(9), h)
    return null
  } catch (e) {
    // Node's JSON messages change between versions: keep the category.
    return e instanceof SyntaxError ? 'invalid JSON' : e.message
  }
}
const invalid = [
  { name: 'body type 3', wire: '0b000000010000000178' },
  { name: 'zero length with flags set reads as the goodbye', wire: '0e00000000ffffffff' },
  { name: 'JSON body that does not parse', wire: '02000000020000000178' + '7b' },
].map(v => ({ ...v, error: decodeError(v.wire) }))

process.stdout.write(JSON.stringify({
  source: 'packet-stream-codec 1.2.0 (npm), encodePair/decodeHead/decodeBody',
  goodbye: goodbye.toString('hex'),
  packets,
  invalid,
}, null, 2) + '\n')
