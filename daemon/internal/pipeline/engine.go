// Package pipeline runs the engine: it reads frames from a capture.Source,
// shards them over worker goroutines by a symmetric hash of their IP
// addresses (so a session always lives in one worker and its state needs no
// lock), and merges what the workers emit into one ordered stream of
// records, which it enriches (names from DNS) and hands to the sinks.
//
// # Batches and order
//
// The reader copies frames into batches, listing each worker's frames apart.
// Every worker sees every batch and handles the frames of its shard, without
// reading the others' (their metadata was written on the reader's core, and
// reading it would move it to the worker's); when the last worker is done
// with a batch,
// the merger sorts the batch's records by the position of the packet that
// caused them, so the output depends only on the input, not on the number of
// workers or on scheduling. Time is packet time: after each batch, every
// worker expires idle state against the newest timestamp seen so far. On a
// quiet live link the reader sends empty batches whose time advances with the
// wall clock, so idle sessions still end.
//
// # Back-pressure
//
// Reading a file waits for free batches: nothing is lost. Live capture never
// waits: when no batch is free the frame is dropped and counted
// (Stats.QueueDrops); the kernel ring absorbs short bursts first.
package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"tamon/daemon/internal/appid"
	"tamon/daemon/internal/capture"
	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/flow"
	"tamon/daemon/internal/namemap"
	"tamon/daemon/internal/record"
)

// Config sets up an Engine.
type Config struct {
	Sensor      string
	Workers     int         // 0: one per CPU, at most 4
	BatchFrames int         // frames per batch (default 512)
	Batches     int         // batches in flight (default 2*Workers+4)
	Flow        flow.Config // session table, per worker (MaxFlows is split over workers)
	DNSTimeout  int64       // ns of packet time before an unanswered query is written (default 10 s)
	DNSPending  int         // outstanding queries kept per worker (default 4096)
	NameMapSize int         // addresses in the DNS name map (default 16384)
	FragSlots   int         // incomplete datagrams kept per worker (default 64)
	Live        bool        // drop instead of waiting when the workers fall behind
	IdleTick    time.Duration

	// NoDissect turns the application-layer dissectors (TLS, HTTP, QUIC,
	// SSDP) and the ICMP log off: sessions, DNS, the name map, the device
	// inventory and the application signatures stay. The daemon sets it
	// from the UCI option main.dissect '0', for routers whose CPU cannot
	// keep up, and SetDissect changes it while the engine runs; benchmarks
	// use it to show what the dissectors cost.
	NoDissect bool

	// Devices, when set, is the device inventory: the workers feed it
	// DHCP, mDNS and per-device traffic, the merger applies that and the
	// finished records, and device records go to the sinks when a device
	// appears or changes. The merger owns it while the engine runs; use
	// Engine.Control to change it then.
	Devices *devices.Inventory

	// Apps, when set, are the application signatures (features.txt); see
	// Engine.SetApps to change them. AppTimeout ends an app-usage session
	// (default 300 s).
	Apps       *appid.Rules
	AppTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = min(runtime.NumCPU(), 4)
	}
	if c.BatchFrames <= 0 {
		c.BatchFrames = 512
	}
	if c.Batches <= 0 {
		c.Batches = 2*c.Workers + 4
	}
	if c.Flow.MaxFlows <= 0 {
		c.Flow = flow.DefaultConfig()
	}
	if c.DNSTimeout <= 0 {
		c.DNSTimeout = 10e9
	}
	if c.DNSPending <= 0 {
		c.DNSPending = 4096
	}
	if c.NameMapSize <= 0 {
		c.NameMapSize = 16384
	}
	if c.FragSlots <= 0 {
		c.FragSlots = 64
	}
	if c.IdleTick <= 0 {
		c.IdleTick = time.Second
	}
}

