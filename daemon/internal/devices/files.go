package devices

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"tamon/daemon/internal/record"
)

// Counts tells what reading a lease file or a neighbour table did with its
// lines. Lines = Used + Skipped + Malformed (+ header and blank lines).
type Counts struct {
	Lines     int // lines read
	Used      int // entries applied to the inventory
	Skipped   int // well-formed entries left out: expired lease, incomplete or failed neighbour, other interface, no Ethernet MAC
	Malformed int // lines that do not follow the format; they are skipped
}

func (c *Counts) add(o Counts) {
	c.Lines += o.Lines
	c.Used += o.Used
	c.Skipped += o.Skipped
	c.Malformed += o.Malformed
}

// maxLine is the longest line the file parsers read; longer lines are
// counted as malformed.
const maxLine = 4096

// eachLine calls fn with every line of r (without its end of line) and
// counts the lines; lines longer than maxLine count as malformed and are
// not passed. It returns the first read error other than io.EOF.
func eachLine(r io.Reader, c *Counts, fn func(line []byte)) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			c.Lines++
			c.Malformed++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if err != nil {
				return nil
			}
			continue
		}
		if len(line) > 0 {
			c.Lines++
			fn(bytes.TrimRight(line, "\r\n"))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Lease is one entry of dnsmasq's lease file.
type Lease struct {
	Expires  int64      // Unix seconds; 0 for an infinite lease
	MAC      [6]byte    // IPv4: the client's MAC; IPv6: the MAC inside a link-layer DUID
	HasMAC   bool       // false for a non-Ethernet hardware address or a DUID without a MAC
	IP       netip.Addr // leased address
	IAID     uint32     // IPv6 only
	Hostname string     // "" when dnsmasq wrote "*"
	ClientID string     // hex octets joined by ':' (IPv6: the client DUID); "" for "*"
}

// ParseLeases reads a dnsmasq lease file and calls fn with each
// well-formed lease; fn must not keep the pointer. IPv4 lines are
// "expiry mac ip hostname clientid"; after a "duid <server duid>" line come
// IPv6 lines "expiry [T]iaid ip hostname client-duid". Malformed lines are
// counted and skipped; the returned error is a read error only.
func ParseLeases(r io.Reader, fn func(*Lease)) (Counts, error) {
	var c Counts
	v6 := false
	err := eachLine(r, &c, func(line []byte) {
		f := strings.Fields(string(line))
		switch {
		case len(f) == 0:
			return
		case f[0] == "duid":
			if len(f) != 2 || !hexOctets(f[1]) {
				c.Malformed++
				return
			}
			v6 = true
			return
		case len(f) != 5:
			c.Malformed++
			return
		}
		l, ok := parseLease(f, v6)
		if !ok {
			c.Malformed++
			return
		}
		fn(&l)
	})
	return c, err
}

func parseLease(f []string, v6 bool) (Lease, bool) {
	var l Lease
	exp, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || exp < 0 {
		return l, false
	}
	l.Expires = exp
	if l.IP, err = netip.ParseAddr(f[2]); err != nil || l.IP.Zone() != "" || l.IP.Is6() != v6 {
		return l, false
	}
	if v6 {
		iaid, err := strconv.ParseUint(strings.TrimPrefix(f[1], "T"), 10, 32)
		if err != nil {
			return l, false
		}
		l.IAID = uint32(iaid)
	} else {
		hw := f[1]
		if mac, ok := ParseMAC(hw); ok && hw[2] == ':' {
			l.MAC, l.HasMAC = mac, true
		} else if i := strings.IndexByte(hw, '-'); !(i == 2 && hexOctets(hw[3:])) && !hexOctets(hw) {
			return l, false // neither a MAC nor dnsmasq's "type-address" form
		}
	}
	if f[3] != "*" {
		if !validName(f[3]) {
			return l, false
		}
		l.Hostname = f[3]
	}
	if f[4] != "*" {
		if !hexOctets(f[4]) {
			return l, false
		}
		l.ClientID = strings.ToLower(f[4])
		if v6 {
			l.MAC, l.HasMAC = duidMAC(l.ClientID)
		}
	}
	return l, true
}

// hexOctets reports whether s is one or more two-digit hex octets joined
// by ':'.
func hexOctets(s string) bool {
	if len(s) < 2 || (len(s)+1)%3 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i%3 == 2 {
			if s[i] != ':' {
				return false
			}
		} else if _, ok := hexDigit(s[i]); !ok {
			return false
		}
	}
	return true
}

