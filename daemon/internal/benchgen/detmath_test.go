package benchgen

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"testing"
)

func TestDetMath(t *testing.T) {
	for _, x := range []float64{1e-300, 1e-9, 0.001, 0.1, 0.5, 0.7071, 0.99999, 1, 1.5, 2, 10, 1234.5, 1e12} {
		if got, want := ln(x), math.Log(x); math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
			t.Errorf("ln(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	for _, x := range []float64{-30, -5, -1, -0.3, 0, 1e-9, 0.5, 1, 3.3, 10, 40} {
		if got, want := expm(x), math.Exp(x); math.Abs(got-want) > 1e-14*want {
			t.Errorf("expm(%g) = %.17g, want %.17g", x, got, want)
		}
	}
}

// TestGolden pins the output of a small mix and of a few open sessions, so
// that a change to the generator, or a platform that draws differently, is
// noticed: benchmark files made from the same options must stay
// comparable. Update the hashes only when changing the generator on purpose.
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		write func(w io.Writer) (Stats, error)
		want  string
	}{
		{"Mix(Packets 2000, Seed 1)", func(w io.Writer) (Stats, error) {
			return Mix(w, Options{Packets: 2000, Seed: 1})
		}, "5471de16a8265678991be7164753a9d2288f7d31355f8fbe9cc0f0cc0c7389df"},
		{"OpenSessions(100, 1)", func(w io.Writer) (Stats, error) {
			return OpenSessions(w, 100, 1)
		}, "79e1f2191b5b4eab43c35ff4779837954223c81328a079ea710275252faa25c1"},
	}
	for _, tc := range tests {
		h := sha256.New()
		st, err := tc.write(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != tc.want {
			t.Errorf("%s: %d packets, SHA-256 %s, want %s", tc.name, st.Packets, got, tc.want)
		}
	}
}
