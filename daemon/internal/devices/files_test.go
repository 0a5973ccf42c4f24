package devices

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"tamon/daemon/internal/record"
)

const leaseFile = `1893456000 02:00:5e:10:00:01 192.0.2.10 phone-a 01:02:00:5e:10:00:01
0 00:1b:21:0a:0b:0c 192.0.2.11 * *
1000 00:1b:21:0a:0b:0d 192.0.2.12 expired *
1893456000 06-02:00:5e:10:00:02 192.0.2.13 tokenring *
1893456000 00:1b:21:0a:0b:0e 192.0.2.300 badip *
1893456000 zz:1b:21:0a:0b:0e 192.0.2.14 badmac *
soon 00:1b:21:0a:0b:0f 192.0.2.15 badexpiry *
1893456000 00:1b:21:0a:0b:10 192.0.2.16 toofew
1893456000 00:1b:21:0a:0b:11 192.0.2.17 bad-id 01:zz
1893456000 00:1b:21:0a:0b:12 2001:db8::12 v6-in-v4 *

duid 00:01:00:01:2a:2b:2c:2d:00:1b:21:aa:bb:cc
1893456000 305419896 2001:db8::20 laptop 00:01:00:01:2a:2b:2c:2d:00:1b:21:0a:0b:20
1893456000 T7 2001:db8::21 * 00:03:00:01:00:1b:21:0a:0b:21
1893456000 9 2001:db8::22 uuid-duid 00:04:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00
1893456000 9 192.0.2.23 v4-in-v6 00:03:00:01:00:1b:21:0a:0b:23
duid nothex
`

