// Package pages maps freshly allocated memory in by writing to it, one
// byte a page, before anything reads it.
//
// Why: the kernel backs a page that is first read with its shared zero
// page, so a read-then-write first touch costs two faults, and the second
// one (copy-on-write) also flushes the page from the TLB of every other
// CPU the process runs on: an interrupt to each. A first write costs one
// fault. In tamond the first reader is seldom the code that asked for the
// memory: the garbage collector scans the whole of a large block that
// holds pointers, also its part not yet handed out, the write barrier reads
// a slot before it is written, and an index probe reads a slot before it
// fills it. Touching a block as it is allocated (Make) turns each of those
// pairs into one write fault (BENCHMARKS.md, ninth session).
package pages

import "unsafe"

// size is the smallest page size of the targets tamond is built for. A
// larger page is touched more than once, which costs nothing more.
const size = 4096

// Make returns make([]T, n, c) with every page of its backing array
// already written (see touch): use it for a block whose first access may
// be a read. It allocates what make allocates, nothing more.
func Make[T any](n, c int) []T {
	s := make([]T, n, c)
	touch(s)
	return s
}

// touch writes a zero byte every size bytes of s's backing array, from its
// start up to its capacity, and to its last byte: every page the array
// spans is written, also when the array does not start on a page. The
// array must hold only zeros, as a new make does, and no other goroutine
// may use it yet: the bytes are written without a write barrier, which is
// sound only because a zero stays zero.
func touch[T any](s []T) {
	s = s[:cap(s)]
	n := uintptr(len(s)) * unsafe.Sizeof(*new(T))
	if n == 0 {
		return // empty, or zero-size elements: no memory
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n)
	for i := 0; i < len(b); i += size {
		b[i] = 0
	}
	b[len(b)-1] = 0
}