// duidMAC returns the MAC inside a DUID-LLT (type 1) or DUID-LL (type 3)
// of hardware type 1 (Ethernet), given as hex octets.
func duidMAC(duid string) ([6]byte, bool) {
	var mac [6]byte
	var b []byte
	for i := 0; i+1 < len(duid); i += 3 {
		hi, _ := hexDigit(duid[i])
		lo, _ := hexDigit(duid[i+1])
		b = append(b, hi<<4|lo)
	}
	switch {
	case len(b) == 14 && b[0] == 0 && b[1] == 1 && b[2] == 0 && b[3] == 1:
		copy(mac[:], b[8:])
	case len(b) == 10 && b[0] == 0 && b[1] == 3 && b[2] == 0 && b[3] == 1:
		copy(mac[:], b[4:])
	default:
		return mac, false
	}
	return mac, usable(mac)
}

// validName reports whether s can be a host name from a lease: printable
// ASCII without spaces, at most 253 bytes (dnsmasq only writes legal
// names).
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Neighbour is one entry of a neighbour table (/proc/net/arp, ip neigh).
type Neighbour struct {
	IP    netip.Addr
	MAC   [6]byte
	Dev   string // interface; "" when the line does not say
	Stale bool   // the kernel does not know it reachable now (STALE)
}

// ParseARP reads /proc/net/arp ("IP address, HW type, Flags, HW address,
// Mask, Device" columns) and calls fn with each complete Ethernet entry;
// fn must not keep the pointer. Incomplete entries (flags without 0x2) and
// other hardware types are counted as skipped, malformed lines as
// malformed. The returned error is a read error only.
func ParseARP(r io.Reader, fn func(*Neighbour)) (Counts, error) {
	var c Counts
	err := eachLine(r, &c, func(line []byte) {
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] == "IP" {
			return // blank or the header
		}
		if len(f) != 6 {
			c.Malformed++
			return
		}
		ip, err := netip.ParseAddr(f[0])
		hwType, err1 := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 16)
		flags, err2 := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 16)
		mac, ok := ParseMAC(f[3])
		if err != nil || !ip.Is4() || err1 != nil || err2 != nil || (!ok && hwType == 1) {
			c.Malformed++
			return
		}
		if hwType != 1 || flags&0x2 == 0 || !usable(mac) {
			c.Skipped++
			return
		}
		fn(&Neighbour{IP: ip, MAC: mac, Dev: f[5]})
	})
	return c, err
}

// ParseNeigh reads the output of `ip neigh` / `ip -6 neigh`
// ("ADDR [dev IF] [lladdr MAC] [router] [proxy] STATE...") and calls fn
// with each entry that has an Ethernet link-layer address; fn must not
// keep the pointer. Entries without one (FAILED, INCOMPLETE) are counted
// as skipped, lines that do not start with an address or whose lladdr is
// not a MAC as malformed. The returned error is a read error only.
func ParseNeigh(r io.Reader, fn func(*Neighbour)) (Counts, error) {
	var c Counts
	err := eachLine(r, &c, func(line []byte) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			return
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			c.Malformed++
			return
		}
		n := Neighbour{IP: ip.WithZone("")}
		hasMAC := false
		for i := 1; i < len(f); i++ {
			switch f[i] {
			case "dev", "lladdr":
				if i+1 == len(f) {
					c.Malformed++
					return
				}
				if f[i] == "dev" {
					n.Dev = f[i+1]
				} else if n.MAC, hasMAC = ParseMAC(f[i+1]); !hasMAC {
					if hexOctets(f[i+1]) {
						c.Skipped++ // a link-layer address, not Ethernet
					} else {
						c.Malformed++
					}
					return
				}
				i++
			case "STALE":
				n.Stale = true
			}
		}
		if !hasMAC || !usable(n.MAC) {
			c.Skipped++
			return
		}
		fn(&n)
	})
	return c, err
}

