package devices

import (
	"regexp"
	"strings"
	"testing"
)

func TestVendor(t *testing.T) {
	tests := []struct {
		mac  string
		want string
	}{
		{"00:00:0c:12:34:56", "Cisco Systems, Inc"},
		{"a8:b1:d4:1f:4e:c9", "Cisco Systems, Inc"}, // an IP phone of mercury_capture2.pcap
		{"00:03:93:00:00:01", "Apple, Inc."},
		{"d8:30:62:56:00:1c", "Apple, Inc."},
		{"00:0b:82:01:fc:42", "Grandstream Networks, Inc."},
		{"d8:0d:17:d6:55:ab", "TP-LINK TECHNOLOGIES CO.,LTD."},
		{"dc:a6:32:25:52:a4", "Raspberry Pi Trading Ltd"},
		{"98:f9:c7:d0:00:01", "hangzhou soar security technologies limited liability company"}, // MA-M
		{"98:06:37:50:00:01", "GS GLOBAL SECURITY INC"},                                        // MA-M inside an IEEE RA block
		{"70:b3:d5:01:b1:23", "AUDI AG"},                                                       // MA-S
		{"98:06:37:f0:00:01", ""},                                                              // unassigned MA-M of an IEEE RA block
		{"02:00:0c:12:34:56", ""},                                                              // locally administered
		{"da:30:62:56:00:1c", ""},                                                              // Apple's OUI with the local bit
		{"01:00:5e:00:00:fb", ""},                                                              // multicast
		{"00:00:00:00:00:00", "XEROX CORPORATION"},                                             // 00:00:00 is assigned
	}
	for _, tt := range tests {
		mac, ok := ParseMAC(tt.mac)
		if !ok {
			t.Fatalf("bad test MAC %q", tt.mac)
		}
		if got := Vendor(mac); got != tt.want {
			t.Errorf("Vendor(%s) = %q, want %q", tt.mac, got, tt.want)
		}
	}
}

// TestOUITable checks the embedded table as a whole: header with the
// source dates, every section sorted, every name reference valid.
func TestOUITable(t *testing.T) {
	if len(ouiTable) > 1<<20 {
		t.Errorf("table of %d bytes, want at most 1 MiB", len(ouiTable))
	}
	src := VendorSource()
	for _, re := range []string{`(?m)^tamon-oui 1$`, `(?m)^file: oui\.csv MA-L \d{4}-\d\d-\d\d \d+ assignments$`,
		`(?m)^file: mam\.csv MA-M \d{4}-\d\d-\d\d`, `(?m)^file: oui36\.csv MA-S \d{4}-\d\d-\d\d`, `(?m)^generated-by: go run \./scripts/oui$`} {
		if !regexp.MustCompile(re).MatchString(src) {
			t.Errorf("header lacks %s:\n%s", re, src)
		}
	}
	tab, ok := openOUI(ouiTable)
	if !ok {
		t.Fatal("embedded table does not open")
	}
	names := map[int]bool{}
	for off := 0; off < len(tab.names); {
		n := int(tab.names[off])
		if n == 0 || off+1+n > len(tab.names) {
			t.Fatalf("name at %d: length %d", off, n)
		}
		names[off] = true
		off += 1 + n
	}
	for i, sec := range []string{tab.l, tab.m, tab.s} {
		width := 3 + i
		if i == 2 {
			width = 5
		}
		size := width + 3
		if len(sec)%size != 0 || len(sec) == 0 {
			t.Fatalf("section %d: %d bytes", i, len(sec))
		}
		var prev uint64
		for j := 0; j < len(sec); j += size {
			var p uint64
			for k := range width {
				p = p<<8 | uint64(sec[j+k])
			}
			if j > 0 && p <= prev {
				t.Fatalf("section %d entry %d: prefix %x after %x", i, j/size, p, prev)
			}
			prev = p
			off := int(sec[j+width])<<16 | int(sec[j+width+1])<<8 | int(sec[j+width+2])
			if !names[off] {
				t.Fatalf("section %d entry %d: name offset %d is not a name", i, j/size, off)
			}
		}
	}
	if _, ok := openOUI(ouiTable[:len(ouiTable)-1]); ok {
		t.Error("a cut table opens")
	}
	if _, ok := openOUI(strings.Replace(ouiTable, "tamon-oui 1", "tamon-oui 2", 1)); ok {
		t.Error("a table of another version opens")
	}
}

func BenchmarkVendor(b *testing.B) {
	macs := [][6]byte{{0xa8, 0xb1, 0xd4, 1, 2, 3}, {0x70, 0xb3, 0xd5, 0x01, 0xb1, 0x23}, {0x98, 0x06, 0x37, 0x50, 0, 1}, {0xfc, 0xfc, 0xfc, 1, 2, 3}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = Vendor(macs[i&3])
		i++
	}
}
