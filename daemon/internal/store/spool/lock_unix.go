//go:build unix

package spool

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive, non-blocking lock on f; it ends with the
// process.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlockFile(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
}
