package pipeline

import (
	"fmt"
	"io"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/flow"
)

// WorkerStats is one worker's snapshot, published after each batch.
type WorkerStats struct {
	Decode   [decode.NumReasons]uint64
	Defrag   decode.DefragStats
	Flow     flow.Counters
	DNS      DNSCounters
	ICMP     ICMPCounters
	Dissect  StreamCounters
	ShortTCP uint64
}

func (w *worker) publish() {
	s := &WorkerStats{Decode: w.dec.Counts, Defrag: w.dec.Defrag.Stats, Flow: w.table.C, DNS: w.dns.C, ICMP: w.icmpT.C,
		Dissect: w.streams.C, ShortTCP: w.dec.ShortTCP}
	w.pub.Store(s)
}

// add adds o to c.
func (c *StreamCounters) add(o *StreamCounters) {
	c.TLSHellos += o.TLSHellos
	c.TLSErrors += o.TLSErrors
	c.HTTPReqs += o.HTTPReqs
	c.HTTPErrors += o.HTTPErrors
	c.StreamGaps += o.StreamGaps
	c.Untracked += o.Untracked
	c.QUICHellos += o.QUICHellos
	c.QUICErrors += o.QUICErrors
	c.TooManyReqs += o.TooManyReqs
	c.BufferFull += o.BufferFull
}

// Stats are the engine's counters: everything the rest of the daemon (the
// status API, the -r summary) reports about capture health.
type Stats struct {
	Frames      uint64 // frames read from the source
	Bytes       uint64 // their wire bytes
	KernelDrops uint64 // frames the kernel dropped (live capture)
	QueueDrops  uint64 // frames dropped because the workers were behind (live capture)
	Records     uint64 // records handed to the sinks
	Decode      [decode.NumReasons]uint64
	Defrag      decode.DefragStats
	Flow        flow.Counters
	DNS         DNSCounters
	ICMP        ICMPCounters
	Dissect     StreamCounters // TLS, HTTP and QUIC: what was read, what failed, what was skipped
	ShortTCP    uint64         // TCP packets whose header the snap length cut after the flags
	NameMap     int            // addresses in the DNS name map (after Run)
}

// Stats returns the current counters. Worker counters lag by at most one
// batch.
func (e *Engine) Stats() Stats {
	s := Stats{Frames: e.frames.Load(), Bytes: e.bytes.Load(), QueueDrops: e.queueDrops.Load(),
		Records: e.records.Load()}
	if p := e.src.Load(); p != nil {
		s.KernelDrops = (*p).Stats().KernelDrops
	}
	for _, w := range e.workers {
		ws := w.pub.Load()
		for i := range s.Decode {
			s.Decode[i] += ws.Decode[i]
		}
		s.Defrag.Fragments += ws.Defrag.Fragments
		s.Defrag.Reassembled += ws.Defrag.Reassembled
		s.Defrag.TimedOut += ws.Defrag.TimedOut
		s.Defrag.Dropped += ws.Defrag.Dropped
		s.Flow.Open += ws.Flow.Open
		s.Flow.Opened += ws.Flow.Opened
		s.Flow.Ended += ws.Flow.Ended
		s.Flow.Evicted += ws.Flow.Evicted
		s.Flow.Reused += ws.Flow.Reused
		s.DNS.Messages += ws.DNS.Messages
		s.DNS.Malformed += ws.DNS.Malformed
		s.DNS.Unanswered += ws.DNS.Unanswered
		s.DNS.Orphans += ws.DNS.Orphans
		s.DNS.TCPGaps += ws.DNS.TCPGaps
		s.ICMP.Messages += ws.ICMP.Messages
		s.ICMP.Echoes += ws.ICMP.Echoes
		s.ICMP.Unanswered += ws.ICMP.Unanswered
		for i := range s.ICMP.Counted {
			s.ICMP.Counted[i] += ws.ICMP.Counted[i]
		}
		s.Dissect.add(&ws.Dissect)
		s.ShortTCP += ws.ShortTCP
	}
	return s
}

// WriteSummary prints s as "name value" lines, for tamond -r on stderr.
func (s *Stats) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "frames %d\nbytes %d\nkernel_drops %d\nqueue_drops %d\nrecords %d\n",
		s.Frames, s.Bytes, s.KernelDrops, s.QueueDrops, s.Records)
	for i := decode.Reason(0); i < decode.NumReasons; i++ {
		fmt.Fprintf(w, "decode_%s %d\n", i, s.Decode[i])
	}
	fmt.Fprintf(w, "decode_short_tcp_header %d\n", s.ShortTCP)
	fmt.Fprintf(w, "fragments %d\nreassembled %d\nfrag_timed_out %d\nfrag_dropped %d\n",
		s.Defrag.Fragments, s.Defrag.Reassembled, s.Defrag.TimedOut, s.Defrag.Dropped)
	fmt.Fprintf(w, "sessions_open %d\nsessions_opened %d\nsessions_ended %d\nsessions_evicted %d\nsessions_port_reuse %d\n",
		s.Flow.Open, s.Flow.Opened, s.Flow.Ended, s.Flow.Evicted, s.Flow.Reused)
	fmt.Fprintf(w, "dns_messages %d\ndns_malformed %d\ndns_unanswered %d\ndns_orphan_responses %d\ndns_tcp_gaps %d\n",
		s.DNS.Messages, s.DNS.Malformed, s.DNS.Unanswered, s.DNS.Orphans, s.DNS.TCPGaps)
	fmt.Fprintf(w, "icmp_messages %d\nicmp_echoes %d\nicmp_unanswered %d\n", s.ICMP.Messages, s.ICMP.Echoes, s.ICMP.Unanswered)
	for i, n := range s.ICMP.Counted {
		if n > 0 {
			fmt.Fprintf(w, "%s %d\n", CountedICMPName(i), n)
		}
	}
	d := &s.Dissect
	fmt.Fprintf(w, "tls_hellos %d\ntls_errors %d\nquic_hellos %d\nquic_errors %d\nhttp_requests %d\nhttp_errors %d\n",
		d.TLSHellos, d.TLSErrors, d.QUICHellos, d.QUICErrors, d.HTTPReqs, d.HTTPErrors)
	fmt.Fprintf(w, "stream_gaps %d\ndissect_skipped_sessions %d\ndissect_skipped_buffers %d\nhttp_pipeline_overflow %d\n",
		d.StreamGaps, d.Untracked, d.BufferFull, d.TooManyReqs)
}
