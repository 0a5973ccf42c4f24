package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store/sqldb"
)

// The record codec: a compact binary form of a stamped record, one per
// frame. Fields follow the record's field order: text as a uvarint length
// and bytes, unsigned numbers as uvarints, signed ones as zig-zag varints,
// lists as a uvarint count and their elements. The codec reads what a
// crashed or foreign process may have left on disk, so decodeEntry checks
// every length and range and never trusts a count.

// appendEntry appends the payload of e to b.
func appendEntry(b []byte, e *sqldb.Entry) []byte {
	b = append(b, byte(e.Rec.Kind()))
	b = binary.AppendVarint(b, e.Run)
	b = binary.AppendVarint(b, e.Seq)
	switch r := e.Rec.(type) {
	case *record.Session:
		b = putStr(b, r.Sensor)
		b = putStr(b, r.Proto)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.ClientIP)
		b = binary.AppendUvarint(b, uint64(r.ClientPort))
		b = putStr(b, r.ServerMAC)
		b = putStr(b, r.ServerIP)
		b = binary.AppendUvarint(b, uint64(r.ServerPort))
		b = binary.AppendUvarint(b, uint64(r.VLAN))
		b = binary.AppendVarint(b, r.StartTS)
		b = binary.AppendVarint(b, r.EndTS)
		b = binary.AppendUvarint(b, r.BytesUp)
		b = binary.AppendUvarint(b, r.BytesDown)
		b = binary.AppendUvarint(b, r.PktsUp)
		b = binary.AppendUvarint(b, r.PktsDown)
		b = putStr(b, r.Host)
		b = putStr(b, r.App)
		b = putStr(b, r.EndReason)
		b = binary.AppendUvarint(b, uint64(len(r.Timeline)))
		for _, st := range r.Timeline {
			b = binary.AppendUvarint(b, uint64(st.DT))
			b = append(b, st.Dir, st.Flags)
			b = binary.AppendUvarint(b, uint64(st.Len))
		}
	case *record.DNS:
		b = putStr(b, r.Sensor)
		b = binary.AppendVarint(b, r.TS)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.ClientIP)
		b = putStr(b, r.ServerIP)
		b = putStr(b, r.Proto)
		b = binary.AppendUvarint(b, uint64(r.TxID))
		b = putStr(b, r.Query)
		b = putStr(b, r.QType)
		b = putStr(b, r.RCode)
		b = binary.AppendUvarint(b, uint64(len(r.Answers)))
		for i := range r.Answers {
			a := &r.Answers[i]
			b = putStr(b, a.Name)
			b = putStr(b, a.Type)
			b = binary.AppendUvarint(b, uint64(a.TTL))
			b = putStr(b, a.Data)
		}
		b = binary.AppendVarint(b, r.RTTMs)
	case *record.HTTP:
		b = putStr(b, r.Sensor)
		b = binary.AppendVarint(b, r.TS)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.ClientIP)
		b = binary.AppendUvarint(b, uint64(r.ClientPort))
		b = putStr(b, r.ServerIP)
		b = binary.AppendUvarint(b, uint64(r.ServerPort))
		b = putStr(b, r.Method)
		b = putStr(b, r.Host)
		b = putStr(b, r.URI)
		b = putStr(b, r.UserAgent)
		b = putStr(b, r.Referer)
		b = binary.AppendUvarint(b, uint64(r.Status))
		b = putStr(b, r.ContentType)
	case *record.TLS:
		b = putStr(b, r.Sensor)
		b = binary.AppendVarint(b, r.TS)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.ClientIP)
		b = binary.AppendUvarint(b, uint64(r.ClientPort))
		b = putStr(b, r.ServerIP)
		b = binary.AppendUvarint(b, uint64(r.ServerPort))
		b = putStr(b, r.Transport)
		b = putStr(b, r.Version)
		b = putStr(b, r.SNI)
		b = putStr(b, r.ALPN)
		b = putStr(b, r.JA3)
		b = putStr(b, r.JA3S)
		b = putStr(b, r.JA4)
		b = putBool(b, r.ECH)
	case *record.ICMP:
		b = putStr(b, r.Sensor)
		b = binary.AppendVarint(b, r.TS)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.SrcIP)
		b = putStr(b, r.DstIP)
		b = append(b, r.Family, r.Type, r.Code)
		b = binary.AppendUvarint(b, uint64(r.EchoID))
		b = binary.AppendUvarint(b, uint64(r.EchoSeq))
		b = binary.AppendVarint(b, r.RTTMs)
		b = putStr(b, r.Quoted)
	case *record.App:
		b = putStr(b, r.Sensor)
		b = putStr(b, r.ClientMAC)
		b = putStr(b, r.App)
		b = binary.AppendVarint(b, r.StartTS)
		b = binary.AppendVarint(b, r.EndTS)
		b = putStr(b, r.Host)
		b = binary.AppendUvarint(b, r.Sessions)
		b = binary.AppendUvarint(b, r.Bytes)
	case *record.Device:
		b = putStr(b, r.Sensor)
		b = putStr(b, r.MAC)
		b = putStr(b, r.Alias)
		b = putStr(b, r.Hostname)
		b = putStr(b, r.Vendor)
		b = putStrs(b, r.IPv4)
		b = putStrs(b, r.IPv6)
		b = putStr(b, r.OS)
		b = putStr(b, r.DHCPFingerprint)
		b = putBool(b, r.Randomized)
		b = binary.AppendVarint(b, r.FirstSeen)
		b = binary.AppendVarint(b, r.LastSeen)
		b = binary.AppendUvarint(b, r.BytesUp)
		b = binary.AppendUvarint(b, r.BytesDown)
	}
	return b
}

func putStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func putStrs(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = putStr(b, s)
	}
	return b
}

// errMalformed is the cause of every decoding error.
var errMalformed = errors.New("malformed record")

// reader decodes a payload; the first error sticks and later reads return
// zero values, so decoders check once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errMalformed, what)
		r.b = nil
	}
}

func (r *reader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) max(what string, limit uint64) uint64 {
	v := r.uvarint(what)
	if v > limit {
		r.fail(what + " out of range")
		return 0
	}
	return v
}

func (r *reader) u16(what string) uint16 { return uint16(r.max(what, math.MaxUint16)) }
func (r *reader) u32(what string) uint32 { return uint32(r.max(what, math.MaxUint32)) }

func (r *reader) byte(what string) byte {
	if len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bool(what string) bool {
	switch r.byte(what) {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail(what + " not 0 or 1")
	return false
}

func (r *reader) str(what string) string {
	n := r.uvarint(what)
	if n > uint64(len(r.b)) {
		r.fail(what + " longer than the record")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// count reads a list length; each element takes at least min bytes, so a
// count larger than the rest of the payload allows is malformed.
func (r *reader) count(what string, min int) int {
	n := r.uvarint(what)
	if n > uint64(len(r.b)/min) {
		r.fail(what + " larger than the record")
		return 0
	}
	return int(n)
}

func (r *reader) strs(what string) []string {
	n := r.count(what, 1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str(what)
	}
	return out
}

// decodeEntry decodes a payload made by appendEntry. The record is new;
// nothing refers to p afterwards.
func decodeEntry(p []byte) (sqldb.Entry, error) {
	var e sqldb.Entry
	r := reader{b: p}
	kind := record.Kind(r.byte("kind"))
	e.Run = r.varint("run")
	e.Seq = r.varint("seq")
	switch kind {
	case record.KindSession:
		s := &record.Session{
			Sensor: r.str("sensor"), Proto: r.str("proto"), ClientMAC: r.str("client_mac"), ClientIP: r.str("client_ip"),
			ClientPort: r.u16("client_port"), ServerMAC: r.str("server_mac"), ServerIP: r.str("server_ip"),
			ServerPort: r.u16("server_port"), VLAN: r.u16("vlan"), StartTS: r.varint("start_ts"), EndTS: r.varint("end_ts"),
			BytesUp: r.uvarint("bytes_up"), BytesDown: r.uvarint("bytes_down"), PktsUp: r.uvarint("pkts_up"),
			PktsDown: r.uvarint("pkts_down"), Host: r.str("host"), App: r.str("app"), EndReason: r.str("end_reason"),
		}
		if n := r.count("timeline", 4); n > 0 {
			s.Timeline = make([]record.Step, n)
			for i := range s.Timeline {
				st := &s.Timeline[i]
				st.DT = r.u32("timeline dt")
				st.Dir = r.byte("timeline dir")
				st.Flags = r.byte("timeline flags")
				st.Len = r.u16("timeline len")
			}
		}
		e.Rec = s
	case record.KindDNS:
		d := &record.DNS{
			Sensor: r.str("sensor"), TS: r.varint("ts"), ClientMAC: r.str("client_mac"), ClientIP: r.str("client_ip"),
			ServerIP: r.str("server_ip"), Proto: r.str("proto"), TxID: r.u16("txid"), Query: r.str("query"),
			QType: r.str("qtype"), RCode: r.str("rcode"),
		}
		if n := r.count("answers", 4); n > 0 {
			d.Answers = make([]record.Answer, n)
			for i := range d.Answers {
				a := &d.Answers[i]
				a.Name = r.str("answer name")
				a.Type = r.str("answer type")
				a.TTL = r.u32("answer ttl")
				a.Data = r.str("answer data")
			}
		}
		d.RTTMs = r.varint("rtt_ms")
		e.Rec = d
	case record.KindHTTP:
		e.Rec = &record.HTTP{
			Sensor: r.str("sensor"), TS: r.varint("ts"), ClientMAC: r.str("client_mac"), ClientIP: r.str("client_ip"),
			ClientPort: r.u16("client_port"), ServerIP: r.str("server_ip"), ServerPort: r.u16("server_port"),
			Method: r.str("method"), Host: r.str("host"), URI: r.str("uri"), UserAgent: r.str("user_agent"),
			Referer: r.str("referer"), Status: r.u16("status"), ContentType: r.str("content_type"),
		}
	case record.KindTLS:
		e.Rec = &record.TLS{
			Sensor: r.str("sensor"), TS: r.varint("ts"), ClientMAC: r.str("client_mac"), ClientIP: r.str("client_ip"),
			ClientPort: r.u16("client_port"), ServerIP: r.str("server_ip"), ServerPort: r.u16("server_port"),
			Transport: r.str("transport"), Version: r.str("version"), SNI: r.str("sni"), ALPN: r.str("alpn"),
			JA3: r.str("ja3"), JA3S: r.str("ja3s"), JA4: r.str("ja4"), ECH: r.bool("ech"),
		}
	case record.KindICMP:
		e.Rec = &record.ICMP{
			Sensor: r.str("sensor"), TS: r.varint("ts"), ClientMAC: r.str("client_mac"), SrcIP: r.str("src_ip"),
			DstIP: r.str("dst_ip"), Family: r.byte("family"), Type: r.byte("icmp_type"), Code: r.byte("icmp_code"),
			EchoID: r.u16("echo_id"), EchoSeq: r.u16("echo_seq"), RTTMs: r.varint("rtt_ms"), Quoted: r.str("quoted"),
		}
	case record.KindApp:
		e.Rec = &record.App{
			Sensor: r.str("sensor"), ClientMAC: r.str("client_mac"), App: r.str("app"), StartTS: r.varint("start_ts"),
			EndTS: r.varint("end_ts"), Host: r.str("host"), Sessions: r.uvarint("sessions"), Bytes: r.uvarint("bytes"),
		}
	case record.KindDevice:
		d := &record.Device{
			Sensor: r.str("sensor"), MAC: r.str("mac"), Alias: r.str("alias"), Hostname: r.str("hostname"),
			Vendor: r.str("vendor"), IPv4: r.strs("ipv4"), IPv6: r.strs("ipv6"), OS: r.str("os"),
			DHCPFingerprint: r.str("dhcp_fingerprint"),
		}
		d.Randomized = r.bool("randomized")
		d.FirstSeen = r.varint("first_seen")
		d.LastSeen = r.varint("last_seen")
		d.BytesUp = r.uvarint("bytes_up")
		d.BytesDown = r.uvarint("bytes_down")
		e.Rec = d
	default:
		r.fail(fmt.Sprintf("kind %d", kind))
	}
	if r.err != nil {
		return sqldb.Entry{}, r.err
	}
	if len(r.b) != 0 {
		return sqldb.Entry{}, fmt.Errorf("%w: %d bytes after the record", errMalformed, len(r.b))
	}
	return e, nil
}
