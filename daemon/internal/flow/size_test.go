package flow

import (
	"testing"
	"unsafe"

	"tamon/daemon/internal/record"
)

// TestBytesPerSession bounds what one open session holds: the slab entry,
// its timeline slots and its share of the index (at most 2 slots of 4 bytes
// at the table's maximum load of one half, 4 at the moment after growth).
func TestBytesPerSession(t *testing.T) {
	cfg := DefaultConfig()
	blocks := (max(cfg.Timeline-headSteps, 0) + blockSteps - 1) / blockSteps
	worst := int(unsafe.Sizeof(Session{})) + int(unsafe.Sizeof(tlHead{})) + blocks*int(unsafe.Sizeof(tlBlock{})) + 2*4
	short := int(unsafe.Sizeof(Session{})) + int(unsafe.Sizeof(tlHead{})) + 2*4
	t.Logf("bytes per open session: %d at most (timeline of %d), %d up to %d packets (Session %d, head %d, block %d, step %d)",
		worst, cfg.Timeline, short, headSteps, unsafe.Sizeof(Session{}), unsafe.Sizeof(tlHead{}), unsafe.Sizeof(tlBlock{}), unsafe.Sizeof(record.Step{}))
	if worst > 400 {
		t.Fatalf("%d bytes per session, budget 400", worst)
	}
}
