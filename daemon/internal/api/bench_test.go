package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// BenchmarkWrite is the engine's cost of the stream: Write of one batch of
// corpus records with n subscribed clients (drained as fast as they fill).
// ns/op is per batch of 64 records.
func BenchmarkWrite(b *testing.B) {
	col := &collector{}
	runCapture(b, mainCapture, newInventory(), col)
	recs := col.all()
	for _, n := range []int{1, 10, 200} {
		b.Run(strconv.Itoa(n)+"clients", func(b *testing.B) {
			s := New(Options{StreamBuffer: 1 << 16})
			defer s.Close()
			for i := range n {
				c := newClient(1 << 16)
				f := store.Filter{}
				switch i % 3 {
				case 1:
					f.MAC = []string{"00:04:76:96:7b:da"}
				case 2:
					f.Q = []string{"apple"}
				}
				sub := &subscription{kinds: 0xfe, m: newMatcher(&f)}
				sub.all = sub.m.empty()
				c.sub.Store(sub)
				s.addClient(c)
				done := make(chan struct{})
				go func() {
					var batch []record.Record
					for {
						select {
						case <-c.nudge:
							batch = c.take(batch)
						case <-done:
							return
						}
					}
				}()
				defer close(done)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := (i * 64) % (len(recs) - 64)
				s.Write(recs[off : off+64])
			}
		})
	}
}

// BenchmarkAppendMessage: one stream message.
func BenchmarkAppendMessage(b *testing.B) {
	recs := sampleRecords()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendMessage(buf[:0], recs[i%len(recs)])
	}
}

// BenchmarkCSVCells: one CSV line from a record's JSON.
func BenchmarkCSVCells(b *testing.B) {
	obj := appendData(nil, sampleRecords()[2])
	var cells []string
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		cells, _ = csvCells(cells[:0], obj)
	}
}

// BenchmarkParseList: a typical list query.
func BenchmarkParseList(b *testing.B) {
	raw := "from=1700000000000&to=1700086400000&mac=aa:bb:cc:dd:ee:ff%2C02:*&q=example&limit=100&sort=-ts&before=dAQFfLXRpbWUAAg"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := parseList(raw, 1_800_000_000_000, maxJSONLimit); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch: a filtered subscription against one record.
func BenchmarkMatch(b *testing.B) {
	f := store.Filter{MAC: []string{"02:00:00:00:00:01"}, Q: []string{"example"}}
	m := newMatcher(&f)
	recs := sampleRecords()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.match(recs[i%len(recs)], &buf)
	}
}

// BenchmarkList: a list request answered from SQLite (in process, no
// network): 100 sessions as JSON, 1000 as CSV.
func BenchmarkList(b *testing.B) {
	fx := newFixture(b, backends()[0])
	for _, path := range []string{"/api/v1/sessions?from=0&limit=100", "/api/v1/sessions.csv?from=0&limit=1000", "/api/v1/dns?from=0&q=google"} {
		b.Run(path[len("/api/v1/"):], func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			h := fx.srv.Handler()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, w.Code)
				}
			}
		})
	}
}

// BenchmarkParseClientMessage: a subscribe message from a stream client.
func BenchmarkParseClientMessage(b *testing.B) {
	msg := []byte(`{"type":"subscribe","kinds":["session","dns","http"],"filter":{"mac":"aa:bb:cc:dd:ee:ff","q":"example"}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := parseClientMessage(msg, "subscribe"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAliasSections: `uci show tamon` with 50 aliases.
func BenchmarkAliasSections(b *testing.B) {
	var show []byte
	show = append(show, "tamon.main=tamon\ntamon.main.interface='br-lan'\n"...)
	for i := range 50 {
		n := strconv.Itoa(i)
		show = append(show, "tamon.@alias["+n+"]=alias\ntamon.@alias["+n+"].mac='02:00:00:00:00:"+strconv.FormatInt(int64(i+16), 16)+"'\ntamon.@alias["+n+"].name='Device "+n+"'\n"...)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(aliasSections(show, "02:00:00:00:00:20")) != 1 {
			b.Fatal("alias not found")
		}
	}
}

// BenchmarkInterfaceAddrs: an interface status as ubus prints it.
func BenchmarkInterfaceAddrs(b *testing.B) {
	status := []byte(`{"up":true,"pending":false,"available":true,"l3_device":"br-lan","proto":"static","uptime":5000,
		"ipv4-address":[{"address":"192.0.2.1","mask":24}],"ipv6-address":[],
		"ipv6-prefix-assignment":[{"address":"2001:db8:1::","mask":60,"local-address":{"address":"2001:db8:1::1","mask":60}}],
		"route":[],"dns-server":[],"dns-search":[],"neighbors":[],"inactive":{},"data":{}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if a, err := interfaceAddrs(status); err != nil || len(a) != 2 {
			b.Fatal(a, err)
		}
	}
}