func TestParseLeases(t *testing.T) {
	var got []string
	c, err := ParseLeases(strings.NewReader(leaseFile+strings.Repeat("x", 5000)+"\n"), func(l *Lease) {
		mac := "-"
		if l.HasMAC {
			mac = FormatMAC(l.MAC)
		}
		got = append(got, fmt.Sprintf("%d %s %s %d %q %q", l.Expires, mac, l.IP, l.IAID, l.Hostname, l.ClientID))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`1893456000 02:00:5e:10:00:01 192.0.2.10 0 "phone-a" "01:02:00:5e:10:00:01"`,
		`0 00:1b:21:0a:0b:0c 192.0.2.11 0 "" ""`,
		`1000 00:1b:21:0a:0b:0d 192.0.2.12 0 "expired" ""`,
		`1893456000 - 192.0.2.13 0 "tokenring" ""`,
		`1893456000 00:1b:21:0a:0b:20 2001:db8::20 305419896 "laptop" "00:01:00:01:2a:2b:2c:2d:00:1b:21:0a:0b:20"`,
		`1893456000 00:1b:21:0a:0b:21 2001:db8::21 7 "" "00:03:00:01:00:1b:21:0a:0b:21"`,
		`1893456000 - 2001:db8::22 9 "uuid-duid" "00:04:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("leases:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 16 lines of text, 1 blank, 1 overlong.
	if c.Lines != 18 || c.Malformed != 9 {
		t.Errorf("counts %+v, want 18 lines, 9 malformed", c)
	}
}

func TestParseARP(t *testing.T) {
	const arp = `IP address       HW type     Flags       HW address            Mask     Device
192.0.2.10       0x1         0x2         02:00:5e:10:00:01     *        br-lan
192.0.2.11       0x1         0x0         00:00:00:00:00:00     *        br-lan
198.51.100.1     0x1         0x2         00:1b:21:0a:0b:0c     *        eth0.2
192.0.2.12       0x20        0x2         80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:0b:0c *  ib0
192.0.2.300      0x1         0x2         00:1b:21:0a:0b:0d     *        br-lan
192.0.2.13       0x1         0x2         00:1b:21:0a:0b        *        br-lan
192.0.2.14       0x1
`
	var got []string
	c, err := ParseARP(strings.NewReader(arp), func(n *Neighbour) {
		got = append(got, fmt.Sprintf("%s %s %s %v", n.IP, FormatMAC(n.MAC), n.Dev, n.Stale))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "192.0.2.10 02:00:5e:10:00:01 br-lan false\n198.51.100.1 00:1b:21:0a:0b:0c eth0.2 false"
	if strings.Join(got, "\n") != want {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if c.Lines != 8 || c.Skipped != 2 || c.Malformed != 3 {
		t.Errorf("counts %+v, want 8 lines, 2 skipped, 3 malformed", c)
	}
}

func TestParseNeigh(t *testing.T) {
	const neigh = `fe80::1 dev br-lan lladdr 02:00:5e:10:00:01 router REACHABLE
2001:db8::5 dev br-lan lladdr 00:1b:21:0a:0b:0c STALE
fe80::5%br-lan dev br-lan lladdr 00:1b:21:0a:0b:0d DELAY
2001:db8::6 dev br-lan  FAILED
2001:db8::7 dev br-lan INCOMPLETE
192.0.2.10 dev br-lan lladdr 00:1b:21:0a:0b:0e PERMANENT
2001:db8::8 lladdr 00:1b:21:0a:0b:0f
2001:db8::9 dev gre0 lladdr 192.0.2.1 REACHABLE
2001:db8::10 dev br-lan lladdr 00:1b:21:0a:0b:11:22 REACHABLE
2001:db8::11 dev br-lan lladdr
not-an-address dev br-lan lladdr 00:1b:21:0a:0b:12 STALE
`
	var got []string
	c, err := ParseNeigh(strings.NewReader(neigh), func(n *Neighbour) {
		got = append(got, fmt.Sprintf("%s %s %s %v", n.IP, FormatMAC(n.MAC), n.Dev, n.Stale))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `fe80::1 02:00:5e:10:00:01 br-lan false
2001:db8::5 00:1b:21:0a:0b:0c br-lan true
fe80::5 00:1b:21:0a:0b:0d br-lan false
192.0.2.10 00:1b:21:0a:0b:0e br-lan false
2001:db8::8 00:1b:21:0a:0b:0f  false`
	if strings.Join(got, "\n") != want {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if c.Lines != 11 || c.Skipped != 3 || c.Malformed != 3 {
		t.Errorf("counts %+v, want 11 lines, 3 skipped, 3 malformed", c)
	}
}

// errReader fails after its data.
type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, fmt.Errorf("device gone")
	}
	return n, err
}

func TestParseReadError(t *testing.T) {
	n := 0
	_, err := ParseLeases(errReader{strings.NewReader("0 00:1b:21:0a:0b:0c 192.0.2.11 * *\n")}, func(*Lease) { n++ })
	if err == nil || n != 1 {
		t.Errorf("err %v after %d leases, want the read error after 1", err, n)
	}
}

func TestLoadLeases(t *testing.T) {
	inv := New(Config{Sensor: "r1"})
	now := int64(1_800_000_000_000)
	var emitted []*record.Device
	c, err := inv.LoadLeases(strings.NewReader(leaseFile), now, func(d *record.Device) { emitted = append(emitted, d) })
	if err != nil {
		t.Fatal(err)
	}
	// Used: phone-a, the infinite lease, laptop (v6 DUID-LLT), the DUID-LL
	// lease. Skipped: expired, token ring, UUID DUID.
	if c.Used != 4 || c.Skipped != 3 || c.Malformed != 8 || c.Lines != 17 {
		t.Errorf("counts %+v", c)
	}
	if len(emitted) != 4 {
		t.Errorf("%d records, want 4", len(emitted))
	}
	d, ok := inv.Device("02:00:5e:10:00:01")
	if !ok || d.Hostname != "phone-a" || d.IPv4[0] != "192.0.2.10" || !d.Randomized || d.Sensor != "r1" || d.FirstSeen != now {
		t.Errorf("phone-a: %+v", d)
	}
	if d, _ := inv.Device("00:1b:21:0a:0b:20"); d.Hostname != "laptop" || len(d.IPv6) != 1 || d.IPv6[0] != "2001:db8::20" {
		t.Errorf("laptop: %+v", d)
	}
	// A later DHCP message from phone-a's MAC with the same client id does
	// not create a second device, and a reload changes nothing.
	emitted = nil
	if _, err := inv.LoadLeases(strings.NewReader(leaseFile), now+1000, func(d *record.Device) { emitted = append(emitted, d) }); err != nil {
		t.Fatal(err)
	}
	if len(emitted) != 0 || inv.Stats().Devices != 4 {
		t.Errorf("reload: %d records, %d devices", len(emitted), inv.Stats().Devices)
	}
	// A lease does not count as a sighting.
	if d, _ := inv.Device("02:00:5e:10:00:01"); d.LastSeen != now {
		t.Errorf("last seen %d after a reload, want %d", d.LastSeen, now)
	}
}

func TestLoadLeaseFileMissing(t *testing.T) {
	inv := New(Config{LeasesPath: t.TempDir() + "/none"})
	if _, err := inv.LoadLeaseFile(0, nil); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("err %v, want one naming the file", err)
	}
}

func TestLoadNeighbours(t *testing.T) {
	inv := New(Config{Interfaces: []string{"br-lan"}})
	const arp = "IP address HW type Flags HW address Mask Device\n" +
		"192.0.2.10 0x1 0x2 00:1b:21:0a:0b:0c * br-lan\n" +
		"198.51.100.1 0x1 0x2 00:1b:21:0a:0b:99 * eth0.2\n"
	const neigh = "2001:db8::10 dev br-lan lladdr 00:1b:21:0a:0b:0c REACHABLE\n" +
		"fe80::10 dev br-lan lladdr 00:1b:21:0a:0b:0c STALE\n" +
		"2001:db8::11 dev br-lan lladdr 00:1b:21:0a:0b:0d STALE\n" +
		"garbage\n"
	c, err := inv.LoadNeighbours(strings.NewReader(arp), strings.NewReader(neigh), 5000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Used != 4 || c.Skipped != 1 || c.Malformed != 1 {
		t.Errorf("counts %+v", c)
	}
	d, _ := inv.Device("00:1b:21:0a:0b:0c")
	if strings.Join(d.IPv4, " ") != "192.0.2.10" || strings.Join(d.IPv6, " ") != "2001:db8::10 fe80::10" {
		t.Errorf("addresses %v %v", d.IPv4, d.IPv6)
	}
	if _, ok := inv.Device("00:1b:21:0a:0b:99"); ok {
		t.Error("WAN neighbour in the inventory")
	}
	// STALE entries add addresses but do not move last_seen.
	if _, err := inv.LoadNeighbours(nil, strings.NewReader("2001:db8::12 dev br-lan lladdr 00:1b:21:0a:0b:0c STALE\n"), 9000, nil); err != nil {
		t.Fatal(err)
	}
	if d, _ := inv.Device("00:1b:21:0a:0b:0c"); d.LastSeen != 5000 || len(d.IPv6) != 3 {
		t.Errorf("after a STALE entry: last seen %d, %v", d.LastSeen, d.IPv6)
	}
	if _, err := inv.LoadNeighbours(nil, errReader{strings.NewReader("")}, 9000, nil); err == nil || !strings.Contains(err.Error(), "IPv6 neighbours") {
		t.Errorf("err %v", err)
	}
}

// FuzzParseLeases checks that the lease parser survives any input and
// that what it returns is well-formed.
func FuzzParseLeases(f *testing.F) {
	f.Add([]byte(leaseFile))
	f.Add([]byte("duid 00:01\n1 2 2001:db8::1 * 00:03:00:01:00:1b:21:0a:0b:21\n"))
	f.Add([]byte("0 00:1b:21:0a:0b:0c 192.0.2.11 host 01:00:1b:21:0a:0b:0c\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		c, err := ParseLeases(bytes.NewReader(data), func(l *Lease) {
			n++
			if !l.IP.IsValid() || l.Expires < 0 || (l.HasMAC && !usable(l.MAC) && l.IP.Is6()) {
				t.Fatalf("lease %+v", l)
			}
			if l.Hostname != "" && !validName(l.Hostname) || l.ClientID != "" && !hexOctets(l.ClientID) {
				t.Fatalf("lease %+v", l)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n+c.Malformed > c.Lines {
			t.Fatalf("%d leases + %d malformed > %d lines", n, c.Malformed, c.Lines)
		}
		inv := New(Config{})
		if _, err := inv.LoadLeases(bytes.NewReader(data), 0, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseNeigh does the same for the neighbour-table parsers.
func FuzzParseNeigh(f *testing.F) {
	f.Add([]byte("fe80::1 dev br-lan lladdr 02:00:5e:10:00:01 router REACHABLE\n"))
	f.Add([]byte("IP address HW type Flags HW address Mask Device\n192.0.2.10 0x1 0x2 00:1b:21:0a:0b:0c * br-lan\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(n *Neighbour) {
			if !n.IP.IsValid() || n.IP.Zone() != "" || !usable(n.MAC) {
				t.Fatalf("entry %+v", n)
			}
		}
		for _, parse := range []func(io.Reader, func(*Neighbour)) (Counts, error){ParseARP, ParseNeigh} {
			if _, err := parse(bytes.NewReader(data), check); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkParseLeases(b *testing.B) {
	var buf bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&buf, "1893456000 00:1b:21:0a:%02x:%02x 192.0.2.%d host-%d 01:00:1b:21:0a:%02x:%02x\n", i/256, i%256, i%250, i, i/256, i%256)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if _, err := ParseLeases(bytes.NewReader(data), func(*Lease) { n++ }); err != nil || n != 200 {
			b.Fatal(err, n)
		}
	}
}

func BenchmarkParseNeigh(b *testing.B) {
	var buf bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&buf, "2001:db8::%x dev br-lan lladdr 00:1b:21:0a:%02x:%02x REACHABLE\n", i, i/256, i%256)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if _, err := ParseNeigh(bytes.NewReader(data), func(*Neighbour) { n++ }); err != nil || n != 200 {
			b.Fatal(err, n)
		}
	}
}
