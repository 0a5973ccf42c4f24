package dns

// writer appends text to a fixed buffer without allocating. Text that does
// not fit is dropped: the result is cut at len(buf).
type writer struct {
	buf []byte
	n   int
}

func (w *writer) byte(c byte) {
	if w.n < len(w.buf) {
		w.buf[w.n] = c
		w.n++
	}
}

func (w *writer) bytes(p []byte) {
	w.n += copy(w.buf[w.n:], p)
}

func (w *writer) string(s string) {
	w.n += copy(w.buf[w.n:], s)
}

// uint writes v in decimal.
func (w *writer) uint(v uint32) {
	var tmp [10]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	w.bytes(tmp[i:])
}

const hexDigits = "0123456789abcdef"

// hex writes p as lower-case hex, two digits a byte.
func (w *writer) hex(p []byte) {
	for _, b := range p {
		if len(w.buf)-w.n < 2 {
			return
		}
		w.buf[w.n] = hexDigits[b>>4]
		w.buf[w.n+1] = hexDigits[b&0x0f]
		w.n += 2
	}
}

// ipv4 writes the 4-byte address p in dotted decimal.
func (w *writer) ipv4(p []byte) {
	for i, b := range p[:4] {
		if i > 0 {
			w.byte('.')
		}
		w.uint(uint32(b))
	}
}

// ipv6 writes the 16-byte address p as RFC 5952 text: lower-case hex groups
// without leading zeros, the longest run of two or more zero groups (the
// first one on a tie) replaced by "::". IPv4-mapped addresses are written
// ::ffff:a.b.c.d, as net/netip does.
func (w *writer) ipv6(p []byte) {
	p = p[:16]
	if isMapped(p) {
		w.string("::ffff:")
		w.ipv4(p[12:])
		return
	}
	var g [8]uint16
	for i := range g {
		g[i] = be16(p[2*i:])
	}
	best, bestLen := -1, 1 // a single zero group is not compressed
	for i := 0; i < len(g); {
		if g[i] != 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(g) && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	for i := 0; i < len(g); i++ {
		if i == best {
			w.string("::")
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			w.byte(':')
		}
		w.hex16(g[i])
	}
}

// hex16 writes v in lower-case hex without leading zeros.
func (w *writer) hex16(v uint16) {
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := v >> uint(shift) & 0x0f
		if d != 0 || started || shift == 0 {
			w.byte(hexDigits[d])
			started = true
		}
	}
}

func isMapped(p []byte) bool {
	for _, b := range p[:10] {
		if b != 0 {
			return false
		}
	}
	return p[10] == 0xff && p[11] == 0xff
}

// nameAt decodes the name at msg[off:] (msg ends where the RDATA ends) and
// writes it, or "." for the root. It returns the offset after the name.
func (w *writer) nameAt(msg []byte, off int) (int, error) {
	if len(w.buf)-w.n < MaxName {
		return w.nameCopy(msg, off)
	}
	n, next, err := readName(msg, off, w.buf[w.n:w.n+MaxName])
	if err != nil {
		return next, rdataErr(err)
	}
	if n == 0 {
		w.byte('.')
	}
	w.n += n
	return next, nil
}

// nameCopy is nameAt for when less than MaxName bytes are left in w: the name
// is decoded aside, then cut to fit.
func (w *writer) nameCopy(msg []byte, off int) (int, error) {
	var scratch [MaxName]byte
	n, next, err := readName(msg, off, scratch[:])
	if err != nil {
		return next, rdataErr(err)
	}
	if n == 0 {
		w.byte('.')
	}
	w.bytes(scratch[:n])
	return next, nil
}

// name is nameAt for a name that must end the RDATA.
func (w *writer) name(msg []byte, off int) error {
	next, err := w.nameAt(msg, off)
	if err == nil && next != len(msg) {
		err = ErrRData
	}
	return err
}

// rdataErr maps a name that runs past the end of its RDATA to ErrRData.
func rdataErr(err error) error {
	if err == ErrShort {
		return ErrRData
	}
	return err
}
