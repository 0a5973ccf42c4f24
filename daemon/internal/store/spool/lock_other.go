//go:build !unix

package spool

import "os"

// lockFile does nothing where flock(2) is missing: one process per folder
// is then the operator's duty.
func lockFile(f *os.File) error { return nil }

func unlockFile(f *os.File) {}
