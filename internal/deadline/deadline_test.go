package deadline

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var d Deadline
		if d.Passed() {
			t.Fatal("the zero Deadline has passed")
		}
		d.Set(time.Now().Add(time.Second))
		done := d.Done()
		time.Sleep(999 * time.Millisecond)
		if d.Passed() {
			t.Fatal("passed early")
		}
		<-done
		if !d.Passed() {
			t.Fatal("Done closed but not Passed")
		}

		d.Set(time.Now().Add(time.Second)) // reopens
		if d.Passed() {
			t.Fatal("still passed after a new deadline")
		}
		d.Set(time.Time{}) // clears
		time.Sleep(2 * time.Second)
		if d.Passed() {
			t.Fatal("a cleared deadline passed")
		}
		d.Set(time.Now().Add(-time.Second)) // in the past: now
		if !d.Passed() {
			t.Fatal("a past deadline has not passed")
		}
		d.Set(time.Now().Add(-time.Second)) // again: stays passed
		if !d.Passed() {
			t.Fatal("a past deadline set twice has not passed")
		}

		d.Set(time.Now().Add(time.Second))
		d.Stop()
		time.Sleep(2 * time.Second)
		if d.Passed() {
			t.Fatal("passed after Stop")
		}
	})
}

// TestSetAfterStop: a conn that closes stops its deadlines, and a caller
// may still set them afterwards (a handshake's context ending after the
// conn closed): Set must not wait for a timer that will never fire.
func TestSetAfterStop(t *testing.T) {
	var d Deadline
	d.Set(time.Now().Add(time.Hour))
	d.Stop()
	done := make(chan struct{})
	go func() {
		d.Set(time.Unix(1, 0))
		d.Set(time.Time{})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Set after Stop hangs")
	}
}
