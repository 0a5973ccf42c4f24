package sqldb

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"tamon/daemon/internal/record"
)

// cursor is a position in a sorted list: the sort value and id of a row.
// On the wire it is opaque text (base64url of a small binary form); it
// comes back from API clients, so decodeCursor trusts nothing in it.
type cursor struct {
	kind record.Kind
	sort string // sortSpec.name the list was sorted by
	str  bool   // the value is text
	num  int64
	text string
	id   int64
}

const cursorVersion = 1

// maxCursorText bounds the sort value of a cursor: lists sort by VARCHAR
// columns at most (512 characters of up to 4 bytes).
const maxCursorText = 2048

func (c *cursor) encode() string {
	b := make([]byte, 0, 32+len(c.sort)+len(c.text))
	b = append(b, cursorVersion, byte(c.kind))
	b = binary.AppendUvarint(b, uint64(len(c.sort)))
	b = append(b, c.sort...)
	if c.str {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(c.text)))
		b = append(b, c.text...)
	} else {
		b = append(b, 0)
		b = binary.AppendVarint(b, c.num)
	}
	b = binary.AppendVarint(b, c.id)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("malformed")

// decodeCursor parses a cursor made by encode.
func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 4*(maxCursorText+300)/3 {
		return c, fmt.Errorf("%w: cursor of %d bytes: too long", ErrFilter, len(s))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: cursor %.20q: %w", ErrFilter, s, err)
	}
	bad := func() (cursor, error) { return cursor{}, fmt.Errorf("%w: cursor %.20q: %w", ErrFilter, s, errCursor) }
	if len(b) < 2 || b[0] != cursorVersion || b[1] == 0 || b[1] > byte(record.KindDevice) {
		return bad()
	}
	c.kind = record.Kind(b[1])
	b = b[2:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 64 || uint64(len(b)-k) < n {
		return bad()
	}
	c.sort = string(b[k : k+int(n)])
	b = b[k+int(n):]
	if len(b) < 1 || b[0] > 1 {
		return bad()
	}
	c.str = b[0] == 1
	b = b[1:]
	if c.str {
		n, k = binary.Uvarint(b)
		if k <= 0 || n > maxCursorText || uint64(len(b)-k) < n {
			return bad()
		}
		c.text = string(b[k : k+int(n)])
		b = b[k+int(n):]
	} else {
		c.num, k = binary.Varint(b)
		if k <= 0 {
			return bad()
		}
		b = b[k:]
	}
	c.id, k = binary.Varint(b)
	if k <= 0 || k != len(b) {
		return bad()
	}
	return c, nil
}
