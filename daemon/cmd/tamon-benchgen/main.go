// Command tamon-benchgen writes deterministic synthetic pcap captures for
// benchmarks: a home-LAN traffic mix, or (with -open) a capture of TCP
// sessions that are all still open at its end. It prints the Stats as one
// line of JSON to stderr. With -bare it instead times the bare gopacket
// decode loop over an existing capture.
//
//	tamon-benchgen -o FILE [-packets 1000000] [-seed 1] [-open N]
//	tamon-benchgen -bare FILE
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"tamon/daemon/internal/benchgen"
)

func main() {
	out := flag.String("o", "", "output pcap `file`")
	packets := flag.Int("packets", 1000000, "approximate number of packets of the mix")
	seed := flag.Uint64("seed", 1, "random seed")
	open := flag.Int("open", 0, "write `N` open TCP sessions instead of the mix")
	bare := flag.String("bare", "", "decode `file` with the bare gopacket loop and print the result")
	flag.Parse()
	if err := run(*out, *packets, *seed, *open, *bare); err != nil {
		fmt.Fprintln(os.Stderr, "tamon-benchgen:", err)
		os.Exit(1)
	}
}

func run(out string, packets int, seed uint64, open int, bare string) error {
	if bare != "" {
		res, err := benchgen.BareDecode(bare)
		if err != nil {
			return err
		}
		return printJSON(struct {
			benchgen.BareResult
			PacketsPerSec float64
		}{res, float64(res.Packets) / res.Elapsed.Seconds()})
	}
	if out == "" {
		flag.Usage()
		return fmt.Errorf("-o is required")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	var st benchgen.Stats
	if open > 0 {
		st, err = benchgen.OpenSessions(f, open, seed)
	} else {
		st, err = benchgen.Mix(f, benchgen.Options{Packets: packets, Seed: seed})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return printJSON(st)
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stderr, "%s\n", b)
	return err
}
