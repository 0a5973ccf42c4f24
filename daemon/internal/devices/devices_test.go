package devices

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"tamon/daemon/internal/record"
)

const (
	t0     = int64(1_750_000_000_000) // packet time of the tests, Unix ms
	minute = int64(60_000)
	hour   = 60 * minute
	day    = 24 * hour
)

func mac(s string) [6]byte {
	m, ok := ParseMAC(s)
	if !ok {
		panic("bad test MAC " + s)
	}
	return m
}

// recorder collects emitted records.
type recorder struct{ recs []*record.Device }

func (r *recorder) emit(d *record.Device) { r.recs = append(r.recs, d) }

func (r *recorder) take() []*record.Device {
	out := r.recs
	r.recs = nil
	return out
}

func traffic(m string, ts int64, ip string, up, down uint64) *Observation {
	o := &Observation{Kind: ObsTraffic, TS: ts, MAC: mac(m), Up: up, Down: down}
	if ip != "" {
		o.IP = netip.MustParseAddr(ip)
	}
	return o
}

func dhcpObs(m string, ts int64, host, clientID, fp string) *Observation {
	return &Observation{Kind: ObsDHCP, TS: ts, MAC: mac(m), Hostname: host, ClientID: clientID, Fingerprint: fp}
}

func TestParseMAC(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"aa:bb:cc:dd:ee:ff", true}, {"AA-BB-CC-DD-EE-FF", true}, {"aa:bb-cc:dd:ee:ff", false},
		{"aa:bb:cc:dd:ee", false}, {"aa:bb:cc:dd:ee:fg", false}, {"aabb.ccdd.eeff..", false}, {"", false},
	} {
		m, ok := ParseMAC(tt.in)
		if ok != tt.ok || ok && FormatMAC(m) != strings.ToLower(strings.ReplaceAll(tt.in, "-", ":")) {
			t.Errorf("ParseMAC(%q) = %v %v", tt.in, m, ok)
		}
	}
}

func TestTraffic(t *testing.T) {
	inv := New(Config{Sensor: "r1", RefreshEvery: 10 * time.Minute})
	var r recorder
	inv.Apply(traffic("00:1b:21:0a:0b:0c", t0, "192.0.2.10", 100, 1000), r.emit)
	recs := r.take()
	if len(recs) != 1 {
		t.Fatalf("%d records for a new device, want 1", len(recs))
	}
	d := recs[0]
	if d.MAC != "00:1b:21:0a:0b:0c" || d.Vendor == "" || d.Randomized || d.FirstSeen != t0 || d.LastSeen != t0 ||
		d.BytesUp != 100 || d.BytesDown != 1000 || strings.Join(d.IPv4, ",") != "192.0.2.10" || d.Sensor != "r1" {
		t.Errorf("first record %+v", d)
	}
	// More traffic from the same address: counters only, no record.
	for i := int64(1); i <= 5; i++ {
		inv.Apply(traffic("00:1b:21:0a:0b:0c", t0+i*1000, "192.0.2.10", 10, 20), r.emit)
	}
	if recs := r.take(); len(recs) != 0 {
		t.Errorf("%d records for counters, want 0", len(recs))
	}
	// A new address is a new fact.
	inv.Apply(traffic("00:1b:21:0a:0b:0c", t0+6000, "2001:db8::10", 1, 1), r.emit)
	if recs := r.take(); len(recs) != 1 || strings.Join(recs[0].IPv6, ",") != "2001:db8::10" {
		t.Errorf("records after a new address: %v", recs)
	}
	// Counters moved, and RefreshEvery passed: one refresh record.
	inv.Apply(traffic("00:1b:21:0a:0b:0c", t0+6000+10*minute-1, "", 5, 5), r.emit)
	if recs := r.take(); len(recs) != 0 {
		t.Errorf("%d records before RefreshEvery", len(recs))
	}
	inv.Apply(traffic("00:1b:21:0a:0b:0c", t0+6000+10*minute, "", 5, 5), r.emit)
	recs = r.take()
	if len(recs) != 1 || recs[0].BytesUp != 100+50+1+10 || recs[0].BytesDown != 1000+100+1+10 || recs[0].LastSeen != t0+6000+10*minute {
		t.Errorf("refresh records: %+v", recs)
	}
	// Multicast and zero MACs are not devices.
	inv.Apply(traffic("01:00:5e:00:00:fb", t0, "", 1, 1), r.emit)
	inv.Apply(traffic("00:00:00:00:00:00", t0, "", 1, 1), r.emit)
	if recs := r.take(); len(recs) != 0 || inv.Stats().Devices != 1 {
		t.Errorf("non-device MACs: %d records, %d devices", len(recs), inv.Stats().Devices)
	}
}