// Sink receives records. Write is called from one goroutine, in record
// order, once per batch; it must not keep recs (the slice), but may keep the
// records themselves. A Sink that can be slow must queue internally: the
// engine waits for Write.
type Sink interface {
	Write(recs []record.Record) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(recs []record.Record) error

// Write implements Sink.
func (f SinkFunc) Write(recs []record.Record) error { return f(recs) }

type frameMeta struct {
	data []byte // into batch.buf
	ts   int64
	wire uint32
	pos  uint32 // in the batch: the frame is packet seq0+pos
	link capture.LinkType
}

type envelope struct {
	seq  uint64 // packet position that caused the record
	sub1 int64
	sub2 uint64
	rec  record.Record
	srv  netip.Addr           // a session's server address, for the name map
	obs  *devices.Observation // a device observation instead of a record

	// a session's payload signature hits, valid for the rules they came from
	rules *appid.Rules
	hits  [maxHits]uint16
	nhits uint8
}

const (
	finalNone = iota
	finalEOF
	finalShutdown
)

type batch struct {
	seq0    uint64 // position of the batch's first frame
	buf     []byte
	n       int           // frames in the batch
	frames  [][]frameMeta // per worker: the frames of its shard, in order
	now     int64         // newest packet time so far (ns)
	final   int
	out     [][]envelope        // per worker
	traffic [][]devices.Traffic // per worker: device traffic of its packets
	pending atomic.Int32
}

// Engine is the capture and analysis engine. Create with New, run once
// with Run. Stats may be called at any time from any goroutine.
type Engine struct {
	cfg     Config
	sinks   []Sink
	workers []*worker
	names   *namemap.Map

	free chan *batch
	done chan *batch

	frames     atomic.Uint64
	bytes      atomic.Uint64
	queueDrops atomic.Uint64
	records    atomic.Uint64
	src        atomic.Pointer[capture.Source]
	stop       context.CancelFunc // stops the reader when a sink fails
	outer      context.Context    // Run's caller's context
	recsBuf    []record.Record    // merger's scratch

	lastPurge int64           // packet time (ms) of the last device purge
	ctlRecs   []record.Record // records made by ControlEmit functions
	traffic   []devices.Traffic
	order     []uint32   // merger's scratch: envelope positions in record order (mergeOrder)
	runs      [][]uint32 // merger's scratch: each worker's positions in order
	heads     []int

	apps  atomic.Pointer[appid.Rules] // read by workers at each batch and by the merger
	usage *appid.Usage                // app usage per device, owned by the merger

	timeouts atomic.Pointer[Timeouts] // read by workers at each batch
	dissect  atomic.Bool              // read by workers at each batch
	ctl      chan ctlReq              // functions to run in the merger
	running  atomic.Bool
}

// Timeouts are the idle timeouts that a configuration reload may change
// while the engine runs (nanoseconds of packet time).
type Timeouts struct {
	TCP, UDP, Request int64
}

type ctlReq struct {
	fn   func()
	done chan struct{}
}

// Active returns the sessions open now, with their counters so far,
// newest activity last within each worker; hosts known from the protocol
// (SNI, HTTP Host) are filled, names from DNS are looked up in the name map
// by the caller if wanted. Each worker answers between two batches, so this
// waits at most about a batch (or the idle tick on a quiet link); it
// returns nil when the engine is not running or does not answer within
// two seconds.
func (e *Engine) Active() []record.Session {
	if !e.running.Load() {
		return nil
	}
	var out []record.Session
	deadline := time.After(2 * time.Second)
	for _, w := range e.workers {
		reply := make(chan []record.Session, 1)
		select {
		case w.activeReq <- reply:
		case <-deadline:
			return out
		}
		select {
		case rs := <-reply:
			out = append(out, rs...)
		case <-deadline:
			return out
		}
	}
	return out
}

// ControlEmit is Control for changes that produce records (device records
// after an alias change, say): records passed to emit go to the sinks in
// the merger, after fn returns.
func (e *Engine) ControlEmit(fn func(emit func(record.Record))) {
	e.Control(func() {
		fn(func(r record.Record) { e.ctlRecs = append(e.ctlRecs, r) })
		if !e.running.Load() && len(e.ctlRecs) > 0 { // ran in the caller
			e.writeAll(e.ctlRecs)
			e.ctlRecs = e.ctlRecs[:0]
		}
	})
}

// writeAll hands recs to every sink.
func (e *Engine) writeAll(recs []record.Record) error {
	e.records.Add(uint64(len(recs)))
	for _, s := range e.sinks {
		if err := s.Write(recs); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
	}
	return nil
}

// SetApps replaces the application signatures (on reload). Sessions whose
// payload was checked against the old rules are matched with those.
func (e *Engine) SetApps(r *appid.Rules) { e.apps.Store(r) }

// SetAppTimeout changes the app-usage timeout.
func (e *Engine) SetAppTimeout(d time.Duration) { e.Control(func() { e.usage.SetTimeout(d) }) }

// SetTimeouts changes the session and request timeouts; every worker
// applies them before its next batch. Safe from any goroutine.
func (e *Engine) SetTimeouts(t Timeouts) { e.timeouts.Store(&t) }

// SetDissect turns the application-layer dissectors and the ICMP log on
// or off (Config.NoDissect); every worker applies it before its next
// batch. Sessions already open go on without (or start with) dissection
// from that packet: the dissectors read mid-stream traffic as they do
// when capture starts in the middle of a session. Safe from any goroutine.
func (e *Engine) SetDissect(on bool) { e.dissect.Store(on) }

// Control runs fn in the merger goroutine, between two batches, and waits
// for it: the way to change state the merger owns (name map, device
// inventory, app usage) while the engine runs. When the engine is not
// running, fn runs in the caller.
func (e *Engine) Control(fn func()) {
	if e.running.Load() {
		req := ctlReq{fn: fn, done: make(chan struct{})}
		select {
		case e.ctl <- req:
			<-req.done
			return
		case <-time.After(5 * time.Second):
			// The merger is gone (Run is ending): fall through.
		}
	}
	fn()
}

// New returns an Engine that writes records to sinks.
func New(cfg Config, sinks ...Sink) *Engine {
	cfg.setDefaults()
	e := &Engine{cfg: cfg, sinks: sinks, names: namemap.New(cfg.NameMapSize, 3600_000), ctl: make(chan ctlReq)}
	e.timeouts.Store(&Timeouts{TCP: cfg.Flow.TCPTimeout, UDP: cfg.Flow.UDPTimeout, Request: cfg.DNSTimeout})
	e.dissect.Store(!cfg.NoDissect)
	if cfg.Apps != nil {
		e.apps.Store(cfg.Apps)
	}
	e.usage = appid.NewUsage(cfg.AppTimeout, cfg.Sensor)
	per := cfg.Flow
	per.MaxFlows = max(1, cfg.Flow.MaxFlows/cfg.Workers)
	for i := 0; i < cfg.Workers; i++ {
		w := newWorker(i, &e.cfg, per)
		w.timeouts = &e.timeouts
		w.dissectOn = &e.dissect
		w.apps = &e.apps
		e.workers = append(e.workers, w)
	}
	e.free = make(chan *batch, cfg.Batches)
	e.done = make(chan *batch, cfg.Batches)
	for i := 0; i < cfg.Batches; i++ {
		b := &batch{buf: make([]byte, 0, cfg.BatchFrames*512), frames: make([][]frameMeta, cfg.Workers),
			out: make([][]envelope, cfg.Workers), traffic: make([][]devices.Traffic, cfg.Workers)}
		for w := range b.frames {
			b.frames[w] = make([]frameMeta, 0, cfg.BatchFrames/cfg.Workers+16)
		}
		e.free <- b
	}
	return e
}

// Names returns the DNS name map. Only safe to use after Run returned.
func (e *Engine) Names() *namemap.Map { return e.names }

// Run reads src until it ends (io.EOF: every open session is written with
// end_reason eof) or ctx is cancelled (end_reason shutdown), then returns
// after every record reached the sinks. It returns a source error other than
// io.EOF (for example a truncated file, after everything before the cut was
// processed), or the first sink error.
func (e *Engine) Run(ctx context.Context, src capture.Source) error {
	e.src.Store(&src)
	e.outer = ctx
	ctx, e.stop = context.WithCancel(ctx)
	defer e.stop()
	var wg sync.WaitGroup
	ins := make([]chan *batch, len(e.workers))
	for i, w := range e.workers {
		ins[i] = make(chan *batch, e.cfg.Batches)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ins[i] {
				w.process(b)
				final := b.final
				if b.pending.Add(-1) == 0 {
					e.done <- b
				}
				if final != finalNone {
					w.flushTable(final == finalShutdown)
				}
			}
		}()
	}
	mergeErr := make(chan error, 1)
	go func() { mergeErr <- e.merge() }()

	srcErr := e.read(ctx, src, ins)
	for _, in := range ins {
		close(in)
	}
	wg.Wait()
	close(e.done)
	err := <-mergeErr
	if srcErr != nil && !errors.Is(srcErr, io.EOF) {
		if err == nil {
			err = srcErr
		}
	}
	return err
}

