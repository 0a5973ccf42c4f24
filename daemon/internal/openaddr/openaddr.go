// Package openaddr is the linear-probing open addressing that the session
// table (flow) and the DNS name map (namemap) index their entries with: a
// power-of-two slice of entry numbers, 0 for an empty slot, each entry
// stored in the first free slot from its home slot on. Lookups compare
// the callers' own keys and stay with them; deletion, the subtle part,
// lives here once.
package openaddr

// Delete empties slot j of index (mask is len(index)-1) by backward shift:
// the entries after it in its probe run move back, so that every entry
// stays reachable from its home slot and no tombstone is left. home
// returns the home slot (hash & mask) of the entry stored as v; it is only
// called, never kept, so a closure passed here does not escape.
func Delete[V ~uint32 | ~int32](index []V, mask, j uint32, home func(v V) uint32) {
	for {
		index[j] = 0
		k := j
		for {
			k = (k + 1) & mask
			v := index[k]
			if v == 0 {
				return
			}
			h := home(v)
			// Move v back to j unless its home lies cyclically in (j, k].
			if (k > j && (h <= j || h > k)) || (k < j && h <= j && h > k) {
				index[j] = v
				j = k
				break
			}
		}
	}
}
