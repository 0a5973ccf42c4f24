package benchgen

import "math"

// Floating-point helpers whose results are the same on every platform, so
// a seed gives the same file on amd64, arm64 and mips alike. math.Exp and
// math.Log have assembly versions on some architectures that may differ in
// the last bit, and Go may fuse a*b+c into one instruction on others; here
// only correctly rounded +, -, *, / are used, with explicit float64
// conversions that forbid fusion (Go spec, "Floating-point operators").

// mul returns x*y rounded, never fused with a following addition.
func mul(x, y float64) float64 { return float64(x * y) }

// ln returns the natural logarithm of x > 0.
func ln(x float64) float64 {
	m, e := math.Frexp(x) // exact: x = m·2^e, m in [0.5, 1)
	if m < math.Sqrt2/2 {
		m *= 2 // exact
		e--
	}
	// ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …), |s| < 0.172
	s := float64(m-1) / float64(m+1)
	s2 := mul(s, s)
	term, sum := s, s
	for k := 3.0; k < 40; k += 2 {
		term = mul(term, s2)
		sum += float64(term / k)
	}
	return mul(2, sum) + mul(float64(e), math.Ln2)
}

// expm returns e^x for moderate x.
func expm(x float64) float64 {
	k := math.Round(float64(x / math.Ln2)) // exact rounding
	r := x - mul(k, math.Ln2)              // |r| <= 0.35
	term, sum := 1.0, 1.0
	for n := 1.0; n < 24; n++ {
		term = float64(mul(term, r) / n)
		sum += term
	}
	return math.Ldexp(sum, int(k)) // exact
}

// expDraw returns an exponentially distributed value with the given mean.
func (g *gen) exp(mean float64) float64 {
	return mul(-ln(1-g.r.Float64()), mean)
}

// normal returns an approximately standard normal value (Irwin-Hall).
func (g *gen) normal() float64 {
	s := -6.0
	for range 12 {
		s += g.r.Float64()
	}
	return s
}

// lognormal returns median·e^(sigma·N(0,1)).
func (g *gen) lognormal(median, sigma float64) float64 {
	return mul(median, expm(mul(sigma, g.normal())))
}

// pareto draws a heavy-tailed integer in [lo, hi] (Pareto with scale lo
// and shape alpha, capped at hi).
func (g *gen) pareto(lo, hi int, alpha float64) int {
	u := 1 - g.r.Float64() // (0, 1]
	v := float64(lo) / expm(float64(ln(u)/alpha))
	if v > float64(hi) {
		return hi
	}
	return int(v)
}
