package pipeline

import (
	"encoding/binary"

	"tamon/daemon/internal/capture"
)

// shardOf returns the worker for a frame: a symmetric hash of its IP
// addresses, so both directions of a session, every fragment of a datagram,
// a DNS query and its response, and all sessions between two hosts go to the
// same worker. It reads only the headers it needs and never fails: frames it
// cannot place go to worker 0.
func shardOf(data []byte, link capture.LinkType, workers int) int {
	if workers <= 1 {
		return 0
	}
	ip := ipHeader(data, link)
	var h uint64
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		h = addrHash(uint64(binary.BigEndian.Uint32(ip[12:16])), 0) ^
			addrHash(uint64(binary.BigEndian.Uint32(ip[16:20])), 0)
	case len(ip) >= 40 && ip[0]>>4 == 6:
		h = addrHash(binary.BigEndian.Uint64(ip[8:16]), binary.BigEndian.Uint64(ip[16:24])) ^
			addrHash(binary.BigEndian.Uint64(ip[24:32]), binary.BigEndian.Uint64(ip[32:40]))
	default:
		return 0
	}
	return int((h >> 32) % uint64(workers))
}

func addrHash(a, b uint64) uint64 {
	h := (a ^ 0x9E3779B97F4A7C15) * 0xBF58476D1CE4E5B9
	h ^= h >> 31
	h = (h ^ b) * 0x94D049BB133111EB
	return h ^ h>>29
}

// ipHeader finds the IP header in a frame, or returns nil.
func ipHeader(d []byte, link capture.LinkType) []byte {
	var et uint16
	switch link {
	case capture.LinkRaw:
		return d
	case capture.LinkNull, capture.LinkLoop:
		if len(d) < 4 {
			return nil
		}
		return d[4:]
	case capture.LinkLinuxSLL:
		if len(d) < 16 {
			return nil
		}
		et, d = binary.BigEndian.Uint16(d[14:16]), d[16:]
	case capture.LinkLinuxSLL2:
		if len(d) < 20 {
			return nil
		}
		et, d = binary.BigEndian.Uint16(d[0:2]), d[20:]
	case capture.LinkEthernet:
		if len(d) < 14 {
			return nil
		}
		et, d = binary.BigEndian.Uint16(d[12:14]), d[14:]
	default:
		return nil
	}
	for i := 0; i < 4; i++ {
		switch et {
		case 0x0800, 0x86dd:
			return d
		case 0x8100, 0x88a8, 0x9100:
			if len(d) < 4 {
				return nil
			}
			et, d = binary.BigEndian.Uint16(d[2:4]), d[4:]
		case 0x8864:
			if len(d) < 8 {
				return nil
			}
			switch binary.BigEndian.Uint16(d[6:8]) {
			case 0x0021, 0x0057:
				return d[8:]
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}
