package openaddr

import (
	"math/rand/v2"
	"testing"
)

// TestDelete runs random inserts and deletes on a small index whose homes
// collide often and wrap around its end, against a plain set: after every
// step each entry is found by probing from its home, and no other.
func TestDelete(t *testing.T) {
	for _, size := range []uint32{8, 16, 64} {
		mask := size - 1
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		homes := map[uint32]uint32{} // entry -> home slot
		home := func(v uint32) uint32 { return homes[v] }
		index := make([]uint32, size)
		find := func(v uint32) (uint32, bool) {
			for j := homes[v] & mask; ; j = (j + 1) & mask {
				switch index[j] {
				case v:
					return j, true
				case 0:
					return 0, false
				}
			}
		}
		live := map[uint32]bool{}
		next := uint32(1)
		for step := 0; step < 5000; step++ {
			if len(live) < int(size)*3/4 && (len(live) == 0 || rng.IntN(2) == 0) {
				v := next
				next++
				homes[v] = (uint32(rng.IntN(4)) + mask - 1) & mask // four homes around the wrap
				j := homes[v] & mask
				for index[j] != 0 {
					j = (j + 1) & mask
				}
				index[j] = v
				live[v] = true
			} else {
				for v := range live {
					j, ok := find(v)
					if !ok {
						t.Fatalf("size %d step %d: %d lost before its delete", size, step, v)
					}
					Delete(index, mask, j, home)
					delete(live, v)
					break
				}
			}
			n := 0
			for _, v := range index {
				if v != 0 {
					n++
					if !live[v] {
						t.Fatalf("size %d step %d: deleted %d still in the index", size, step, v)
					}
				}
			}
			if n != len(live) {
				t.Fatalf("size %d step %d: %d entries in the index, %d live", size, step, n, len(live))
			}
			for v := range live {
				if _, ok := find(v); !ok {
					t.Fatalf("size %d step %d: %d not reachable from its home %d: %v", size, step, v, homes[v], index)
				}
			}
		}
	}
}
