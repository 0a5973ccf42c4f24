package quic

import (
	"errors"
	"fmt"
	"testing"
)

// TestPacketError checks that a lazily formatted error reads as the
// fmt.Errorf("%w: ...") it replaces and still matches its kind.
func TestPacketError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{perr(ErrShort, "empty UDP payload"), fmt.Errorf("%w: empty UDP payload", ErrShort)},
		{perr(ErrVersion, "version 0x%08x", 0xff00001d), fmt.Errorf("%w: version 0x%08x", ErrVersion, uint64(0xff00001d))},
		{perr(ErrDecrypt, "packet number %d, %d bytes", 7, 1200), fmt.Errorf("%w: packet number %d, %d bytes", ErrDecrypt, 7, 1200)},
		{perr(ErrNotQUIC, "first byte 0x%02x is not a long header", 0x4a), fmt.Errorf("%w: first byte 0x%02x is not a long header", ErrNotQUIC, 0x4a)},
	} {
		if got, want := c.err.Error(), c.want.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		if !errors.Is(c.err, errors.Unwrap(c.want)) {
			t.Errorf("%q does not match its kind", c.err)
		}
		if errors.Is(c.err, ErrFrame) {
			t.Errorf("%q matches ErrFrame", c.err)
		}
	}
}
