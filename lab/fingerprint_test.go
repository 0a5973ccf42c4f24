package lab

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hello is one line of tamon-labserver's hello log: a ClientHello as Go's
// TLS server parsed it.
type hello struct {
	Remote     string   `json:"remote"`
	SNI        string   `json:"sni"`
	Versions   []uint16 `json:"versions"`
	Ciphers    []uint16 `json:"ciphers"`
	Extensions []uint16 `json:"extensions"`
	Curves     []uint16 `json:"curves"`
	Points     []uint8  `json:"points"`
	SigAlgs    []uint16 `json:"sigalgs"`
	ALPN       []string `json:"alpn"`
}

// readHellos reads the server's hello log.
func readHellos(t *testing.T) []hello {
	t.Helper()
	f, err := os.Open(filepath.Join(shared.lab.Dir, "hellos.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hello
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var h hello
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			t.Fatalf("hello log: %v", err)
		}
		out = append(out, h)
	}
	return out
}

func grease(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

func noGrease(vs []uint16) []uint16 {
	var out []uint16
	for _, v := range vs {
		if !grease(v) {
			out = append(out, v)
		}
	}
	return out
}

// legacyVersion is the ClientHello's version field: 0x0303 when the
// supported_versions extension (43) is present (RFC 8446 4.1.2), else the
// highest version Go extrapolated from it.
func (h hello) legacyVersion() uint16 {
	if slices.Contains(h.Extensions, 43) {
		return 0x0303
	}
	return slices.Max(h.Versions)
}

// JA3 is the JA3 hash (Salesforce): MD5 of
// "version,ciphers,extensions,groups,point formats", GREASE left out.
func (h hello) JA3() string {
	dec := func(vs []uint16) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = strconv.Itoa(int(v))
		}
		return strings.Join(s, "-")
	}
	pts := make([]uint16, len(h.Points))
	for i, p := range h.Points {
		pts[i] = uint16(p)
	}
	s := fmt.Sprintf("%d,%s,%s,%s,%s", h.legacyVersion(), dec(noGrease(h.Ciphers)), dec(noGrease(h.Extensions)),
		dec(noGrease(h.Curves)), dec(pts))
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// JA4 is FoxIO's JA4 of a TLS-over-TCP ClientHello.
func (h hello) JA4() string {
	ver := h.legacyVersion()
	if vs := noGrease(h.Versions); slices.Contains(h.Extensions, 43) && len(vs) > 0 {
		ver = slices.Max(vs)
	}
	verStr := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}[ver]
	if verStr == "" {
		verStr = "00"
	}
	sni := "i"
	if slices.Contains(h.Extensions, 0) {
		sni = "d"
	}
	ciphers, exts := noGrease(h.Ciphers), noGrease(h.Extensions)
	alpn := "00"
	if len(h.ALPN) > 0 && h.ALPN[0] != "" {
		a := h.ALPN[0]
		alpn = string(a[0]) + string(a[len(a)-1])
	}
	a := fmt.Sprintf("t%s%s%02d%02d%s", verStr, sni, min(len(ciphers), 99), min(len(exts), 99), alpn)
	hexList := func(vs []uint16) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = fmt.Sprintf("%04x", v)
		}
		return strings.Join(s, ",")
	}
	hash12 := func(s string) string {
		if s == "" {
			return "000000000000"
		}
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:12]
	}
	sc := slices.Clone(ciphers)
	slices.Sort(sc)
	var se []uint16
	for _, e := range exts {
		if e != 0 && e != 16 {
			se = append(se, e)
		}
	}
	slices.Sort(se)
	c := hexList(se)
	if sigs := noGrease(h.SigAlgs); len(sigs) > 0 {
		c += "_" + hexList(sigs)
	}
	return a + "_" + hash12(hexList(sc)) + "_" + hash12(c)
}

// TestFingerprintExpectations checks the test's own JA3 and JA4 against
// published values, so that agreement with tamon means something.
func TestFingerprintExpectations(t *testing.T) {
	// FoxIO's JA4 README example hello (Chrome): its ciphers, extensions
	// and signature algorithms give t13d1516h2_8daaf6152771_e5627efa2ab1.
	chrome := hello{
		Versions: []uint16{0x0a0a, 0x0304, 0x0303},
		Ciphers: []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
			0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
			0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x1a1a, 0x0015},
		SigAlgs: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
		ALPN:    []string{"h2", "http/1.1"},
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ja4 chrome", chrome.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		// JA3 of the JA3 README's example string "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0".
		{"ja3 readme", hello{Versions: []uint16{0x0301}, Ciphers: []uint16{47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4},
			Extensions: []uint16{0, 10, 11}, Curves: []uint16{23, 24, 25}, Points: []uint8{0}}.JA3(), "ada70206e40642a3e4461f35503241d5"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}
