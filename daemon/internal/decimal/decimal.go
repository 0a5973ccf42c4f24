// Package decimal appends unsigned integers as decimal text, faster than
// strconv for the small numbers that records and fingerprints are made of
// (ports, counters, timeline steps, TLS code points): no call into strconv
// and no copy out of a scratch buffer. Both encoders on the per-record path
// use it: record's JSON and the TLS dissector's JA3 strings.
package decimal

import "strconv"

// AppendUint appends v in decimal to b: below 10,000 digit by digit, below
// 2^32 two digits at a time in 32-bit arithmetic (fast on 32-bit routers
// too), below 10^16 (timestamps in milliseconds) as two such halves of
// eight digits, larger values through strconv.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	case v < 1000:
		return append(b, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
	case v < 10000:
		return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	case v >= 1e16:
		return strconv.AppendUint(b, v, 10)
	case v >= 1<<32:
		hi := v / 1e8 // 42 or more: v is at least 2^32
		return append8(AppendUint(b, hi), uint32(v-hi*1e8))
	}
	x := uint32(v)
	var buf [10]byte
	i := len(buf)
	for x >= 100 {
		q := x / 100
		r := (x - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = pairs[r], pairs[r+1]
		x = q
	}
	if x >= 10 {
		i -= 2
		buf[i], buf[i+1] = pairs[x*2], pairs[x*2+1]
	} else {
		i--
		buf[i] = byte('0' + x)
	}
	return append(b, buf[i:]...)
}

// append8 appends x, below 10^8, as exactly eight digits.
func append8(b []byte, x uint32) []byte {
	hi, lo := x/1e4, x%1e4
	a, c := hi/100*2, hi%100*2
	d, e := lo/100*2, lo%100*2
	return append(b, pairs[a], pairs[a+1], pairs[c], pairs[c+1], pairs[d], pairs[d+1], pairs[e], pairs[e+1])
}

// pairs holds the two digits of 00 to 99.
const pairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"
