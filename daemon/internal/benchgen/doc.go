// Package benchgen writes deterministic synthetic captures for benchmarks:
// a home-LAN traffic mix, and captures that hold many sessions open.
//
// Frames are built by hand into one reusable buffer (Ethernet, 802.1Q,
// IPv4, IPv6, TCP, UDP, ICMP and ICMPv6, with correct lengths and
// checksums) and written with pcapgo.Writer (LinkTypeEthernet, snaplen
// 65535, microsecond timestamps) through a bufio.Writer. Everything is
// drawn from one math/rand/v2 PCG source seeded from the options, so the
// same options give a byte-identical file.
//
// Every TCP segment to or from a TLS port carries whole TLS records, except
// the two halves of a split ClientHello. The addresses are documentation
// ranges (servers in 198.51.100.0/24, 203.0.113.0/24 and 2001:db8:ff::/48;
// clients in 192.168.1.0/24 and 2001:db8:1::/64).
//
// BareDecode is the decode loop of a bare gopacket program, the yardstick
// for the engine's throughput.
package benchgen
