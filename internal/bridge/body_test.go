package bridge

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestPostBody checks the references of a send's pooled body: each
// reader reads all of it, a closed reader refuses to read, and the
// array goes back to the pool only once the sender and every reader
// have let go, in any order.
func TestPostBody(t *testing.T) {
	var q buffer
	want := make([]byte, maxPost+1000)
	for i := range want {
		want[i] = byte(i * 13)
	}
	q.push(want)
	defer q.release()
	for _, order := range []string{"sender first", "readers first"} {
		b := newPostBody(&q, 500, maxPost)
		if b.n != maxPost {
			t.Fatalf("body of %d bytes, want %d", b.n, maxPost)
		}
		r1, r2 := b.reader(), b.reader() // the request's, and one of GetBody
		for _, r := range []io.Reader{r1, r2} {
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want[500:500+maxPost]) {
				t.Fatalf("%s: read %d bytes, %v", order, len(got), err)
			}
		}
		if order == "sender first" {
			b.release()
		}
		r1.Close()
		r1.Close() // a second close drops no second reference
		if _, err := r1.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
			t.Fatalf("%s: read after close: %v", order, err)
		}
		if b.buf == nil {
			t.Fatalf("%s: array given back while a reader is open", order)
		}
		r2.Close()
		if order == "readers first" {
			if b.buf == nil {
				t.Fatalf("%s: array given back while the sender holds it", order)
			}
			b.release()
		}
		if b.buf != nil {
			t.Fatalf("%s: array not given back", order)
		}
	}
}
