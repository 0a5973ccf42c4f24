package api

import (
	"bufio"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/pipeline"
)

// apiMetrics are the API's own counters. Safe for concurrent use.
type apiMetrics struct {
	routes        map[string]*routeMetrics // by "METHOD /path"
	authFailures  atomic.Uint64
	originRefused atomic.Uint64
	ubusCalls     atomic.Uint64
	ubusErrors    atomic.Uint64
	streamSent    atomic.Uint64
	streamSlow    atomic.Uint64
}

// routeMetrics counts one route's answers by status code.
type routeMetrics struct {
	mu      sync.Mutex
	codes   map[int]uint64
	seconds float64 // time spent answering
}

func (m *apiMetrics) init(rs []route) {
	m.routes = make(map[string]*routeMetrics, len(rs))
	for _, rt := range rs {
		m.routes[rt.method+" "+rt.path] = &routeMetrics{codes: map[int]uint64{}}
	}
}

func (m *apiMetrics) route(name string) *routeMetrics { return m.routes[name] }

func (rm *routeMetrics) observe(code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK
	}
	rm.mu.Lock()
	rm.codes[code]++
	rm.seconds += d.Seconds()
	rm.mu.Unlock()
}

// promWriter writes the Prometheus text format (version 0.0.4).
type promWriter struct {
	w *bufio.Writer
}

func (p promWriter) head(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (p promWriter) value(name string, v float64, labels ...string) {
	p.w.WriteString(name)
	if len(labels) > 0 {
		p.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.w.WriteByte(',')
			}
			p.w.WriteString(labels[i])
			p.w.WriteString(`="`)
			p.w.WriteString(escapeLabel(labels[i+1]))
			p.w.WriteByte('"')
		}
		p.w.WriteByte('}')
	}
	p.w.WriteByte(' ')
	p.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	p.w.WriteByte('\n')
}

