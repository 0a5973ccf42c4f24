package decimal

import (
	"strconv"
	"testing"
)

func TestAppendUint(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 42, 99, 100, 101, 771, 999, 1000, 1500, 4865, 9999, 10000, 12345,
		49195, 65535, 99999, 100000, 1234567, 99999999, 100000000, 999999999, 1000000000, 1<<32 - 1, 1 << 32,
		1767225600123, 1767225600000, 1767225600009, 1700000000, 9999999999999999, 1e16, 1e16 + 1,
		100000000 * 43, 1<<63 + 1, ^uint64(0)} {
		if got, want := string(AppendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("AppendUint(%d) = %s, want %s", v, got, want)
		}
	}
}

// BenchmarkAppendUint writes the numbers of a session record's timeline
// step and counters: small ones, a 5-digit one and a timestamp.
func BenchmarkAppendUint(b *testing.B) {
	in := []uint64{1, 2, 60, 1500, 24, 443, 51234, 1767225600123}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, v := range in {
			buf = AppendUint(buf, v)
		}
	}
}

// FuzzAppendUint compares AppendUint with strconv for any value.
func FuzzAppendUint(f *testing.F) {
	for _, v := range []uint64{0, 9, 10, 99999, 1 << 32, 1767225600123, 1e16 - 1, 1e16, ^uint64(0)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint64) {
		if got, want := string(AppendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("AppendUint(%d) = %s, want %s", v, got, want)
		}
	})
}
