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

// touch reaches the whole backing array up to its capacity, of any element
// size, leaves it zero, and allocates nothing.
func TestTouch(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"nil", func(t *testing.T) { touch[uint32](nil) }},
		{"empty with capacity", func(t *testing.T) {
			s := make([]withPointers, 0, 300)
			touch(s)
			checkZero(t, s[:cap(s)])
		}},
		{"one small element", func(t *testing.T) {
			s := make([]byte, 1)
			touch(s)
			checkZero(t, s)
		}},
		{"elements larger than a page", func(t *testing.T) {
			s := make([][3 * size / 2]byte, 5)
			touch(s)
			checkZero(t, s)
		}},
		{"zero-size elements", func(t *testing.T) {
			touch(make([]struct{}, 10))
		}},
		{"index of many pages", func(t *testing.T) {
			s := make([]uint32, 1<<16)
			touch(s[:10])
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
			t.Fatalf("byte %d of %d is %d after touch, want 0", i, len(b), c)
		}
	}
}

func TestTouchAllocatesNothing(t *testing.T) {
	s := make([]withPointers, 0, 1000)
	if n := testing.AllocsPerRun(100, func() { touch(s) }); n != 0 {
		t.Fatalf("touch allocates %.1f times per call, want 0", n)
	}
}

// Make is make with the pages written: the length and capacity asked
// for, zeros, and the one allocation make does.
func TestMake(t *testing.T) {
	cases := []struct{ n, c int }{{0, 0}, {0, 256}, {10, 10}, {1 << 14, 1 << 14}, {3, 1 << 12}}
	for _, c := range cases {
		s := Make[withPointers](c.n, c.c)
		if len(s) != c.n || cap(s) != c.c {
			t.Fatalf("Make(%d, %d): len %d cap %d", c.n, c.c, len(s), cap(s))
		}
		checkZero(t, s[:cap(s)])
	}
	var kept []uint32 // on the heap, as the engine's blocks are
	if n := testing.AllocsPerRun(20, func() { kept = Make[uint32](1<<12, 1<<12) }); n != 1 {
		t.Fatalf("Make allocates %.1f times per call, want 1 (make's own)", n)
	}
	checkZero(t, kept)
}

func BenchmarkTouch(b *testing.B) {
	s := make([]withPointers, 0, 256) // the size of a record block
	b.SetBytes(int64(cap(s)) * int64(unsafe.Sizeof(s[0])))
	for b.Loop() {
		touch(s)
	}
}