func (e *Engine) dispatch(b *batch, ins []chan *batch) {
	b.pending.Store(int32(len(ins)))
	for _, in := range ins {
		in <- b
	}
}

// readBatches is the reader loop for sources that fill whole batch buffers
// themselves (classic pcap files): no per-frame copy. It returns the
// source's final error.
func (e *Engine) readBatches(ctx context.Context, src capture.BatchReader, ins []chan *batch) error {
	var (
		frames []capture.Frame
		seq    uint64
		now    int64
		srcErr error
	)
	nw := len(e.workers)
	for ctx.Err() == nil {
		var b *batch
		select {
		case b = <-e.free:
		case <-ctx.Done():
		}
		if b == nil {
			break
		}
		if cap(b.buf) < fileBatchBytes {
			b.buf = make([]byte, 0, fileBatchBytes)
		}
		var err error
		frames, err = src.ReadBatch(b.buf[:cap(b.buf)], frames[:0])
		b.seq0 = seq
		var nbytes uint64
		b.n = len(frames)
		for i := range frames {
			f := &frames[i]
			sh := shardOf(f.Data, f.Link, nw)
			b.frames[sh] = append(b.frames[sh], frameMeta{data: f.Data, wire: uint32(f.WireLen), link: f.Link, ts: f.TS,
				pos: uint32(i)})
			nbytes += uint64(f.WireLen)
			if f.TS > now {
				now = f.TS
			}
		}
		seq += uint64(len(frames))
		e.frames.Add(uint64(len(frames)))
		e.bytes.Add(nbytes)
		b.now = now
		if err != nil {
			srcErr = err
			if len(frames) > 0 {
				e.dispatch(b, ins)
			} else {
				e.free <- b
			}
			break
		}
		e.dispatch(b, ins)
	}
	final := finalEOF
	if e.stopping(ctx) {
		final = finalShutdown
	}
	b := <-e.free
	b.seq0, b.final, b.now = seq, final, now
	e.dispatch(b, ins)
	return srcErr
}

