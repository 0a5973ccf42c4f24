package intern

import (
	"testing"
	"unsafe"
)

func TestString(t *testing.T) {
	var tb Table
	tb.Max = 2
	buf := []byte("www.example.org")
	a := tb.String(string(buf))
	buf[0] = 'x' // the copy must not follow the original bytes
	if a != "www.example.org" {
		t.Fatalf("copy changed: %q", a)
	}
	b := tb.String("www.example.org")
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Error("equal strings got different copies")
	}
	if tb.String("") != "" {
		t.Error("empty string")
	}
	tb.String("b")
	tb.String("c") // over Max: a new table
	if tb.Len() != 1 {
		t.Errorf("Len %d after reset, want 1", tb.Len())
	}
	n := testing.AllocsPerRun(100, func() { tb.String("c") })
	if n != 0 {
		t.Errorf("a held string allocates %.0f times", n)
	}
}
