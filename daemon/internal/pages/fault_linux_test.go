package pages

import (
	"runtime"
	"syscall"
	"testing"
)

// After touch, writing every page of fresh anonymous memory faults no
// more: touch mapped each page in for writing, not to the shared zero
// page. Reading a page first, as the collector or a write barrier does,
// would leave each later first write to fault again.
func TestTouchMapsPagesForWriting(t *testing.T) {
	const n = 256
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cases := []struct {
		name      string
		first     func(b []byte)
		minFaults int64 // of the writes after first
		maxFaults int64
	}{
		{"touched", func(b []byte) { touch(b) }, 0, n / 8},
		{"touched in 2-byte pieces across page ends", func(b []byte) {
			// Each piece starts one byte before a page ends: only its
			// last byte lies in the next page. Its capacity ends there
			// too, so no write may reach the page after.
			for k := 0; k < n/2; k++ {
				at := 2*k*size + size - 1
				touch(b[at : at+2 : at+2])
			}
		}, 0, n / 8},
		{"read first (what touch prevents)", func(b []byte) {
			var sum byte
			for i := 0; i < len(b); i += size {
				sum += b[i]
			}
			if sum != 0 {
				t.Fatalf("fresh memory reads %d, want 0", sum)
			}
		}, n / 2, n * 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := syscall.Mmap(-1, 0, n*size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
			if err != nil {
				t.Fatalf("mmap %d pages: %v", n, err)
			}
			defer syscall.Munmap(b)
			// Small pages only: a transparent huge page would take all
			// the faults at once. EINVAL: a kernel without them.
			if err := syscall.Madvise(b, syscall.MADV_NOHUGEPAGE); err != nil && err != syscall.EINVAL {
				t.Fatalf("madvise(MADV_NOHUGEPAGE): %v", err)
			}
			c.first(b)
			before := threadFaults(t)
			for i := 0; i < len(b); i += size {
				b[i+1] = 1
			}
			got := threadFaults(t) - before
			t.Logf("writing %d pages after %s: %d faults", n, c.name, got)
			if got < c.minFaults || got > c.maxFaults {
				t.Fatalf("writing %d pages after %s faulted %d times, want %d to %d", n, c.name, got, c.minFaults, c.maxFaults)
			}
		})
	}
}

// threadFaults is the minor page faults of the calling thread so far.
func threadFaults(t *testing.T) int64 {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		t.Fatalf("getrusage(RUSAGE_THREAD): %v", err)
	}
	return int64(ru.Minflt) // int32 on 32-bit targets
}