// stopping reports whether Run was asked to stop: its own context (a sink
// failed) or the caller's. The caller's is checked too because a source
// may end on the caller's cancellation (a live source closed at shutdown)
// a moment before the cancellation reaches Run's derived context.
func (e *Engine) stopping(ctx context.Context) bool {
	return ctx.Err() != nil || e.outer.Err() != nil
}

// fileBatchBytes is the buffer of a batch read straight from a file.
const fileBatchBytes = 128 << 10

// read is the reader loop; it returns the source's final error.
func (e *Engine) read(ctx context.Context, src capture.Source, ins []chan *batch) error {
	if br, ok := capture.AsBatchReader(src); ok && !e.cfg.Live {
		return e.readBatches(ctx, br, ins)
	}
	var (
		f        capture.Frame
		seq      uint64
		now      int64
		cur      *batch
		lastWall = time.Now()
		lastPkt  int64
		srcErr   error
	)
	nw := len(e.workers)
	take := func(wait bool) *batch {
		if wait {
			select {
			case b := <-e.free:
				return b
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case b := <-e.free:
			return b
		default:
			return nil
		}
	}
	var nframes, nbytes uint64 // published once per batch
	send := func() {
		cur.now = now
		e.frames.Add(nframes)
		e.bytes.Add(nbytes)
		nframes, nbytes = 0, 0
		e.dispatch(cur, ins)
		cur = nil
	}
	for {
		if cur == nil && ctx.Err() != nil {
			break
		}
		err := src.Next(&f)
		if err != nil {
			if errors.Is(err, capture.ErrTimeout) {
				if cur != nil && cur.n > 0 {
					send()
				} else if time.Since(lastWall) >= e.cfg.IdleTick && lastPkt != 0 {
					// A quiet link: advance packet time by the wall clock.
					if b := take(false); b != nil {
						cur = b
						cur.seq0 = seq
						now = lastPkt + int64(time.Since(lastWall))
						send()
					}
				}
				continue
			}
			srcErr = err
			break
		}
		if cur == nil {
			cur = take(!e.cfg.Live)
			if cur == nil {
				if ctx.Err() != nil {
					break
				}
				e.queueDrops.Add(1)
				continue
			}
			cur.seq0 = seq
		}
		if len(cur.buf)+len(f.Data) > cap(cur.buf) && cur.n > 0 {
			send()
			cur = take(!e.cfg.Live)
			if cur == nil {
				if ctx.Err() != nil {
					break
				}
				e.queueDrops.Add(1)
				continue
			}
			cur.seq0 = seq
		}
		// The source reuses its buffer: copy. buf never grows past its
		// capacity (checked above), so earlier slices stay valid.
		off := len(cur.buf)
		cur.buf = append(cur.buf, f.Data...)
		sh := shardOf(f.Data, f.Link, nw)
		cur.frames[sh] = append(cur.frames[sh], frameMeta{data: cur.buf[off:len(cur.buf):len(cur.buf)], wire: uint32(f.WireLen),
			link: f.Link, ts: f.TS, pos: uint32(cur.n)})
		cur.n++
		nframes++
		nbytes += uint64(f.WireLen)
		seq++
		if f.TS > now {
			now = f.TS
		}
		lastPkt = now
		if e.cfg.Live && cur.n&63 == 1 {
			lastWall = time.Now()
		}
		if cur.n == e.cfg.BatchFrames {
			send()
		}
	}
	if cur != nil && cur.n > 0 {
		send()
	}
	// The final batch: flush everything still open.
	final := finalEOF
	if e.stopping(ctx) {
		final = finalShutdown
		if e.cfg.Live {
			now = lastPkt + int64(time.Since(lastWall))
		}
	}
	if cur == nil {
		cur = <-e.free
	}
	cur.seq0 = seq
	cur.final = final
	send()
	return srcErr
}

// merge orders each finished batch's records, enriches them and writes
// them to the sinks. It owns the name map.
func (e *Engine) merge() error {
	var firstErr error
	e.running.Store(true)
	defer e.running.Store(false)
	for {
		var b *batch
		select {
		case req := <-e.ctl:
			req.fn()
			if len(e.ctlRecs) > 0 {
				if err := e.writeAll(e.ctlRecs); err != nil && firstErr == nil {
					firstErr = err
				}
				clear(e.ctlRecs)
				e.ctlRecs = e.ctlRecs[:0]
			}
			close(req.done)
			continue
		case bb, ok := <-e.done:
			if !ok {
				return firstErr
			}
			b = bb
		}
		order := e.mergeOrder(b)
		recs := e.recsBuf[:0]
		emitDev := func(d *record.Device) { recs = append(recs, d) }
		// The batch's device traffic, summed over workers so that the
		// result does not depend on how many there are, is applied after
		// the records of its packets, before expiry records.
		traffic := e.sumTraffic(b)
		endSeq := b.seq0 + uint64(b.n)
		for _, pos := range order {
			env := &b.out[pos>>posShift][pos&posMask]
			if traffic != nil && env.seq >= endSeq {
				e.cfg.Devices.ApplyTraffic(traffic, emitDev)
				traffic = nil
			}
			if o := env.obs; o != nil {
				e.cfg.Devices.Apply(o, emitDev)
				continue
			}
			e.enrich(env)
			recs = append(recs, env.rec)
		}
		if traffic != nil {
			e.cfg.Devices.ApplyTraffic(traffic, emitDev)
		}
		e.usage.Expire(b.now/1e6, func(a *record.App) { recs = append(recs, a) })
		if inv := e.cfg.Devices; inv != nil {
			inv.EmitPending(emitDev)
			if b.now/1e6-e.lastPurge > 60_000 {
				inv.Purge(b.now / 1e6)
				e.lastPurge = b.now / 1e6
			}
		}
		if len(recs) > 0 && firstErr == nil {
			e.records.Add(uint64(len(recs)))
			for _, s := range e.sinks {
				if err := s.Write(recs); err != nil && firstErr == nil {
					firstErr = fmt.Errorf("write records: %w", err)
				}
			}
		}
		clear(recs)
		e.recsBuf = recs[:0]
		for w := range b.out {
			clear(b.out[w])
			b.out[w] = b.out[w][:0]
		}
		if b.final != finalNone {
			if err := e.flushSessions(); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		b.buf, b.n, b.final = b.buf[:0], 0, finalNone
		for w := range b.frames {
			b.frames[w] = b.frames[w][:0]
		}
		e.free <- b // never blocks: free holds every batch
		if firstErr != nil && e.stop != nil {
			e.stop()
		}
	}
}

// Positions of envelopes in a batch's output: worker << posShift | index.
const (
	posShift = 26
	posMask  = 1<<posShift - 1
)

// cmpEnv orders envelopes: packet position, then the two sub-keys.
func cmpEnv(x, y *envelope) int {
	switch {
	case x.seq != y.seq:
		return cmpU(x.seq, y.seq)
	case x.sub1 != y.sub1:
		if x.sub1 < y.sub1 {
			return -1
		}
		return 1
	default:
		return cmpU(x.sub2, y.sub2)
	}
}

// mergeOrder returns the positions of b's envelopes in record order. Each
// worker emits in order while it reads packets; only what it emits after
// the batch's packets (expiry, in table order) needs sorting. So each
// worker's output is one sorted run once that tail is sorted (stably), and
// the runs are merged; equal keys keep worker order, which makes the
// result the same as a stable sort of the workers' outputs one after the
// other.
func (e *Engine) mergeOrder(b *batch) []uint32 {
	end := b.seq0 + uint64(b.n)
	if len(e.runs) < len(b.out) {
		e.runs = make([][]uint32, len(b.out))
	}
	for w, out := range b.out {
		run := e.runs[w][:0]
		for i := range out {
			run = append(run, uint32(w)<<posShift|uint32(i))
		}
		byKey := func(x, y uint32) int { return cmpEnv(&out[x&posMask], &out[y&posMask]) }
		t := len(out)
		for t > 0 && out[t-1].seq >= end {
			t--
		}
		sorted := true
		for i := 1; i < t && sorted; i++ {
			sorted = cmpEnv(&out[i-1], &out[i]) <= 0
		}
		switch {
		case !sorted: // an eviction inside packet handling emitted with its own keys
			slices.SortStableFunc(run, byKey)
		case len(out)-t > 1:
			slices.SortStableFunc(run[t:], byKey)
		}
		e.runs[w] = run
	}
	order := e.order[:0]
	heads := e.heads[:0]
	for range b.out {
		heads = append(heads, 0)
	}
	e.heads = heads
	runs := e.runs[:len(b.out)]
	for {
		best := -1
		for w, run := range runs {
			if heads[w] == len(run) {
				continue
			}
			if best < 0 {
				best = w
				continue
			}
			x, y := run[heads[w]], runs[best][heads[best]]
			if cmpEnv(&b.out[w][x&posMask], &b.out[best][y&posMask]) < 0 {
				best = w
			}
		}
		if best < 0 {
			break
		}
		order = append(order, runs[best][heads[best]])
		heads[best]++
	}
	e.order = order
	return order
}

// sumTraffic adds up the workers' device traffic of batch b (one sum per
// worker that saw the device) into one per device and address, latest
// time, ordered by device and address; nil if there is none.
func (e *Engine) sumTraffic(b *batch) []devices.Traffic {
	out := e.traffic[:0]
	for w := range b.traffic {
		out = append(out, b.traffic[w]...)
		b.traffic[w] = b.traffic[w][:0]
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b devices.Traffic) int {
			if a.MAC != b.MAC {
				return bytes.Compare(a.MAC[:], b.MAC[:])
			}
			return a.IP.Compare(b.IP)
		})
		// Each worker has one sum per device and address: add up equal
		// neighbours.
		n := 1
		for i := 1; i < len(out); i++ {
			if p := &out[n-1]; p.MAC == out[i].MAC && p.IP == out[i].IP {
				p.Up += out[i].Up
				p.Down += out[i].Down
				p.TS = max(p.TS, out[i].TS)
				continue
			}
			out[n] = out[i]
			n++
		}
		out = out[:n]
	}
	e.traffic = out
	if len(out) == 0 || e.cfg.Devices == nil {
		return nil
	}
	return out
}

