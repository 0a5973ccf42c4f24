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
	per := int(unsafe.Sizeof(Session{})) + cfg.Timeline*int(unsafe.Sizeof(record.Step{})) + 4*4
	t.Logf("bytes per open session: %d (Session %d, timeline %d x %d)", per, unsafe.Sizeof(Session{}), cfg.Timeline, unsafe.Sizeof(record.Step{}))
	if per > 400 {
		t.Fatalf("%d bytes per session, budget 400", per)
	}
}
