// Package lmo writes LuCI's compiled translation catalogues (.lmo files),
// as luci.mk's po2lmo makes them for the luci-i18n-<app>-<lang> packages.
// It is written for tamon from the format's description; no LuCI code is
// copied.
//
// # Format
//
// An .lmo file is the translated strings, each padded with zero bytes to a
// multiple of 4, then an index of 16-byte entries sorted by key hash, then
// the offset of the index (where the strings end). Every number is a
// big-endian uint32. An index entry is
//
//	key hash, value id, offset of the string, length of the string
//
// The key hash is Hash of the message's key (see Key): the msgid, "ctx\x01"
// before it for a msgctxt, "\x02N" after it for plural form N. The value id
// is the number of msgstr forms of the message. The Plural-Forms expression
// of the catalogue's header is stored under key hash 0 (value id 0). LuCI
// finds a string by binary search on the key hash of the whitespace-
// collapsed msgid; a message whose translation hashes like its key is left
// out, as po2lmo does (LuCI then shows the msgid, which is the same text).
package lmo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Message is one catalogue entry.
type Message struct {
	Ctx    string   // msgctxt ("" for none)
	ID     string   // msgid
	Plural string   // msgid_plural ("" for none)
	Str    []string // msgstr, or msgstr[0..n] with a plural
}

// Hash is Paul Hsieh's SuperFastHash as LuCI computes it on translation
// keys: seeded with the length, 16-bit little-endian reads, and the one or
// three trailing bytes read as C signed chars. The empty string hashes to 0.
func Hash(b []byte) uint32 {
	n := len(b)
	if n == 0 {
		return 0
	}
	h := uint32(n)
	le16 := func(i int) uint32 { return uint32(b[i]) | uint32(b[i+1])<<8 }
	i := 0
	for k := n >> 2; k > 0; k-- {
		h += le16(i)
		tmp := le16(i+2)<<11 ^ h
		h = h<<16 ^ tmp
		i += 4
		h += h >> 11
	}
	switch n & 3 {
	case 3:
		h += le16(i)
		h ^= h << 16
		h ^= uint32(int32(int8(b[i+2]))) << 18
		h += h >> 11
	case 2:
		h += le16(i)
		h ^= h << 11
		h += h >> 17
	case 1:
		h += uint32(int32(int8(b[i])))
		h ^= h << 10
		h += h >> 1
	}
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	return h
}

// Key is the text LuCI hashes to look a message up: ctx "\x01" id, each
// with runs of white space collapsed to one space and the ends trimmed,
// then "\x02" and the form number for plural form (form < 0: none).
func Key(ctx, id string, form int) string {
	k := collapse(id)
	if ctx != "" {
		k = collapse(ctx) + "\x01" + k
	}
	if form >= 0 {
		k += "\x02" + strconv.Itoa(form)
	}
	return k
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// ErrEmpty is returned by Write for a catalogue with nothing to store; po2lmo
// writes no file then.
var ErrEmpty = errors.New("lmo: no translated message")

type entry struct {
	key, val, off, n uint32
	what             string // for errors: the message
}

// Write writes the .lmo form of msgs to w. pluralForms is the header's
// Plural-Forms value ("nplurals=1; plural=0;"), "" for none. Messages
// without an ID or without a translation (every msgstr empty) are left out.
// Two keys with the same hash are an error naming both messages.
func Write(w io.Writer, msgs []Message, pluralForms string) error {
	var data []byte
	var idx []entry
	add := func(key, val uint32, s, what string) {
		idx = append(idx, entry{key: key, val: val, off: uint32(len(data)), n: uint32(len(s)), what: what})
		data = append(data, s...)
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
	}
	for _, m := range msgs {
		if m.ID == "" {
			continue
		}
		for form, s := range m.Str {
			if s == "" {
				continue
			}
			f := -1
			if m.Plural != "" {
				f = form
			} else if form > 0 {
				return fmt.Errorf("lmo: message %q has msgstr[%d] but no msgid_plural", m.ID, form)
			}
			k := Hash([]byte(Key(m.Ctx, m.ID, f)))
			if k == Hash([]byte(s)) {
				continue
			}
			add(k, uint32(len(m.Str)), s, strconv.Quote(m.ID))
		}
	}
	if len(idx) == 0 {
		return ErrEmpty
	}
	if pluralForms = strings.TrimSpace(pluralForms); pluralForms != "" {
		add(0, 0, pluralForms, "Plural-Forms")
	}
	slices.SortStableFunc(idx, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	for i := 1; i < len(idx); i++ {
		if idx[i].key == idx[i-1].key {
			return fmt.Errorf("lmo: messages %s and %s have the same key hash %08x", idx[i-1].what, idx[i].what, idx[i].key)
		}
	}
	out := make([]byte, 0, len(data)+16*len(idx)+4)
	out = append(out, data...)
	for _, e := range idx {
		out = binary.BigEndian.AppendUint32(out, e.key)
		out = binary.BigEndian.AppendUint32(out, e.val)
		out = binary.BigEndian.AppendUint32(out, e.off)
		out = binary.BigEndian.AppendUint32(out, e.n)
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("lmo: write: %w", err)
	}
	return nil
}

// PluralForms returns the Plural-Forms value of a catalogue header (the
// msgstr of the empty msgid), "" if it has none.
func PluralForms(header string) string {
	for _, line := range strings.Split(header, "\n") {
		name, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Plural-Forms") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
