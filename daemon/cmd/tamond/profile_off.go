//go:build !pprof

package main

import "errors"

// startCPUProfile fails: this build has no profiler (build with -tags
// pprof for one; it is left out of the router builds to save flash).
func startCPUProfile(path string) (stop func(), err error) {
	return nil, errors.New("-cpuprofile " + path + ": this tamond was built without profiling support (build with -tags pprof)")
}