// flushSessions writes the sessions that the workers flush after the
// final batch (worker.flushTable), merging the workers' sorted streams of
// chunks into one order: start time, then 5-tuple hash. Workers build the
// records in parallel, and at most a few chunks per worker exist at a time,
// so a table of 100,000 sessions never exists twice in memory.
func (e *Engine) flushSessions() error {
	type head struct {
		ch    chan []envelope
		chunk []envelope
		i     int
	}
	hs := make([]*head, len(e.workers))
	for i, w := range e.workers {
		hs[i] = &head{ch: w.flushCh}
	}
	next := func(h *head) bool {
		for h.i >= len(h.chunk) {
			c, ok := <-h.ch
			if !ok {
				h.chunk, h.i = nil, 0
				return false
			}
			h.chunk, h.i = c, 0
		}
		return true
	}
	live := hs[:0:0]
	for _, h := range hs {
		if next(h) {
			live = append(live, h)
		}
	}
	var firstErr error
	recs := e.recsBuf[:0]
	write := func() {
		if len(recs) > 0 && firstErr == nil {
			e.records.Add(uint64(len(recs)))
			for _, s := range e.sinks {
				if err := s.Write(recs); err != nil && firstErr == nil {
					firstErr = fmt.Errorf("write records: %w", err)
				}
			}
		}
		clear(recs)
		recs = recs[:0]
	}
	for len(live) > 0 {
		best := 0
		for i := 1; i < len(live); i++ {
			a, b := &live[i].chunk[live[i].i], &live[best].chunk[live[best].i]
			if a.sub1 < b.sub1 || (a.sub1 == b.sub1 && a.sub2 < b.sub2) {
				best = i
			}
		}
		h := live[best]
		env := &h.chunk[h.i]
		e.enrich(env)
		recs = append(recs, env.rec)
		env.rec = nil
		h.i++
		if len(recs) == flushChunk {
			write()
		}
		if !next(h) {
			live = append(live[:best], live[best+1:]...)
		}
	}
	e.usage.Flush(func(a *record.App) { recs = append(recs, a) })
	if inv := e.cfg.Devices; inv != nil {
		inv.EmitPending(func(d *record.Device) { recs = append(recs, d) })
	}
	write()
	e.recsBuf = recs[:0]
	return firstErr
}

// flushChunk is how many records a worker hands over at a time when it
// flushes its table.
const flushChunk = 256

// flushKey is an open session's place in the final flush: start time,
// then 5-tuple hash (keyHash), then key.
type flushKey struct {
	start int64
	hash  uint32
	s     *flow.Session
}

// flushKeys sorts with sort.Sort, whose code the binary has anyway: a
// slices.SortFunc of its own would add a dozen functions to a binary that
// must fit a router's flash.
type flushKeys []flushKey

func (k flushKeys) Len() int           { return len(k) }
func (k flushKeys) Less(i, j int) bool { return cmpFlushKey(k[i], k[j]) < 0 }
func (k flushKeys) Swap(i, j int)      { k[i], k[j] = k[j], k[i] }

func cmpFlushKey(a, b flushKey) int {
	if a.start != b.start {
		if a.start < b.start {
			return -1
		}
		return 1
	}
	if a.hash != b.hash {
		return cmpU(uint64(a.hash), uint64(b.hash))
	}
	return bytes.Compare(unsafeKeyBytes(&a.s.Key), unsafeKeyBytes(&b.s.Key))
}

func unsafeKeyBytes(k *flow.Key) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k))
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}
