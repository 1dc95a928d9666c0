package quic_test

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"net"
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/quic"
)

// TestGarbageDatagrams sends a listener thousands of datagrams that are
// not QUIC, or look like QUIC and are not: random bytes, long headers
// of QUIC version 1 and of unknown versions (padded to the size of an
// Initial), short headers for no connection. A connection made before
// goes on working, a new dial works, and no stream comes of the
// garbage. TestMain's leak check then shows that nothing lingers.
func TestGarbageDatagrams(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	streams := make(chan struct{}, 16)
	serve(t, ln, func(c net.Conn) {
		streams <- struct{}{}
		echo(c)
	})
	before := dial(t, client, advertised(t, ln))
	defer before.Close()
	roundTrip(t, before, "before")
	<-streams

	conn, err := net.DialUDP("udp", nil, ln.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 3000 {
		var b []byte
		switch i % 4 {
		case 0: // anything, of any size
			b = make([]byte, 1+mrand.IntN(1500))
			rand.Read(b)
		case 1: // a long header of version 1, as an Initial would be
			b = make([]byte, 1200+mrand.IntN(200))
			rand.Read(b)
			b[0] = 0xc0 | b[0]&0x3f
			binary.BigEndian.PutUint32(b[1:], 1)
			b[5] = byte(mrand.IntN(21)) // a plausible connection ID length
		case 2: // a long header of a version nobody speaks
			b = make([]byte, 1200)
			rand.Read(b)
			b[0] = 0xc0
			binary.BigEndian.PutUint32(b[1:], 0x1a2a3a4a)
			b[5], b[14] = 8, 8
		case 3: // a short header, for a connection that does not exist
			b = make([]byte, 20+mrand.IntN(1200))
			rand.Read(b)
			b[0] = 0x40 | b[0]&0x3f
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}

	roundTrip(t, before, "after, on the old connection")
	after := dial(t, client, advertised(t, ln))
	roundTrip(t, after, "after, on a new connection")
	after.Close()
	<-streams
	select {
	case <-streams:
		t.Fatal("the listener accepted a stream that was not dialed")
	default:
	}
}
