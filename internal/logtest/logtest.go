// Package logtest captures log records for tests that check what a
// package logs from its own goroutines.
package logtest

import (
	"bytes"
	"log/slog"
	"sync"
)

// A Buffer is a bytes.Buffer that goroutines may write to at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Debug returns a logger that writes records of every level from Debug
// up to b, as text.
func Debug(b *Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
