package appid

import (
	"reflect"
	"testing"
	"time"

	"tamon/daemon/internal/record"
)

const (
	macA = "aa:aa:aa:aa:aa:01"
	macB = "bb:bb:bb:bb:bb:02"
)

func sess(mac, app, host string, start, end int64, up, down uint64) *record.Session {
	return &record.Session{ClientMAC: mac, App: app, Host: host, StartTS: start, EndTS: end, BytesUp: up, BytesDown: down}
}

// step is one call on a Usage: Observe a session, or Expire at a time, or
// Flush (flush true).
type step struct {
	observe *record.Session
	expire  int64
	flush   bool
}

func run(u *Usage, steps []step) []record.App {
	var out []record.App
	emit := func(a *record.App) { out = append(out, *a) }
	for _, s := range steps {
		switch {
		case s.observe != nil:
			u.Observe(s.observe)
		case s.flush:
			u.Flush(emit)
		default:
			u.Expire(s.expire, emit)
		}
	}
	return out
}

func app(mac, name, host string, start, end int64, sessions, bytes uint64) record.App {
	return record.App{Sensor: "r1", ClientMAC: mac, App: name, StartTS: start, EndTS: end, Host: host, Sessions: sessions, Bytes: bytes}
}

func TestUsage(t *testing.T) {
	const to = 300_000 // ms
	tests := []struct {
		name  string
		steps []step
		want  []record.App
	}{
		{
			name: "one session, flushed",
			steps: []step{
				{observe: sess(macA, "微信", "weixin.qq.com", 1000, 5000, 100, 200)},
				{flush: true},
			},
			want: []record.App{app(macA, "微信", "weixin.qq.com", 1000, 5000, 1, 300)},
		},
		{
			name: "extended while traffic continues, then timeout",
			steps: []step{
				{observe: sess(macA, "微信", "a.weixin.qq.com", 1000, 5000, 10, 20)},
				{expire: 5000 + to - 1},
				{observe: sess(macA, "微信", "b.weixin.qq.com", 200_000, 250_000, 1, 2)},
				{observe: sess(macA, "微信", "b.weixin.qq.com", 260_000, 400_000, 3, 4)},
				{expire: 400_000 + to - 1}, // not yet
				{expire: 400_000 + to},     // idle for exactly the timeout: ends
				{flush: true},              // nothing left
			},
			want: []record.App{app(macA, "微信", "b.weixin.qq.com", 1000, 400_000, 3, 40)},
		},
		{
			name: "a session after a gap of the timeout starts a new usage",
			steps: []step{
				{observe: sess(macA, "抖音", "x.douyin.com", 0, 10_000, 1, 1)},
				{observe: sess(macA, "抖音", "y.douyin.com", 10_000+to, 10_000+to+5, 2, 2)},
				{expire: 10_000 + to + 5}, // the first is written now; the second is open
				{flush: true},
			},
			want: []record.App{
				app(macA, "抖音", "x.douyin.com", 0, 10_000, 1, 2),
				app(macA, "抖音", "y.douyin.com", 10_000+to, 10_000+to+5, 1, 4),
			},
		},
		{
			name: "a session just inside the timeout extends",
			steps: []step{
				{observe: sess(macA, "抖音", "", 0, 10_000, 1, 1)},
				{observe: sess(macA, "抖音", "", 10_000+to-1, 10_000+to, 1, 1)},
				{flush: true},
			},
			want: []record.App{app(macA, "抖音", "", 0, 10_000+to, 2, 4)},
		},
		{
			name: "two devices and two apps are four usages, in start order",
			steps: []step{
				{observe: sess(macA, "微信", "w", 1000, 2000, 1, 0)},
				{observe: sess(macB, "微信", "w", 1500, 2500, 2, 0)},
				{observe: sess(macA, "Netflix", "n", 1700, 9000, 4, 0)},
				{observe: sess(macB, "YouTube", "y", 1800, 3000, 8, 0)},
				{observe: sess(macA, "微信", "w", 3000, 4000, 16, 0)},
				{expire: 4000 + to}, // all idle but Netflix
				{observe: sess(macA, "Netflix", "n", 20_000, 30_000, 32, 0)},
				{flush: true},
			},
			want: []record.App{
				app(macA, "微信", "w", 1000, 4000, 2, 17),
				app(macB, "微信", "w", 1500, 2500, 1, 2),
				app(macB, "YouTube", "y", 1800, 3000, 1, 8),
				app(macA, "Netflix", "n", 1700, 30_000, 2, 36),
			},
		},
		{
			name: "sessions without an app are ignored",
			steps: []step{
				{observe: sess(macA, "", "x", 0, 1, 1, 1)},
				{flush: true},
			},
			want: nil,
		},
		{
			name: "the most frequent host wins, the first on a tie",
			steps: []step{
				{observe: sess(macA, "B站", "a.bilibili.com", 0, 1, 0, 0)},
				{observe: sess(macA, "B站", "", 1, 2, 0, 0)},
				{observe: sess(macA, "B站", "b.bilibili.com", 2, 3, 0, 0)},
				{observe: sess(macA, "B站", "b.bilibili.com", 3, 4, 0, 0)},
				{observe: sess(macB, "B站", "c.bilibili.com", 0, 1, 0, 0)},
				{observe: sess(macB, "B站", "d.bilibili.com", 1, 2, 0, 0)},
				{flush: true},
			},
			want: []record.App{
				app(macA, "B站", "b.bilibili.com", 0, 4, 4, 0),
				app(macB, "B站", "c.bilibili.com", 0, 2, 2, 0),
			},
		},
		{
			name: "sessions out of start order widen the usage both ways",
			steps: []step{
				{observe: sess(macA, "Steam", "", 50_000, 60_000, 1, 0)},
				{observe: sess(macA, "Steam", "", 10_000, 70_000, 1, 0)},
				{flush: true},
			},
			want: []record.App{app(macA, "Steam", "", 10_000, 70_000, 2, 2)},
		},
		{
			name: "expire before anything is due emits nothing",
			steps: []step{
				{expire: 1 << 40},
				{observe: sess(macA, "X", "", 0, 1, 0, 0)},
				{expire: 2},
				{expire: to},
				{expire: to + 1},
			},
			want: []record.App{app(macA, "X", "", 0, 1, 1, 0)},
		},
		{
			name: "flush writes usages ended by a gap before the open ones",
			steps: []step{
				{observe: sess(macB, "Y", "", 0, 1, 0, 0)},
				{observe: sess(macA, "X", "", 5, 6, 0, 0)},
				{observe: sess(macB, "Y", "", 1+to, 2+to, 0, 0)},
				{flush: true},
			},
			want: []record.App{
				app(macB, "Y", "", 0, 1, 1, 0),
				app(macA, "X", "", 5, 6, 1, 0),
				app(macB, "Y", "", 1+to, 2+to, 1, 0),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(NewUsage(to*time.Millisecond, "r1"), tc.steps)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("records\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// Many hosts: only the first maxHosts distinct ones are counted.
func TestUsageManyHosts(t *testing.T) {
	u := NewUsage(time.Minute, "r1")
	for i := 0; i < 3*maxHosts; i++ {
		h := string(rune('a' + i))
		u.Observe(sess(macA, "X", h, int64(i), int64(i), 0, 0))
		if i >= maxHosts {
			u.Observe(sess(macA, "X", h, int64(i), int64(i), 0, 0))
		}
	}
	var got []record.App
	u.Flush(func(a *record.App) { got = append(got, *a) })
	if len(got) != 1 || got[0].Host != "a" || got[0].Sessions != 5*maxHosts {
		t.Errorf("got %+v", got)
	}
}

func TestUsageSetTimeout(t *testing.T) {
	u := NewUsage(0, "r1")
	if u.timeout != DefaultAppTimeout.Milliseconds() {
		t.Fatalf("timeout %d ms, want the default", u.timeout)
	}
	u.Observe(sess(macA, "X", "", 0, 1000, 0, 0))
	var got []record.App
	emit := func(a *record.App) { got = append(got, *a) }
	u.Expire(1000+60_000, emit)
	if len(got) != 0 {
		t.Fatalf("expired early: %+v", got)
	}
	u.SetTimeout(time.Minute)
	u.Expire(1000+60_000, emit)
	if len(got) != 1 || got[0].EndTS != 1000 {
		t.Fatalf("after SetTimeout(1m): %+v", got)
	}
	u.SetTimeout(-1)
	if u.timeout != DefaultAppTimeout.Milliseconds() {
		t.Errorf("SetTimeout(-1): timeout %d ms", u.timeout)
	}
}

// Records are new values: emitting does not reuse them.
func TestUsageRecordsAreNew(t *testing.T) {
	u := NewUsage(time.Second, "s")
	u.Observe(sess(macA, "X", "", 0, 1, 0, 0))
	u.Observe(sess(macB, "X", "", 0, 1, 0, 0))
	var recs []*record.App
	u.Flush(func(a *record.App) { recs = append(recs, a) })
	if len(recs) != 2 || recs[0] == recs[1] || recs[0].ClientMAC == recs[1].ClientMAC {
		t.Fatalf("records %+v", recs)
	}
	if recs[0].Kind() != record.KindApp || recs[0].Sensor != "s" {
		t.Errorf("record %+v", recs[0])
	}
}

func BenchmarkUsageObserveExpire(b *testing.B) {
	u := NewUsage(5*time.Minute, "r1")
	macs := []string{macA, macB, "cc:cc:cc:cc:cc:03", "dd:dd:dd:dd:dd:04"}
	apps := []string{"微信", "抖音", "Netflix", "Steam", "QQ", "淘宝"}
	s := &record.Session{}
	emit := func(*record.App) {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		*s = record.Session{ClientMAC: macs[i%len(macs)], App: apps[i%len(apps)], Host: "h", StartTS: int64(i) * 100, EndTS: int64(i)*100 + 50, BytesUp: 1}
		u.Observe(s)
		if i%64 == 0 {
			u.Expire(int64(i)*100, emit)
		}
	}
}
