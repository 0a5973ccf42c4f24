package dns

import (
	"bytes"
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	m1 := msgA
	m2 := msgTypical
	frame := func(m []byte) []byte { return cat(u16(uint16(len(m))), m) }
	tests := []struct {
		name     string
		buf      []byte
		want     [][]byte
		consumed int
	}{
		{"empty", nil, nil, 0},
		{"one byte of prefix", []byte{0}, nil, 0},
		{"prefix only", u16(uint16(len(m1))), nil, 0},
		{"one message", frame(m1), [][]byte{m1}, len(m1) + 2},
		{"two messages", cat(frame(m1), frame(m2)), [][]byte{m1, m2}, len(m1) + len(m2) + 4},
		{"one and a half", cat(frame(m1), frame(m2)[:30]), [][]byte{m1}, len(m1) + 2},
		{"one and a prefix byte", cat(frame(m1), []byte{0}), [][]byte{m1}, len(m1) + 2},
		{"zero-length message", cat(u16(0), frame(m1)), [][]byte{{}, m1}, len(m1) + 4},
		{"last byte missing", frame(m1)[:len(m1)+1], nil, 0},
		{"three", cat(frame(m2), frame(m1), frame(m2)), [][]byte{m2, m1, m2}, 2*len(m2) + len(m1) + 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]byte
			n := Split(tt.buf, func(msg []byte) { got = append(got, bytes.Clone(msg)) })
			if n != tt.consumed {
				t.Errorf("consumed %d, want %d", n, tt.consumed)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
				t.Errorf("got %d messages %v, want %d", len(got), got, len(tt.want))
			}
		})
	}
}

// TestSplitStream feeds a stream of messages to Split in pieces of every
// size, keeping the unconsumed tail between calls as a TCP reassembler
// would, and checks that every message comes out whole and in order.
func TestSplitStream(t *testing.T) {
	msgs := [][]byte{msgA, msgTypical, {}, msgA[:12], msgTypical}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, u16(uint16(len(m)))...)
		stream = append(stream, m...)
	}
	for chunk := 1; chunk <= len(stream); chunk++ {
		var pending, got []byte
		count := 0
		for off := 0; off < len(stream); off += chunk {
			pending = append(pending, stream[off:min(off+chunk, len(stream))]...)
			n := Split(pending, func(msg []byte) {
				if !bytes.Equal(msg, msgs[count]) {
					t.Fatalf("chunk %d: message %d differs", chunk, count)
				}
				got = append(got, msg...)
				count++
			})
			pending = append(pending[:0], pending[n:]...)
		}
		if count != len(msgs) || len(pending) != 0 {
			t.Fatalf("chunk %d: %d messages, %d bytes left", chunk, count, len(pending))
		}
	}
}

func BenchmarkSplit(b *testing.B) {
	stream := cat(u16(uint16(len(msgTypical))), msgTypical, u16(uint16(len(msgA))), msgA, []byte{0, 40, 1})
	n := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		Split(stream, func([]byte) { n++ })
	}
}