// one writes a metric with one unlabelled sample.
func (p promWriter) one(name, typ, help string, v float64) {
	p.head(name, typ, help)
	p.value(name, v)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// serveMetrics answers GET /metrics in the Prometheus text format: capture,
// engine, store, stream and API counters.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriterSize(w, 16<<10)
	defer bw.Flush()
	p := promWriter{bw}

	p.one("tamon_uptime_seconds", "gauge", "Seconds since the API started.", s.opts.Now().Sub(s.start).Seconds())
	p.one("tamon_goroutines", "gauge", "Goroutines of the daemon (a leak shows as steady growth).", float64(runtime.NumGoroutine()))
	var es pipeline.Stats
	if s.opts.Engine != nil {
		es = s.opts.Engine.Stats()
	}
	p.one("tamon_capture_frames_total", "counter", "Frames read from the capture source.", float64(es.Frames))
	p.one("tamon_capture_bytes_total", "counter", "Wire bytes of the frames read.", float64(es.Bytes))
	p.one("tamon_capture_kernel_drops_total", "counter", "Frames the kernel dropped (ring full).", float64(es.KernelDrops))
	p.one("tamon_capture_queue_drops_total", "counter", "Frames dropped because the workers were behind.", float64(es.QueueDrops))
	p.head("tamon_decode_frames_total", "counter", "Frames by decode outcome.")
	for i := decode.Reason(0); i < decode.NumReasons; i++ {
		p.value("tamon_decode_frames_total", float64(es.Decode[i]), "reason", i.String())
	}
	p.one("tamon_fragments_total", "counter", "IP fragments seen.", float64(es.Defrag.Fragments))
	p.one("tamon_fragments_reassembled_total", "counter", "Datagrams reassembled from fragments.", float64(es.Defrag.Reassembled))
	p.one("tamon_sessions_open", "gauge", "Sessions open now.", float64(es.Flow.Open))
	p.one("tamon_sessions_opened_total", "counter", "Sessions opened.", float64(es.Flow.Opened))
	p.one("tamon_sessions_ended_total", "counter", "Sessions ended.", float64(es.Flow.Ended))
	p.one("tamon_sessions_evicted_total", "counter", "Sessions evicted because the table was full.", float64(es.Flow.Evicted))
	p.one("tamon_dns_messages_total", "counter", "DNS messages parsed.", float64(es.DNS.Messages))
	p.one("tamon_dns_malformed_total", "counter", "DNS messages that did not parse.", float64(es.DNS.Malformed))
	p.one("tamon_icmp_messages_total", "counter", "ICMP messages seen.", float64(es.ICMP.Messages))
	d := &es.Dissect
	p.one("tamon_dissect_tls_hellos_total", "counter", "TLS ClientHellos read over TCP.", float64(d.TLSHellos))
	p.one("tamon_dissect_tls_errors_total", "counter", "TLS hellos not parsed.", float64(d.TLSErrors))
	p.one("tamon_dissect_quic_hellos_total", "counter", "QUIC ClientHellos read.", float64(d.QUICHellos))
	p.one("tamon_dissect_quic_errors_total", "counter", "QUIC Initials not decrypted or parsed.", float64(d.QUICErrors))
	p.one("tamon_dissect_http_requests_total", "counter", "HTTP requests read.", float64(d.HTTPReqs))
	p.one("tamon_dissect_http_errors_total", "counter", "HTTP heads or bodies not parsed.", float64(d.HTTPErrors))
	p.one("tamon_dissect_stream_gaps_total", "counter", "Streams given up for missing bytes.", float64(d.StreamGaps))
	p.head("tamon_dissect_skipped_total", "counter", "Left undissected for lack of room.")
	p.value("tamon_dissect_skipped_total", float64(d.Untracked), "reason", "sessions")
	p.value("tamon_dissect_skipped_total", float64(d.BufferFull), "reason", "buffers")
	p.value("tamon_dissect_skipped_total", float64(d.TooManyReqs), "reason", "http_pipeline")
	p.one("tamon_engine_records_total", "counter", "Records handed to the sinks.", float64(es.Records))

	if s.opts.Store != nil {
		st := s.opts.Store.Stats()
		p.head("tamon_store_connected", "gauge", "1 when the last database operation succeeded.")
		p.value("tamon_store_connected", boolFloat(st.Connected), "driver", st.Driver)
		p.one("tamon_store_queue_records", "gauge", "Records in memory waiting for the database.", float64(st.Queue))
		p.one("tamon_store_spool_records", "gauge", "Records in the disk spool.", float64(st.SpoolRecords))
		p.one("tamon_store_spool_bytes", "gauge", "Bytes of the disk spool.", float64(st.SpoolBytes))
		p.one("tamon_store_dropped_total", "counter", "Records lost (spool full or no spool).", float64(st.Dropped))
		p.one("tamon_store_rejected_total", "counter", "Records the database refused.", float64(st.Rejected))
		p.one("tamon_store_retries_total", "counter", "Batch writes retried.", float64(st.Retries))
		p.one("tamon_store_purged_total", "counter", "Rows removed by retention.", float64(st.Purged))
		p.head("tamon_store_rows_total", "counter", "Rows written, by table.")
		tables := make([]string, 0, len(st.Rows))
		for t := range st.Rows {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		for _, t := range tables {
			p.value("tamon_store_rows_total", float64(st.Rows[t]), "table", t)
		}
	}

	p.one("tamon_api_stream_clients", "gauge", "WebSocket stream clients connected.", float64(s.streamClients()))
	p.one("tamon_api_stream_records_total", "counter", "Records sent to stream clients.", float64(s.metrics.streamSent.Load()))
	p.one("tamon_api_stream_slow_disconnects_total", "counter", "Stream clients dropped for not keeping up.", float64(s.metrics.streamSlow.Load()))
	p.one("tamon_api_auth_failures_total", "counter", "Requests and streams refused for bad or missing credentials.", float64(s.metrics.authFailures.Load()))
	p.one("tamon_api_origin_refused_total", "counter", "Browser requests refused for their Origin.", float64(s.metrics.originRefused.Load()))
	p.one("tamon_api_ubus_calls_total", "counter", "LuCI session checks run through ubus.", float64(s.metrics.ubusCalls.Load()))
	p.one("tamon_api_ubus_errors_total", "counter", "LuCI session checks that failed to run.", float64(s.metrics.ubusErrors.Load()))

	names := make([]string, 0, len(s.metrics.routes))
	for n := range s.metrics.routes {
		names = append(names, n)
	}
	sort.Strings(names)
	p.head("tamon_api_requests_total", "counter", "API requests answered, by route and status code.")
	type sample struct {
		route string
		code  int
		n     uint64
	}
	var secs []float64
	for _, n := range names {
		rm := s.metrics.routes[n]
		rm.mu.Lock()
		codes := make([]int, 0, len(rm.codes))
		for c := range rm.codes {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		var samples []sample
		for _, c := range codes {
			samples = append(samples, sample{n, c, rm.codes[c]})
		}
		secs = append(secs, rm.seconds)
		rm.mu.Unlock()
		for _, sm := range samples {
			p.value("tamon_api_requests_total", float64(sm.n), "route", sm.route, "code", strconv.Itoa(sm.code))
		}
	}
	p.head("tamon_api_request_seconds_total", "counter", "Time spent answering, by route.")
	for i, n := range names {
		p.value("tamon_api_request_seconds_total", secs[i], "route", n)
	}
}
