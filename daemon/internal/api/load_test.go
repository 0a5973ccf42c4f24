package api

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoadLoopback measures the list endpoints over loopback HTTP with
// keep-alive: 8 clients send requests back to back for a while per
// endpoint and database; it reports requests per second and latency
// percentiles (go test -run TestLoadLoopback -v; the figures under -race
// are not representative). It fails only when requests fail.
func TestLoadLoopback(t *testing.T) {
	const workers = 8
	dur := 700 * time.Millisecond
	if raceEnabled {
		dur = 150 * time.Millisecond
	}
	endpoints := []string{
		"/api/v1/sessions?from=0&limit=100",
		"/api/v1/sessions?from=0&limit=100&mac=00:04:76:96:7b:da",
		"/api/v1/dns?from=0&limit=100&q=google",
		"/api/v1/http?from=0&limit=1000",
		"/api/v1/devices?from=0&limit=100",
		"/api/v1/sessions.csv?from=0&limit=1000",
		"/api/v1/top?by=device&from=0",
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-8s %-58s %8s %8s %8s %8s %8s\n", "db", "endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, b := range backends() {
		fx := newFixture(t, b)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		for _, ep := range endpoints {
			var mu sync.Mutex
			var lat []time.Duration
			var failed error
			stop := time.Now().Add(dur)
			start := time.Now()
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine []time.Duration
					for time.Now().Before(stop) {
						req, _ := http.NewRequest("GET", fx.ts.URL+ep, nil)
						req.Header.Set("Authorization", "Bearer "+testToken)
						t0 := time.Now()
						resp, err := client.Do(req)
						if err == nil {
							_, err = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if err == nil && resp.StatusCode != 200 {
								err = fmt.Errorf("status %d", resp.StatusCode)
							}
						}
						if err != nil {
							mu.Lock()
							failed = fmt.Errorf("%s: %v", ep, err)
							mu.Unlock()
							return
						}
						mine = append(mine, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			if failed != nil {
				t.Fatal(failed)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			fmt.Fprintf(&report, "%-8s %-58s %8.0f %8.2f %8.2f %8.2f %8.2f\n", b.name, ep,
				float64(len(lat))/elapsed.Seconds(), pct(0.5), pct(0.9), pct(0.99), float64(lat[len(lat)-1].Microseconds())/1000)
		}
		client.CloseIdleConnections()
	}
	t.Logf("%d clients, %v per endpoint, race detector %v:%s", workers, dur, raceEnabled, report.String())
}