func TestAddresses(t *testing.T) {
	inv := New(Config{})
	m := "00:1b:21:0a:0b:0c"
	for i := range 6 {
		inv.Apply(traffic(m, t0+int64(i)*1000, fmt.Sprintf("192.0.2.%d", 10+i), 1, 1), nil)
	}
	for _, ip := range []string{"0.0.0.0", "255.255.255.255", "224.0.0.251", "127.0.0.1", "::ffff:192.0.2.15"} {
		inv.Apply(traffic(m, t0+9000, ip, 1, 1), nil)
	}
	d, _ := inv.Device(m)
	// At most 4 IPv4 addresses, most recent first; the mapped address is
	// 192.0.2.15 seen again; the others are not device addresses.
	if got := strings.Join(d.IPv4, " "); got != "192.0.2.15 192.0.2.14 192.0.2.13 192.0.2.12" {
		t.Errorf("IPv4 %q", got)
	}
	if len(d.IPv6) != 0 {
		t.Errorf("IPv6 %v", d.IPv6)
	}
}

func TestDHCPFacts(t *testing.T) {
	inv := New(Config{})
	var r recorder
	m := "00:1b:21:0a:0b:0c"
	o := dhcpObs(m, t0, "desk-pc", "01:00:1b:21:0a:0b:0c", "1,3,6,15,31,33,43,44,46,47,119,121,249,252")
	o.VendorClass = "MSFT 5.0"
	inv.Apply(o, r.emit)
	recs := r.take()
	if len(recs) != 1 || recs[0].Hostname != "desk-pc" || recs[0].OS != "Windows" ||
		recs[0].DHCPFingerprint != "1,3,6,15,31,33,43,44,46,47,119,121,249,252" {
		t.Fatalf("records %+v", recs)
	}
	inv.Apply(o, r.emit) // the same facts again
	if recs := r.take(); len(recs) != 0 {
		t.Errorf("%d records for unchanged facts", len(recs))
	}
	ack := &Observation{Kind: ObsDHCP, TS: t0 + 100, MAC: mac(m), IP: netip.MustParseAddr("192.0.2.50")}
	inv.Apply(ack, r.emit)
	if recs := r.take(); len(recs) != 1 || recs[0].IPv4[0] != "192.0.2.50" {
		t.Errorf("after ACK: %+v", recs)
	}
	// A user agent refines the OS; an mDNS name does not beat DHCP's.
	inv.UserAgent(m, "Mozilla/5.0 (Windows NT 6.1; Win64; x64)", t0+200)
	inv.Apply(&Observation{Kind: ObsMDNS, TS: t0 + 300, MAC: mac(m), Hostname: "DESK-PC-mdns"}, r.emit)
	recs = r.take()
	if len(recs) != 1 || recs[0].OS != "Windows 7" || recs[0].Hostname != "desk-pc" {
		t.Errorf("after UA and mDNS: %+v", recs)
	}
	// A new DHCP name wins.
	inv.Apply(dhcpObs(m, t0+400, "gaming-pc", "", ""), r.emit)
	if recs := r.take(); len(recs) != 1 || recs[0].Hostname != "gaming-pc" {
		t.Errorf("after rename: %+v", recs)
	}
	if got := inv.Name(m); got != "gaming-pc" {
		t.Errorf("Name = %q", got)
	}
}

func TestMDNSOnly(t *testing.T) {
	inv := New(Config{})
	var r recorder
	o := &Observation{Kind: ObsMDNS, TS: t0, MAC: mac("00:1b:21:0a:0b:0c"), IP: netip.MustParseAddr("fe80::1"),
		Hostname: "Living-Room", Model: "AppleTV11,1", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("2001:db8::9")}}
	inv.Apply(o, r.emit)
	recs := r.take()
	if len(recs) != 1 || recs[0].Hostname != "Living-Room" || recs[0].OS != "tvOS" ||
		strings.Join(recs[0].IPv4, ",") != "192.0.2.9" || len(recs[0].IPv6) != 2 {
		t.Errorf("records %+v", recs)
	}
}

