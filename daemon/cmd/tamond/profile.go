//go:build pprof

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a CPU profile to path until stop is called, and
// then an allocation profile to path.allocs.
// runtime/pprof is linked only into builds with -tags pprof: it adds about
// 60 KB to a binary that must fit a router's flash.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start CPU profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// The allocations since start, beside it: where the collector's
		// work comes from.
		if m, err := os.Create(path + ".allocs"); err == nil {
			pprof.Lookup("allocs").WriteTo(m, 0)
			m.Close()
		}
	}, nil
}
