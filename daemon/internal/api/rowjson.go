package api

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"tamon/daemon/internal/record"
)

// appendData appends rec as the API shows it: its JSON Lines object
// without the "type" member (the kind is the route, or the stream
// message's type).
func appendData(b []byte, rec record.Record) []byte {
	start := len(b)
	b = rec.AppendJSON(b)
	// b[start:] is {"type":"<kind>",...}
	n := len(`{"type":"`) + len(rec.Kind().String()) + len(`",`)
	if len(b)-start <= n || b[start+n-1] != ',' || b[start+n-2] != '"' {
		return b // not the expected shape: leave it whole
	}
	copy(b[start+1:], b[start+n:])
	return b[:len(b)-(n-1)]
}

// zeroRecord returns an empty record of kind k (nil for an unknown kind).
func zeroRecord(k record.Kind) record.Record {
	switch k {
	case record.KindSession:
		return &record.Session{}
	case record.KindDNS:
		return &record.DNS{}
	case record.KindHTTP:
		return &record.HTTP{}
	case record.KindTLS:
		return &record.TLS{}
	case record.KindICMP:
		return &record.ICMP{}
	case record.KindApp:
		return &record.App{}
	case record.KindDevice:
		return &record.Device{}
	}
	return nil
}

// recordFields returns the field names of kind k in JSON order: the CSV
// header.
func recordFields(k record.Kind) []string {
	rec := zeroRecord(k)
	if rec == nil {
		return nil
	}
	var names []string
	eachMember(appendData(nil, rec), func(key, _ []byte, _ bool) {
		names = append(names, string(key))
	})
	return names
}

// eachMember calls fn for each member of the JSON object obj, in order,
// with the key (unescaped; record keys need no escaping) and the raw value
// text; str says the value is a string. It stops at the first malformed
// byte and reports an error.
func eachMember(obj []byte, fn func(key, raw []byte, str bool)) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errMalformed
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return errMalformed
		}
		kend, err := skipString(obj, i)
		if err != nil {
			return err
		}
		key := obj[i+1 : kend-1]
		i = skipSpace(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return errMalformed
		}
		i = skipSpace(obj, i+1)
		vend, err := skipValue(obj, i)
		if err != nil {
			return err
		}
		fn(key, obj[i:vend], obj[i] == '"')
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return errMalformed
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil
		default:
			return errMalformed
		}
	}
	return errMalformed
}

var errMalformed = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errMalformed
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errMalformed
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '[', '{':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMalformed
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' {
		j++
	}
	if j == i {
		return 0, errMalformed
	}
	return j, nil
}

// unquote decodes the JSON string literal raw (quotes included).
func unquote(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errMalformed
	}
	s := raw[1 : len(raw)-1]
	plain := true
	for _, c := range s {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(s), nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errMalformed
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", errMalformed
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+3); ok && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errMalformed
		}
	}
	return string(out), nil
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[i:i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// csvCells appends the CSV cells of the record object obj (from
// appendData) to dst: strings decoded, numbers and booleans as written,
// arrays and objects as their JSON text. A string that a spreadsheet would
// take for a formula (it starts with = + - @, tab or CR) gets a leading
// apostrophe.
func csvCells(dst []string, obj []byte) ([]string, error) {
	var err error
	perr := eachMember(obj, func(_, raw []byte, str bool) {
		if !str {
			dst = append(dst, string(raw))
			return
		}
		v, uerr := unquote(raw)
		if uerr != nil && err == nil {
			err = uerr
		}
		dst = append(dst, defuseFormula(v))
	})
	if perr != nil {
		return dst, perr
	}
	return dst, err
}

// defuseFormula prefixes text that spreadsheets would run as a formula.
func defuseFormula(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}