func TestRandomizedLinking(t *testing.T) {
	const (
		phone  = "da:a1:19:00:00:01" // locally administered
		phone2 = "3e:a1:19:00:00:02"
		phone3 = "6a:a1:19:00:00:03"
		fp     = "1,3,6,15,26,28,51,58,59,43,114,108"
	)
	t.Run("client id", func(t *testing.T) {
		inv := New(Config{})
		var r recorder
		inv.Apply(dhcpObs(phone, t0, "pixel-8", "ff:00:00:00:01:00:01", fp), r.emit)
		inv.Apply(traffic(phone, t0+1000, "192.0.2.20", 100, 200), r.emit)
		if recs := r.take(); len(recs) != 2 || !recs[0].Randomized || recs[0].Vendor != "" {
			t.Fatalf("records %+v", recs)
		}
		// The phone comes back with a new MAC: traffic first (a new device
		// for a moment), then DHCP with the same client id.
		inv.Apply(traffic(phone2, t0+day, "192.0.2.21", 10, 20), r.emit)
		inv.Apply(dhcpObs(phone2, t0+day+1, "pixel-8", "ff:00:00:00:01:00:01", fp), r.emit)
		recs := r.take()
		if len(recs) != 2 || recs[0].MAC != phone2 || recs[1].MAC != phone {
			t.Fatalf("records %+v", recs)
		}
		d := recs[1]
		if d.BytesUp != 110 || d.BytesDown != 220 || d.FirstSeen != t0 || d.LastSeen != t0+day+1 ||
			strings.Join(d.IPv4, " ") != "192.0.2.21 192.0.2.20" || !d.Randomized {
			t.Errorf("linked device %+v", d)
		}
		if n := inv.Stats(); n.Devices != 1 || n.Linked != 1 {
			t.Errorf("stats %+v", n)
		}
		if inv.Primary(phone2) != phone || inv.Primary(phone) != phone || strings.Join(inv.Links(phone), ",") != phone2 {
			t.Errorf("primary %q links %v", inv.Primary(phone2), inv.Links(phone))
		}
		// Traffic of the new MAC now counts on the device.
		inv.Apply(traffic(phone2, t0+day+2000, "", 1, 1), r.emit)
		if d, _ := inv.Device(phone2); d.MAC != phone || d.BytesUp != 111 {
			t.Errorf("after link %+v", d)
		}
	})
	t.Run("host name after a quiet time", func(t *testing.T) {
		inv := New(Config{LinkQuiet: time.Minute})
		inv.Apply(dhcpObs(phone, t0, "Sams-Pixel", "", fp), nil)
		inv.Apply(dhcpObs(phone2, t0+2*minute, "sams-pixel", "", fp), nil)
		if inv.Primary(phone2) != phone {
			t.Errorf("not linked: %v", inv.Devices())
		}
		// A third MAC with the same name links to the same device (the
		// second one is now part of it, not a candidate of its own).
		inv.Apply(dhcpObs(phone3, t0+4*minute, "Sams-Pixel", "", ""), nil)
		if inv.Primary(phone3) != phone || len(inv.Links(phone)) != 2 {
			t.Errorf("third MAC: primary %q links %v", inv.Primary(phone3), inv.Links(phone))
		}
	})
	notLinked := []struct {
		name  string
		setup func(inv *Inventory)
		obs   *Observation
	}{
		{"still active", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "Sams-Pixel", "", fp), nil)
			inv.Apply(traffic(phone, t0+2*minute-1000, "", 1, 1), nil)
		}, dhcpObs(phone2, t0+2*minute, "Sams-Pixel", "", fp)},
		{"generic name", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "iPhone", "", fp), nil)
		}, dhcpObs(phone2, t0+hour, "iPhone", "", fp)},
		{"other fingerprint", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "Sams-Pixel", "", fp), nil)
		}, dhcpObs(phone2, t0+hour, "Sams-Pixel", "", "1,3,6")},
		{"two candidates", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "tablet", "", ""), nil)
			inv.Apply(dhcpObs(phone3, t0, "tablet", "", ""), nil)
		}, dhcpObs(phone2, t0+hour, "tablet", "", "")},
		{"known device is not randomised", func(inv *Inventory) {
			inv.Apply(dhcpObs("00:1b:21:0a:0b:0c", t0, "laptop", "", ""), nil)
		}, dhcpObs(phone2, t0+hour, "laptop", "", "")},
		{"new MAC is not randomised", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "laptop", "01:aa", ""), nil)
		}, dhcpObs("00:1b:21:0a:0b:0c", t0+hour, "laptop", "01:aa", "")},
		{"new MAC already has its own identity", func(inv *Inventory) {
			inv.Apply(dhcpObs(phone, t0, "laptop", "01:aa", ""), nil)
			inv.Apply(dhcpObs(phone2, t0, "other", "01:bb", ""), nil)
		}, dhcpObs(phone2, t0+hour, "laptop", "01:aa", "")},
	}
	for _, tt := range notLinked {
		t.Run("not linked: "+tt.name, func(t *testing.T) {
			inv := New(Config{LinkQuiet: time.Minute})
			tt.setup(inv)
			before := inv.Stats().Devices
			inv.Apply(tt.obs, nil)
			if s := inv.Stats(); s.Linked != 0 || inv.Primary(FormatMAC(tt.obs.MAC)) != FormatMAC(tt.obs.MAC) {
				t.Errorf("linked (stats %+v, %d devices before)", s, before)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	inv := New(Config{})
	var r recorder
	const a, b = "00:1b:21:0a:0b:0c", "00:1b:21:0a:0b:0d"
	inv.Apply(dhcpObs(a, t0, "tablet-1", "", ""), r.emit)
	inv.Apply(dhcpObs(b, t0, "tv", "", ""), r.emit)
	r.take()

	inv.SetAliases(map[string]string{"00:1B:21:0A:0B:0C": "儿子的平板", "00:1b:21:0a:0b:99": "not here yet", "bad": "x"}, r.emit)
	recs := r.take()
	if len(recs) != 1 || recs[0].MAC != a || recs[0].Alias != "儿子的平板" || inv.Name(a) != "儿子的平板" || inv.Name(b) != "tv" {
		t.Fatalf("set: %+v", recs)
	}
	inv.SetAliases(map[string]string{a: "Tablet", "00:1b:21:0a:0b:99": "not here yet"}, r.emit) // change
	if recs := r.take(); len(recs) != 1 || recs[0].Alias != "Tablet" {
		t.Errorf("change: %+v", recs)
	}
	inv.SetAliases(map[string]string{"00:1b:21:0a:0b:99": "not here yet"}, r.emit) // remove
	if recs := r.take(); len(recs) != 1 || recs[0].Alias != "" || inv.Name(a) != "tablet-1" {
		t.Errorf("remove: %+v", recs)
	}
	// An alias set before the device appears is used when it does.
	inv.Apply(traffic("00:1b:21:0a:0b:99", t0+1, "", 1, 1), r.emit)
	if recs := r.take(); len(recs) != 1 || recs[0].Alias != "not here yet" {
		t.Errorf("late device: %+v", recs)
	}
	// An alias of a linked MAC names the device.
	const p1, p2 = "da:a1:19:00:00:01", "3e:a1:19:00:00:02"
	inv.Apply(dhcpObs(p1, t0, "pixel", "ff:01", ""), nil)
	inv.Apply(dhcpObs(p2, t0+day, "pixel", "ff:01", ""), nil)
	inv.SetAliases(map[string]string{p2: "Mum's phone"}, r.emit)
	if inv.Name(p1) != "Mum's phone" {
		t.Errorf("linked alias: %q", inv.Name(p1))
	}
	if inv.Name("zz") != "" || inv.Name("00:00:00:00:00:01") != "" {
		t.Error("name of an unknown MAC")
	}
}

func TestPurge(t *testing.T) {
	inv := New(Config{PurgeAfter: 24 * time.Hour, HistoryDays: 2, Location: time.UTC})
	inv.Apply(traffic("00:1b:21:0a:0b:0c", t0, "192.0.2.1", 1, 1), nil)
	inv.Apply(dhcpObs("da:a1:19:00:00:01", t0, "pixel", "ff:01", ""), nil)
	inv.Apply(dhcpObs("3e:a1:19:00:00:02", t0+hour, "pixel", "ff:01", ""), nil)
	inv.Apply(traffic("00:1b:21:0a:0b:0d", t0+2*day, "192.0.2.2", 1, 1), nil)
	inv.Apply(traffic("00:1b:21:0a:0b:0d", t0+2*day, "192.0.2.3", 1, 1), nil)
	inv.DNS(&record.DNS{TS: t0, ClientMAC: "00:1b:21:0a:0b:0d", Query: "old.example", QType: "A", RCode: "NOERROR"})
	inv.DNS(&record.DNS{TS: t0 + 2*day, ClientMAC: "00:1b:21:0a:0b:0d", Query: "new.example", QType: "A", RCode: "NOERROR"})

	inv.Purge(t0 + 2*day)
	if s := inv.Stats(); s.Devices != 1 || s.Purged != 2 {
		t.Errorf("stats %+v", s)
	}
	if _, ok := inv.Device("3e:a1:19:00:00:02"); ok || inv.Primary("3e:a1:19:00:00:02") != "" {
		t.Error("linked MAC survives its device")
	}
	h := inv.History("00:1b:21:0a:0b:0d", 0, t0+3*day)
	if len(h) != 1 || h[0].Name != "new.example" {
		t.Errorf("history after purge: %+v", h)
	}
	// The client id of a purged device links nothing any more.
	inv.Apply(dhcpObs("6a:a1:19:00:00:03", t0+3*day, "pixel", "ff:01", ""), nil)
	if inv.Stats().Linked != 1 || inv.Primary("6a:a1:19:00:00:03") != "6a:a1:19:00:00:03" {
		t.Errorf("stats %+v", inv.Stats())
	}
	// Addresses not seen for PurgeAfter go too.
	inv.Apply(traffic("00:1b:21:0a:0b:0d", t0+3*day+hour, "192.0.2.2", 1, 1), nil)
	inv.Purge(t0 + 3*day + 2*hour)
	if d, _ := inv.Device("00:1b:21:0a:0b:0d"); strings.Join(d.IPv4, ",") != "192.0.2.2" {
		t.Errorf("addresses after purge: %v", d.IPv4)
	}
}

func TestMaxDevices(t *testing.T) {
	inv := New(Config{MaxDevices: 3})
	for i := range 5 {
		inv.Apply(traffic(fmt.Sprintf("00:1b:21:00:00:%02x", i), t0+int64(i), "", 1, 1), nil)
	}
	if s := inv.Stats(); s.Devices != 3 || s.Evicted != 2 {
		t.Errorf("stats %+v", s)
	}
	if _, ok := inv.Device("00:1b:21:00:00:00"); ok {
		t.Error("oldest device kept")
	}
}

func TestHistoryPerDay(t *testing.T) {
	loc := time.FixedZone("UTC+8", 8*3600)
	inv := New(Config{Location: loc})
	const m = "00:1b:21:0a:0b:0c"
	day1 := time.Date(2025, 6, 1, 0, 0, 0, 0, loc).UnixMilli()
	day2 := day1 + day
	dnsRec := func(ts int64, q, qtype, rcode string) *record.DNS {
		return &record.DNS{TS: ts, ClientMAC: m, Query: q, QType: qtype, RCode: rcode}
	}
	sess := func(start, end int64, host, app string, up, down uint64) *record.Session {
		return &record.Session{ClientMAC: m, StartTS: start, EndTS: end, Host: host, App: app, BytesUp: up, BytesDown: down}
	}
	inv.DNS(dnsRec(day1+hour, "www.Example.com.", "A", "NOERROR"))
	inv.DNS(dnsRec(day1+2*hour, "www.example.com", "AAAA", "NOERROR"))
	inv.Session(sess(day1+hour+10, day1+3*hour, "www.example.com", "Example", 100, 900))
	inv.Session(sess(day1+5*hour, day1+5*hour+50, "WWW.EXAMPLE.COM:443", "Example", 10, 90))
	inv.Session(sess(day1+6*hour, day1+6*hour+1, "video.example.net", "Video", 1000, 9000))
	inv.Session(sess(day2-1, day2+hour, "www.example.com", "", 1, 1)) // starts on day 1
	inv.DNS(dnsRec(day2+hour, "www.example.com", "A", "NOERROR"))
	// Not visits.
	inv.DNS(dnsRec(day2+hour, "missing.example", "A", "NXDOMAIN"))
	inv.DNS(dnsRec(day2+hour, "_ldap._tcp.example.com", "SRV", "NOERROR"))
	inv.DNS(dnsRec(day2+hour, "printer.local", "A", "NOERROR"))
	inv.DNS(dnsRec(day2+hour, "1.2.0.192.in-addr.arpa", "A", "NOERROR"))
	inv.DNS(dnsRec(day2+hour, "wpad", "A", "NOERROR"))

	h := inv.History(m, day1, day2+day)
	want := []Visit{
		{Name: "video.example.net", Day: day1, FirstSeen: day1 + 6*hour, LastSeen: day1 + 6*hour + 1, Sessions: 1, Bytes: 10000},
		{Name: "www.example.com", Day: day1, FirstSeen: day1 + hour, LastSeen: day2 + hour, Sessions: 3, Bytes: 1000 + 100 + 2, Lookups: 2},
		{Name: "www.example.com", Day: day2, FirstSeen: day2 + hour, LastSeen: day2 + hour, Lookups: 1},
	}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("history\n%+v\nwant\n%+v", h, want)
	}
	if h := inv.History(m, day2, day2+hour); len(h) != 1 || h[0].Day != day2 {
		t.Errorf("day 2 only: %+v", h)
	}
	if h := inv.History("00:00:00:00:00:01", 0, day2); h != nil {
		t.Errorf("unknown device: %+v", h)
	}
	apps, hosts := inv.Usage(m)
	if fmt.Sprint(apps) != "[{Video 1 10000} {Example 2 1100}]" ||
		fmt.Sprint(hosts) != "[{video.example.net 1 10000} {www.example.com 3 1102}]" {
		t.Errorf("usage %v %v", apps, hosts)
	}
}

// TestNoBreakdowns feeds the same records to a full inventory and to one
// without breakdowns: the devices are the same, only the full one has
// usage and history.
func TestNoBreakdowns(t *testing.T) {
	const m = "00:1b:21:0a:0b:0c"
	feed := func(inv *Inventory) {
		inv.DNS(&record.DNS{TS: t0, ClientMAC: m, Query: "www.example.com", QType: "A", RCode: "NOERROR"})
		inv.Session(&record.Session{ClientMAC: m, StartTS: t0 - minute, EndTS: t0 + hour, Host: "www.example.com",
			App: "Example", BytesUp: 10, BytesDown: 90})
		inv.UserAgent(m, "Mozilla/5.0 (Linux; Android 14; Pixel 8)", t0+2*hour)
	}
	full, bare := New(Config{}), New(Config{NoBreakdowns: true})
	feed(full)
	feed(bare)
	if f, b := fmt.Sprintf("%+v", full.Devices()), fmt.Sprintf("%+v", bare.Devices()); f != b || len(full.Devices()) != 1 {
		t.Errorf("devices differ:\nfull %s\nbare %s", f, b)
	}
	if d, _ := bare.Device(m); d.FirstSeen != t0-minute || d.LastSeen != t0+2*hour || !strings.Contains(d.OS, "Android") {
		t.Errorf("without breakdowns, records still mark the device seen and hint its OS: %+v", d)
	}
	apps, hosts := full.Usage(m)
	if len(apps) != 1 || len(hosts) != 1 || len(full.History(m, 0, t0+day)) != 1 {
		t.Errorf("full inventory: apps %v hosts %v history %v", apps, hosts, full.History(m, 0, t0+day))
	}
	apps, hosts = bare.Usage(m)
	if len(apps) != 0 || len(hosts) != 0 || len(bare.History(m, 0, t0+day)) != 0 {
		t.Errorf("without breakdowns: apps %v hosts %v history %v", apps, hosts, bare.History(m, 0, t0+day))
	}
}

func TestHistoryBounds(t *testing.T) {
	inv := New(Config{Location: time.UTC, MaxVisits: 4, MaxHosts: 2})
	const m = "00:1b:21:0a:0b:0c"
	d0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i, name := range []string{"a.example", "b.example", "c.example"} {
		inv.Session(&record.Session{ClientMAC: m, StartTS: d0 + int64(i), EndTS: d0 + int64(i), Host: name, App: name, BytesUp: 1})
	}
	// A new day past MaxVisits drops the oldest day.
	inv.DNS(&record.DNS{TS: d0 + day, ClientMAC: m, Query: "x.example", QType: "A", RCode: "NOERROR"})
	inv.DNS(&record.DNS{TS: d0 + day, ClientMAC: m, Query: "y.example", QType: "A", RCode: "NOERROR"})
	if h := inv.History(m, d0, d0+2*day); len(h) != 2 || h[0].Day != d0+day {
		t.Errorf("history %+v", h)
	}
	// Past MaxVisits within one day, new names are dropped and counted.
	for _, q := range []string{"z1.example", "z2.example", "z3.example"} {
		inv.DNS(&record.DNS{TS: d0 + day, ClientMAC: m, Query: q, QType: "A", RCode: "NOERROR"})
	}
	if h := inv.History(m, d0, d0+2*day); len(h) != 4 || inv.Stats().VisitsDropped != 1 {
		t.Errorf("history %d entries, %d dropped", len(h), inv.Stats().VisitsDropped)
	}
	// The next day the full device drops its oldest day again: that a day
	// was found full does not stick.
	inv.DNS(&record.DNS{TS: d0 + 2*day, ClientMAC: m, Query: "n.example", QType: "A", RCode: "NOERROR"})
	if h := inv.History(m, d0, d0+3*day); len(h) != 1 || h[0].Day != d0+2*day || h[0].Name != "n.example" || inv.Stats().VisitsDropped != 1 {
		t.Errorf("history on the next day %+v, %d dropped", h, inv.Stats().VisitsDropped)
	}
	_, hosts := inv.Usage(m)
	if fmt.Sprint(hosts) != "[{(other) 1 1} {a.example 1 1} {b.example 1 1}]" {
		t.Errorf("hosts past MaxHosts: %v", hosts)
	}
}

func TestRates(t *testing.T) {
	inv := New(Config{RateWindow: 10 * time.Second})
	const a, b = "00:1b:21:0a:0b:0c", "00:1b:21:0a:0b:0d"
	inv.Apply(traffic(a, t0-60_000, "", 1_000_000, 1_000_000), nil) // long before the window
	for s := int64(0); s < 10; s++ {
		inv.Apply(traffic(a, t0+s*1000, "", 1000, 10_000), nil)
	}
	inv.Apply(traffic(b, t0+9500, "", 50, 50), nil)
	inv.SetAliases(map[string]string{b: "tv"}, nil)
	got := inv.Rates()
	want := []Rate{{a, "", 1000, 10_000}, {b, "tv", 5, 5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rates %v, want %v", got, want)
	}
	// A clock moved back changes nothing; moved on past the window with no
	// traffic (a replay that ended), nothing is moving.
	inv.Advance(t0)
	if got := inv.Rates(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rates after Advance to an earlier time %v, want %v", got, want)
	}
	inv.Advance(t0 + 15_000) // the window holds seconds 6 to 15
	if got, want := inv.Rates(), []Rate{{a, "", 400, 4000}, {b, "tv", 5, 5}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rates half a window on: %v, want %v", got, want)
	}
	inv.Advance(t0 + 20_000)
	if got := inv.Rates(); len(got) != 0 {
		t.Errorf("rates after Advance past the window: %v", got)
	}
	// Ten seconds later with no traffic, nothing is moving.
	inv.Apply(traffic(b, t0+20_000, "", 0, 0), nil)
	if got := inv.Rates(); len(got) != 0 {
		t.Errorf("rates after silence: %v", got)
	}
}

func TestEmitPending(t *testing.T) {
	inv := New(Config{})
	var r recorder
	inv.Session(&record.Session{ClientMAC: "00:1b:21:0a:0b:0c", StartTS: t0, EndTS: t0 + 10, Host: "a.example"})
	inv.UserAgent("00:1b:21:0a:0b:0d", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)", t0)
	inv.EmitPending(r.emit)
	recs := r.take()
	if len(recs) != 2 || recs[0].MAC != "00:1b:21:0a:0b:0c" || recs[1].OS != "iOS 17" {
		t.Errorf("records %+v", recs)
	}
	inv.EmitPending(r.emit)
	if len(r.take()) != 0 {
		t.Error("records twice")
	}
}

// TestEmitMayCallBack checks that emit runs without the lock held.
func TestEmitMayCallBack(t *testing.T) {
	inv := New(Config{})
	var names []string
	var emit func(d *record.Device)
	emit = func(d *record.Device) {
		names = append(names, d.MAC+"="+inv.Name(d.MAC))
		_ = inv.Devices()
		if d.MAC == "00:1b:21:0a:0b:0c" {
			inv.Apply(dhcpObs("00:1b:21:0a:0b:0d", t0+1, "printer", "", ""), emit) // the owner may apply from emit
		}
	}
	inv.Apply(dhcpObs("00:1b:21:0a:0b:0c", t0, "nas", "", ""), emit)
	if strings.Join(names, " ") != "00:1b:21:0a:0b:0c=nas 00:1b:21:0a:0b:0d=printer" {
		t.Errorf("names %v", names)
	}
}

// TestConcurrentReads runs the reading methods while the owner applies
// observations; run with -race.
func TestConcurrentReads(t *testing.T) {
	inv := New(Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, d := range inv.Devices() {
					_ = inv.History(d.MAC, 0, t0+day)
					_, _ = inv.Usage(d.MAC)
					_ = inv.Name(d.MAC)
				}
				_ = inv.Rates()
				_ = inv.Stats()
			}
		}()
	}
	for i := range 2000 {
		m := fmt.Sprintf("00:1b:21:00:00:%02x", i%32)
		ts := t0 + int64(i)*100
		inv.Apply(traffic(m, ts, fmt.Sprintf("192.0.2.%d", i%32), 10, 10), nil)
		inv.Session(&record.Session{ClientMAC: m, StartTS: ts, EndTS: ts, Host: fmt.Sprintf("h%d.example", i%50), BytesUp: 1})
		inv.DNS(&record.DNS{TS: ts, ClientMAC: m, Query: "q.example", QType: "A", RCode: "NOERROR"})
		if i%500 == 0 {
			inv.SetAliases(map[string]string{m: "x"}, nil)
			inv.Purge(ts)
		}
	}
	close(stop)
	wg.Wait()
}

func TestApplyTrafficAllocatesNothing(t *testing.T) {
	inv := New(Config{})
	o := traffic("00:1b:21:0a:0b:0c", t0, "192.0.2.10", 100, 100)
	inv.Apply(o, nil)
	allocs := testing.AllocsPerRun(1000, func() {
		o.TS += 10
		inv.Apply(o, nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per traffic observation", allocs)
	}
}

// BenchmarkApply measures a traffic observation of a known device, what the
// engine sends per batch and per MAC: 64 devices, each with an address.
func BenchmarkApply(b *testing.B) {
	inv := New(Config{})
	obs := make([]*Observation, 64)
	for i := range obs {
		obs[i] = traffic(fmt.Sprintf("00:1b:21:00:00:%02x", i), t0, fmt.Sprintf("192.0.2.%d", i), 1500, 15000)
		inv.Apply(obs[i], nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := obs[i&63]
		o.TS += 7
		inv.Apply(o, nil)
		i++
	}
}

// BenchmarkSession measures the per-session bookkeeping (usage, visits).
func BenchmarkSession(b *testing.B) {
	inv := New(Config{Location: time.UTC})
	hosts := make([]string, 200)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.example.com", i)
	}
	s := &record.Session{ClientMAC: "00:1b:21:0a:0b:0c", StartTS: t0, EndTS: t0 + 1000, App: "Web", BytesUp: 1000, BytesDown: 10000}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Host = hosts[i%len(hosts)]
		s.StartTS += 10
		s.EndTS += 10
		inv.Session(s)
		i++
	}
}
