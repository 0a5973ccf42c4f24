package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamon/daemon/internal/devices"
	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// TestHistoryFromStore: with a store, /devices/{mac}/history comes from the
// database, for every MAC of the device (a randomised MAC linked to it
// included), so it survives a restart that empties the inventory; it
// equals what the inventory answers from memory while it still has the
// visits; without a store it still answers from memory.
func TestHistoryFromStore(t *testing.T) {
	const (
		phone  = "da:a1:19:00:00:01" // locally administered
		phone2 = "3e:a1:19:00:00:02" // the same phone with a new MAC, linked by its client id
		other  = "00:11:22:33:44:55"
		cid    = "ff:00:00:00:01:00:01"
		minute = int64(60_000)
		hour   = 60 * minute
		day    = 24 * hour
	)
	loc := time.FixedZone("+0545", 5*3600+45*60)
	midnight := time.Date(2025, 6, 15, 0, 0, 0, 0, loc).UnixMilli()
	now := midnight + 2*day
	sess := func(mac, host string, start, end int64, up, down uint64) *record.Session {
		return &record.Session{Sensor: "r", Proto: "tcp", ClientMAC: mac, ClientIP: "192.0.2.7", ServerIP: "203.0.113.9",
			ServerPort: 443, StartTS: start, EndTS: end, BytesUp: up, BytesDown: down, Host: host, EndReason: "fin"}
	}
	dns := func(mac, query, qtype, rcode string, ts int64) *record.DNS {
		return &record.DNS{Sensor: "r", TS: ts, ClientMAC: mac, ClientIP: "192.0.2.7", ServerIP: "192.0.2.1",
			Proto: "udp", Query: query, QType: qtype, RCode: rcode}
	}
	before := []record.Record{ // the phone's first MAC, and another device
		sess(phone, "www.example.com", midnight-2*hour, midnight-2*hour+30_000, 1000, 9000),
		dns(phone, "www.example.com", "A", "NOERROR", midnight-2*hour-1000),
		sess(phone, "video.example.net", midnight-10*minute, midnight+20*minute, 500, 50000),
		dns(phone, "wpad", "A", "NOERROR", midnight-5*minute),
		dns(phone, "printer.local", "A", "NOERROR", midnight-4*minute),
		dns(phone, "www.example.com", "MX", "NOERROR", midnight-3*minute),
		sess(other, "other.example", midnight+2*hour, midnight+2*hour+1, 5, 5),
		dns(other, "other.example", "A", "NOERROR", midnight+2*hour),
	}
	after := []record.Record{ // its second MAC, once linked
		sess(phone2, "www.example.com", midnight+hour, midnight+hour+1000, 200, 800),
		dns(phone2, "news.example.org", "AAAA", "NOERROR", midnight+5*minute),
		sess(phone2, "Video.Example.NET:443", midnight+day+hour, midnight+day+hour+2000, 300, 700),
		dns(phone2, "www.example.com", "A", "NXDOMAIN", midnight+6*minute),
	}
	// What another router that shares the database saw of the phone:
	// in the store only.
	away := sess(phone, "elsewhere.example", midnight+3*hour, midnight+3*hour+1000, 100, 200)
	away.Sensor = "r2"
	awayDNS := dns(phone, "elsewhere.example", "A", "NOERROR", midnight+3*hour-500)
	awayDNS.Sensor = "r2"
	elsewhere := []record.Record{away, awayDNS}
	dhcp := func(mac string, ts int64) *devices.Observation {
		m, _ := devices.ParseMAC(mac)
		return &devices.Observation{Kind: devices.ObsDHCP, TS: ts, MAC: m, Hostname: "pixel", ClientID: cid}
	}
	linkObs := []*devices.Observation{dhcp(phone, midnight-3*hour), dhcp(phone2, midnight+2*minute)}
	feed := func(inv *devices.Inventory, recs []record.Record) {
		for _, r := range recs {
			switch v := r.(type) {
			case *record.Session:
				inv.Session(v)
			case *record.DNS:
				inv.DNS(v)
			}
		}
	}
	// The inventory that saw it all.
	cfg := devices.Config{Sensor: "r", Location: loc}
	live := devices.New(cfg)
	live.Apply(linkObs[0], nil)
	feed(live, before)
	live.Apply(linkObs[1], nil)
	feed(live, after)
	if live.Primary(phone2) != phone {
		t.Fatalf("%s not linked to %s", phone2, phone)
	}
	// After a restart: the link is learnt again (the phone asked DHCP),
	// the visits are gone from memory.
	restarted := devices.New(cfg)
	for _, o := range linkObs {
		restarted.Apply(o, nil)
	}
	if len(restarted.History(phone, 0, now)) != 0 || restarted.Primary(phone2) != phone {
		t.Fatal("restarted inventory: visits, or no link")
	}
	// After a restart that has not seen the phone yet: no link.
	unlinked := devices.New(cfg)

	row := func(d int64, name string, first, last int64, sessions, bytes uint64) historyRow {
		return historyRow{Day: time.UnixMilli(midnight + d*day).In(loc).Format(time.DateOnly), Name: name,
			FirstSeen: first, LastSeen: last, Sessions: sessions, Bytes: bytes}
	}
	secondMAC := []historyRow{ // newest day first, then most bytes
		row(1, "video.example.net", midnight+day+hour, midnight+day+hour+2000, 1, 1000),
		row(0, "www.example.com", midnight+hour, midnight+hour+1000, 1, 1000),
		row(0, "news.example.org", midnight+5*minute, midnight+5*minute, 0, 0),
	}
	firstMAC := []historyRow{
		row(-1, "video.example.net", midnight-10*minute, midnight+20*minute, 1, 50500),
		row(-1, "www.example.com", midnight-2*hour-1000, midnight-2*hour+30_000, 1, 10000),
	}
	device := append(append([]historyRow{}, secondMAC...), firstMAC...)
	if device[0].Day != "2025-06-16" || firstMAC[0].Day != "2025-06-14" {
		t.Fatalf("days %s %s", device[0].Day, firstMAC[0].Day)
	}
	otherRows := []historyRow{row(0, "other.example", midnight+2*hour, midnight+2*hour+1, 1, 10)}
	awayRow := row(0, "elsewhere.example", midnight+3*hour-500, midnight+3*hour+1000, 1, 300)
	everySensor := slices.Concat(secondMAC[:2], []historyRow{awayRow}, secondMAC[2:], firstMAC)
	window := "?from=" + strconv.FormatInt(midnight+hour, 10) + "&to=" + strconv.FormatInt(midnight+2*hour, 10)

	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := store.Open(ctx, b.cfg(t))
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			defer st.Close(context.Background())
			if err := st.Write(slices.Concat(before, after, elsewhere)); err != nil {
				t.Fatal(err)
			}
			if err := st.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			closed, err := store.Open(ctx, b.cfg(t))
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			closed.Close(ctx)

			serve := func(s Store, inv Inventory) string {
				opts := Options{Devices: inv, Token: func() string { return testToken }, Now: func() time.Time { return time.UnixMilli(now) }}
				if s != nil {
					opts.Store = s
				}
				srv := New(opts)
				ts := httptest.NewServer(srv.Handler())
				t.Cleanup(ts.Close)
				t.Cleanup(srv.Close)
				return ts.URL
			}
			capped, tooBusy := &cappedStore{Store: st}, &cappedStore{Store: st, always: true}
			var (
				dayByDay       = serve(capped, live)
				oneDayTooMany  = serve(tooBusy, live)
				fromStore      = serve(st, live)
				fromMemory     = serve(nil, live)
				afterRestart   = serve(st, restarted)
				memoryRestart  = serve(nil, restarted)
				storeUnlinked  = serve(st, unlinked)
				storeNoDevices = serve(st, nil)
				brokenStore    = serve(closed, live)
				nothing        = serve(nil, nil)
			)
			hist := "/api/v1/devices/"
			cases := []struct {
				name string
				base string
				path string
				code int
				want []historyRow
				same string // else: the same answer as this server gives to path
			}{
				{"store: the whole device, as this sensor saw it", fromStore, hist + phone + "/history", 200, device, ""},
				{"store, too many buckets: day by day", dayByDay, hist + phone + "/history?sensor=*", 200, everySensor, ""},
				{"store, too many buckets: day by day, window", dayByDay, hist + phone2 + "/history" + window, 200, secondMAC[1:], ""},
				{"store, too many buckets in a day: 400", oneDayTooMany, hist + phone + "/history", 400, nil, ""},
				{"store: another sensor's", fromStore, hist + phone + "/history?sensor=r2", 200, []historyRow{awayRow}, ""},
				{"store: every sensor's", fromStore, hist + phone + "/history?sensor=*", 200, everySensor, ""},
				{"store: two sensors", fromStore, hist + phone2 + "/history?sensor=r2,r", 200, everySensor, ""},
				{"store: no such sensor", fromStore, hist + phone + "/history?sensor=r3", 200, []historyRow{}, ""},
				{"store without inventory: the sensor asked", storeNoDevices, hist + phone + "/history?from=0&sensor=r2", 200, nil, ""},
				{"memory: its own sensor", fromMemory, hist + phone + "/history?sensor=r", 200, device, ""},
				{"memory: another sensor's", fromMemory, hist + phone + "/history?sensor=r2", 200, []historyRow{}, ""},
				{"store: asked by the linked MAC", fromStore, hist + strings.ToUpper(phone2) + "/history", 200, device, ""},
				{"store: MAC encoded as LuCI does", fromStore, hist + strings.ReplaceAll(phone2, ":", "%3A") + "/history", 200, device, ""},
				{"store: another device", fromStore, hist + other + "/history", 200, otherRows, ""},
				{"store: limit", fromStore, hist + phone + "/history?limit=2", 200, device[:2], ""},
				{"store: from and to take whole days", fromStore, hist + phone + "/history" + window, 200, secondMAC[1:], ""},
				{"store: from 0", fromStore, hist + phone + "/history?from=0", 200, device, ""},
				{"store: unknown device", fromStore, hist + "02:00:00:00:00:99/history", 200, []historyRow{}, ""},
				{"store: equals memory", fromStore, hist + phone + "/history", 200, nil, fromMemory},
				{"store: equals memory, window", fromStore, hist + phone2 + "/history" + window, 200, nil, fromMemory},
				{"store: equals memory, limit", fromStore, hist + phone + "/history?from=0&limit=3", 200, nil, fromMemory},
				{"store: survives a restart", afterRestart, hist + phone2 + "/history", 200, device, ""},
				{"memory: lost in a restart", memoryRestart, hist + phone + "/history", 200, []historyRow{}, ""},
				{"store, no link yet: the first MAC", storeUnlinked, hist + phone + "/history", 200, firstMAC, ""},
				{"store, no link yet: the second MAC", storeUnlinked, hist + phone2 + "/history", 200, secondMAC, ""},
				{"store without inventory", storeNoDevices, hist + other + "/history", 200, nil, ""},
				{"store fails: 500", brokenStore, hist + phone + "/history", 500, nil, ""},
				{"memory: without a store", fromMemory, hist + phone2 + "/history", 200, device, ""},
				{"neither: empty", nothing, hist + phone + "/history", 200, []historyRow{}, ""},
				{"bad limit", fromStore, hist + phone + "/history?limit=0", 400, nil, ""},
			}
			// The cases without an inventory (want nil, no same): days in
			// time.Local, so only the one row's name and bytes are checked.
			one := map[string]historyRow{
				"store without inventory":                   {Name: "other.example", Bytes: 10},
				"store without inventory: the sensor asked": {Name: "elsewhere.example", Bytes: 300},
			}
			for _, tc := range cases {
				code, body, _ := get(t, tc.base, tc.path)
				if code != tc.code {
					t.Errorf("%s: %s: %d %s", tc.name, tc.path, code, body)
					continue
				}
				if code != 200 {
					if !strings.Contains(string(body), `"error"`) {
						t.Errorf("%s: %s", tc.name, body)
					}
					continue
				}
				if tc.same != "" {
					_, want, _ := get(t, tc.same, tc.path)
					if string(body) != string(want) || !strings.Contains(string(body), "example") {
						t.Errorf("%s: %s:\n got  %s\n want %s", tc.name, tc.path, body, want)
					}
					continue
				}
				var got struct {
					Rows []historyRow `json:"rows"`
				}
				if err := json.Unmarshal(body, &got); err != nil || got.Rows == nil {
					t.Errorf("%s: %s: %v", tc.name, body, err)
					continue
				}
				if tc.want == nil { // store without inventory: days in time.Local, totals only
					w, ok := one[tc.name]
					if !ok || len(got.Rows) != 1 || got.Rows[0].Name != w.Name || got.Rows[0].Bytes != w.Bytes {
						t.Errorf("%s: %s", tc.name, body)
					}
					continue
				}
				if !reflect.DeepEqual(got.Rows, tc.want) {
					t.Errorf("%s: %s:\n got  %+v\n want %+v", tc.name, tc.path, got.Rows, tc.want)
				}
			}
			// Day by day: the whole span first, then each of its days (the
			// default span, 7 days before now to now, touches 8 days); the
			// window is one day, asked at once.
			if capped.calls != 1+8+1 {
				t.Errorf("day by day: %d Visits calls, want 10", capped.calls)
			}
		})
	}
}

// cappedStore answers Visits over more than a day of time with the
// store's too-many-rows error, as the store does for a busy device over
// MaxVisitBuckets buckets, and counts the calls; with always, every call.
type cappedStore struct {
	Store
	always bool
	calls  int
}

func (c *cappedStore) Visits(ctx context.Context, step time.Duration, f store.Filter) ([]store.VisitBucket, error) {
	c.calls++
	if c.always || f.To-f.From > 25*60*60*1000 {
		return nil, fmt.Errorf("%w: %w: test bound", store.ErrFilter, store.ErrTooMany)
	}
	return c.Store.Visits(ctx, step, f)
}
