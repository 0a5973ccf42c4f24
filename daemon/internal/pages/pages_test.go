package pages

import (
	"testing"
	"unsafe"
)

type withPointers struct {
	s   string
	p   *int
	pad [100]byte
}

// Touch reaches the whole backing array up to its capacity, of any element
// size, leaves it zero, and allocates nothing.
func TestTouch(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"nil", func(t *testing.T) { Touch[uint32](nil) }},
		{"empty with capacity", func(t *testing.T) {
			s := make([]withPointers, 0, 300)
			Touch(s)
			checkZero(t, s[:cap(s)])
		}},
		{"one small element", func(t *testing.T) {
			s := make([]byte, 1)
			Touch(s)
			checkZero(t, s)
		}},
		{"elements larger than a page", func(t *testing.T) {
			s := make([][3 * size / 2]byte, 5)
			Touch(s)
			checkZero(t, s)
		}},
		{"zero-size elements", func(t *testing.T) {
			Touch(make([]struct{}, 10))
		}},
		{"index of many pages", func(t *testing.T) {
			s := make([]uint32, 1<<16)
			Touch(s[:10])
			checkZero(t, s)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

func checkZero[T any](t *testing.T, s []T) {
	t.Helper()
	if len(s) == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), uintptr(len(s))*unsafe.Sizeof(s[0]))
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d of %d is %d after Touch, want 0", i, len(b), c)
		}
	}
}

func TestTouchAllocatesNothing(t *testing.T) {
	s := make([]withPointers, 0, 1000)
	if n := testing.AllocsPerRun(100, func() { Touch(s) }); n != 0 {
		t.Fatalf("Touch allocates %.1f times per call, want 0", n)
	}
}

func BenchmarkTouch(b *testing.B) {
	s := make([]withPointers, 0, 256) // the size of a record block
	b.SetBytes(int64(cap(s)) * int64(unsafe.Sizeof(s[0])))
	for b.Loop() {
		Touch(s)
	}
}
