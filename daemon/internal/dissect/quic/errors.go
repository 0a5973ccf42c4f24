package quic

import "fmt"

// packetError is a per-packet failure whose text is formatted only when
// asked for. The engine counts these errors without reading them, and
// formatting one with fmt.Errorf cost more than the rest of a failed
// Initial packet. Is and As see kind (ErrShort, ErrDecrypt...).
type packetError struct {
	kind   error
	format string // after "kind: ", with n verbs for args
	args   [2]uint64
	n      uint8
}

// perr returns kind with a detail to format from the numbers args (at most
// two; format has one verb per number).
func perr(kind error, format string, args ...uint64) error {
	e := &packetError{kind: kind, format: format}
	e.n = uint8(copy(e.args[:], args))
	return e
}

func (e *packetError) Error() string {
	a := make([]any, e.n)
	for i := range a {
		a[i] = e.args[i]
	}
	return e.kind.Error() + ": " + fmt.Sprintf(e.format, a...)
}

func (e *packetError) Unwrap() error { return e.kind }
