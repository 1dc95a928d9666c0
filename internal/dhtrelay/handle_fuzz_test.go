package dhtrelay

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzHandle feeds a session, with one stream dialing, whatever frames
// a relay might send, in any order: the session must neither panic nor
// answer a handshake id twice. The input is frames, each after a 2-byte
// little-endian length.
func FuzzHandle(f *testing.F) {
	frames := func(ms ...Message) []byte {
		var in []byte
		for _, m := range ms {
			fr := AppendFrame(nil, 1, m)
			in = binary.LittleEndian.AppendUint16(in, uint16(len(fr)))
			in = append(in, fr...)
		}
		return in
	}
	f.Add(frames(
		NoiseSend{Initiator: true, ID: 3, RemoteStreamAlias: 1, Payload: []byte("payload")},
		NoiseReceive{Initiator: true, ID: 3, Payload: make([]byte, 64)},
		NoiseReceive{Initiator: true, ID: 3, Payload: make([]byte, 64)},
		Open{Alias: 9, RemoteAlias: 1, HandshakeID: 3},
		Data{Alias: 9, Chunks: [][]byte{[]byte("abc"), nil}},
		End{Alias: 9},
		Ping{},
		Destroy{Paired: true, Alias: 9, HasError: true, Error: "PEER_NOT_FOUND: Peer not found"},
	))
	f.Add(frames(Destroy{Alias: 1, HasError: true, Error: "x"}, Data{Alias: 1}, Open{Alias: 1, RemoteAlias: 1}))
	f.Add(append(binary.LittleEndian.AppendUint16(nil, 4), 0, 1, 1, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, priv, _ := ed25519.GenerateKey(nil)
		peer, _, _ := ed25519.GenerateKey(nil)
		c, err := NewClient(Config{URL: "ws://relay.invalid", Key: priv})
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(c)
		replies := map[uint32]int{}
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			for {
				select {
				case b := <-s.out:
					if fr, err := ParseFrame(b); err == nil {
						if r, ok := fr.Message.(NoiseReply); ok {
							replies[r.ID]++
						}
					}
				case <-s.done:
					return
				}
			}
		}()
		if _, err := s.newStream(peer); err != nil {
			t.Fatal(err)
		}
		for len(in) >= 2 {
			n := int(binary.LittleEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				break
			}
			if fr, err := ParseFrame(in[:n]); err == nil {
				s.handleFrame(fr)
			}
			in = in[n:]
		}
		s.fail(errors.New("fuzz: done"))
		<-drained
		for id, n := range replies {
			if n > 2 {
				t.Fatalf("%d answers to handshake id %d", n, id)
			}
		}
	})
}