// LoadLeases reads a dnsmasq lease file into the inventory: each lease
// that has not expired at now (Unix ms) names its device (host name, client
// identifier) and adds its address. A lease is not a sighting: it does not
// move last_seen of a known device (a new device starts at now). Then emit
// is called as by Apply.
func (inv *Inventory) LoadLeases(r io.Reader, now int64, emit func(*record.Device)) (Counts, error) {
	var obs []Observation
	c, err := ParseLeases(r, func(l *Lease) {
		if !l.HasMAC || (l.Expires != 0 && l.Expires*1000 < now) {
			obs = append(obs, Observation{}) // counted as skipped by load
			return
		}
		obs = append(obs, Observation{Kind: ObsLease, TS: now, MAC: l.MAC, IP: l.IP, Hostname: l.Hostname, ClientID: l.ClientID})
	})
	return c, inv.load(obs, &c, err, emit)
}

// LoadLeaseFile reads Config.LeasesPath with LoadLeases.
func (inv *Inventory) LoadLeaseFile(now int64, emit func(*record.Device)) (Counts, error) {
	f, err := os.Open(inv.cfg.LeasesPath)
	if err != nil {
		return Counts{}, fmt.Errorf("reading the DHCP leases: %w", err)
	}
	defer f.Close()
	c, err := inv.LoadLeases(f, now, emit)
	if err != nil {
		err = fmt.Errorf("reading the DHCP leases %s: %w", inv.cfg.LeasesPath, err)
	}
	return c, err
}

// LoadNeighbours reads the kernel's neighbour tables into the inventory:
// arp in the /proc/net/arp format, ip6neigh in the `ip -6 neigh` format
// (either may be nil). Entries of interfaces outside Config.Interfaces (when
// set) are skipped. An entry adds its address to its device; unless it is
// STALE it also counts as a sighting at now (Unix ms). Then emit is called
// as by Apply.
func (inv *Inventory) LoadNeighbours(arp, ip6neigh io.Reader, now int64, emit func(*record.Device)) (Counts, error) {
	var obs []Observation
	add := func(n *Neighbour) {
		if len(inv.cfg.Interfaces) > 0 && !slices.Contains(inv.cfg.Interfaces, n.Dev) {
			obs = append(obs, Observation{})
			return
		}
		obs = append(obs, Observation{Kind: ObsNeighbour, TS: now, MAC: n.MAC, IP: n.IP, Stale: n.Stale})
	}
	var c Counts
	var errs []error
	for _, src := range []struct {
		r     io.Reader
		parse func(io.Reader, func(*Neighbour)) (Counts, error)
		what  string
	}{{arp, ParseARP, "ARP table"}, {ip6neigh, ParseNeigh, "IPv6 neighbours"}} {
		if src.r == nil {
			continue
		}
		got, err := src.parse(src.r, add)
		c.add(got)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the %s: %w", src.what, err))
		}
	}
	return c, inv.load(obs, &c, errors.Join(errs...), emit)
}

// load applies the observations read from a file (a zero Kind marks an
// entry that was skipped), counts them into c, and emits.
func (inv *Inventory) load(obs []Observation, c *Counts, err error, emit func(*record.Device)) error {
	inv.mu.Lock()
	for i := range obs {
		if obs[i].Kind == 0 || !usable(obs[i].MAC) {
			c.Skipped++
			continue
		}
		c.Used++
		inv.apply(&obs[i])
	}
	out := inv.takeOut()
	inv.mu.Unlock()
	flush(out, emit)
	return err
}
