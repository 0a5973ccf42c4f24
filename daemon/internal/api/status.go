package api

import (
	"net/http"

	"tamon/daemon/internal/decode"
	"tamon/daemon/internal/pipeline"
)

// health answers GET /health, the one route without auth: it says only
// that the daemon answers.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{\"ok\":true}\n"))
}

// statusAnswer is GET /status (docs/api.md).
type statusAnswer struct {
	Version string        `json:"version"`
	Uptime  int64         `json:"uptime_s"`
	Sensor  string        `json:"sensor"`
	Capture statusCapture `json:"capture"`
	Engine  statusEngine  `json:"engine"`
	Store   statusStore   `json:"store"`
	Config  statusConfig  `json:"config"`
	Rates   statusRates   `json:"rates"`
}

type statusCapture struct {
	Interfaces   []string          `json:"interfaces"`
	Frames       uint64            `json:"frames"`
	Bytes        uint64            `json:"bytes"`
	KernelDrops  uint64            `json:"kernel_drops"`
	QueueDrops   uint64            `json:"queue_drops"`
	DecodeErrors map[string]uint64 `json:"decode_errors"`
	Offload      statusOffload     `json:"offload"`
}

type statusOffload struct {
	Software   bool   `json:"software"`
	Hardware   bool   `json:"hardware"`
	VendorHNAT bool   `json:"vendor_hnat"`
	Advice     string `json:"advice"`
}

type statusEngine struct {
	SessionsOpen    uint64        `json:"sessions_open"`
	SessionsEnded   uint64        `json:"sessions_ended"`
	SessionsEvicted uint64        `json:"sessions_evicted"`
	Records         uint64        `json:"records"`
	Dissect         statusDissect `json:"dissect"`
}

// statusDissect is what the TLS, QUIC and HTTP dissectors read, failed to
// read, and left unread for lack of room (the -r summary's counters).
type statusDissect struct {
	TLSHellos            uint64 `json:"tls_hellos"`
	TLSErrors            uint64 `json:"tls_errors"`
	QUICHellos           uint64 `json:"quic_hellos"`
	QUICErrors           uint64 `json:"quic_errors"`
	HTTPRequests         uint64 `json:"http_requests"`
	HTTPErrors           uint64 `json:"http_errors"`
	StreamGaps           uint64 `json:"stream_gaps"`
	SkippedSessions      uint64 `json:"skipped_sessions"`
	SkippedBuffers       uint64 `json:"skipped_buffers"`
	HTTPPipelineOverflow uint64 `json:"http_pipeline_overflow"`
}

type statusStore struct {
	Driver     string `json:"driver"`
	Connected  bool   `json:"connected"`
	Queue      int64  `json:"queue"`
	SpoolBytes int64  `json:"spool_bytes"`
	Dropped    uint64 `json:"dropped"`
	LastError  string `json:"last_error"`
}

type statusConfig struct {
	TCPTimeout int `json:"tcp_timeout"`
	UDPTimeout int `json:"udp_timeout"`
	AppTimeout int `json:"app_timeout"`
	Reloads    int `json:"reloads"`
}

type statusRates struct {
	Up   int64 `json:"up_bps"`
	Down int64 `json:"down_bps"`
}

// decodeErrorReasons are the decode outcomes /status counts as errors
// (non-IP frames and fragments waiting for reassembly are not).
func decodeErrorReasons() []decode.Reason {
	return []decode.Reason{decode.ReasonTruncated, decode.ReasonMalformed, decode.ReasonUnsupported, decode.ReasonFragDropped}
}

// status answers GET /status.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a := statusAnswer{
		Version: s.opts.Version,
		Uptime:  int64(s.opts.Now().Sub(s.start).Seconds()),
		Capture: statusCapture{Interfaces: []string{}, DecodeErrors: map[string]uint64{}},
	}
	if s.opts.Config != nil {
		ci := s.opts.Config()
		a.Sensor = ci.Config.Sensor
		if ci.Config.Interfaces != nil {
			a.Capture.Interfaces = ci.Config.Interfaces
		}
		a.Config = statusConfig{TCPTimeout: ci.Config.TCPTimeout, UDPTimeout: ci.Config.UDPTimeout,
			AppTimeout: ci.Config.AppTimeout, Reloads: ci.Reloads}
	}
	var es pipeline.Stats
	if s.opts.Engine != nil {
		es = s.opts.Engine.Stats()
	}
	a.Capture.Frames, a.Capture.Bytes = es.Frames, es.Bytes
	a.Capture.KernelDrops, a.Capture.QueueDrops = es.KernelDrops, es.QueueDrops
	for _, reason := range decodeErrorReasons() {
		a.Capture.DecodeErrors[reason.String()] = es.Decode[reason]
	}
	if s.opts.Offload != nil {
		rep := s.opts.Offload()
		a.Capture.Offload = statusOffload{Software: rep.Software, Hardware: rep.Hardware, VendorHNAT: rep.VendorHNAT, Advice: rep.Advice}
	}
	d := &es.Dissect
	a.Engine = statusEngine{SessionsOpen: es.Flow.Open, SessionsEnded: es.Flow.Ended, SessionsEvicted: es.Flow.Evicted, Records: es.Records,
		Dissect: statusDissect{TLSHellos: d.TLSHellos, TLSErrors: d.TLSErrors, QUICHellos: d.QUICHellos, QUICErrors: d.QUICErrors,
			HTTPRequests: d.HTTPReqs, HTTPErrors: d.HTTPErrors, StreamGaps: d.StreamGaps, SkippedSessions: d.Untracked,
			SkippedBuffers: d.BufferFull, HTTPPipelineOverflow: d.TooManyReqs}}
	if s.opts.Store != nil {
		st := s.opts.Store.Stats()
		a.Store = statusStore{Driver: st.Driver, Connected: st.Connected, Queue: st.Queue, SpoolBytes: st.SpoolBytes,
			Dropped: st.Dropped, LastError: st.LastError}
	}
	if s.opts.Devices != nil {
		for _, rt := range s.opts.Devices.Rates() {
			a.Rates.Up += bitsPerSecond(rt.Up)
			a.Rates.Down += bitsPerSecond(rt.Down)
		}
	}
	writeJSON(w, http.StatusOK, a)
}

// bitsPerSecond turns bytes per second into whole bits per second.
func bitsPerSecond(bytesPerSecond float64) int64 {
	return int64(bytesPerSecond*8 + 0.5)
}
