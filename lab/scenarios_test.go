package lab

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// traffic is what the scenario clients did and saw: the expectations the
// records are checked against, all taken from the clients and servers.
type traffic struct {
	dhcpOptions map[string]string // client MAC → option 55 as dnsmasq logged it, "1,3,6,..."
	digCNAME    []digAnswer       // dig's answer section for cdn.lab.example A
	digAAAA     []digAnswer       // for www.lab.example AAAA
	size        CurlResult        // curl -4 of /size/N: what it sent and received
	sizeN       int
	status404   CurlResult // curl of /size/bad (400)
	curl6       CurlResult // over IPv6
	tls12Port   int        // client ports of the TLS handshakes
	tls13Port   int
	app         CurlResult      // curl of app.lab.example
	pingRTT     map[int]float64 // ping's own round-trip times to Server4 by icmp_seq, ms
	ping6       map[int]float64 // to Server6
}

// parsePing reads "icmp_seq=N ... time=T ms" lines of ping's output.
func parsePing(t *testing.T, out string) map[int]float64 {
	t.Helper()
	re := regexp.MustCompile(`icmp_seq=(\d+) .*time=([0-9.]+) ms`)
	m := map[int]float64{}
	for _, l := range lines(out) {
		if g := re.FindStringSubmatch(l); g != nil {
			seq, _ := strconv.Atoi(g[1])
			m[seq], _ = strconv.ParseFloat(g[2], 64)
		}
	}
	if len(m) == 0 {
		t.Fatalf("ping got no answers:\n%s", out)
	}
	return m
}

// digAnswer is one line of dig's answer section.
type digAnswer struct {
	Name, Type, Data string
	TTL              int64
}

func parseDig(t *testing.T, out string) []digAnswer {
	t.Helper()
	var as []digAnswer
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) < 5 || f[2] != "IN" {
			t.Fatalf("dig answer line %q", l)
		}
		ttl, _ := strconv.ParseInt(f[1], 10, 64)
		as = append(as, digAnswer{Name: strings.TrimSuffix(f[0], "."), TTL: ttl, Type: f[3], Data: strings.TrimSuffix(f[4], ".")})
	}
	return as
}

// runScenarioTraffic drives the real clients of every scenario.
func runScenarioTraffic(t *testing.T) *traffic {
	t.Helper()
	l := shared.lab
	c1, c2 := l.Clients[0], l.Clients[1]
	tr := &traffic{dhcpOptions: map[string]string{}}

	// DHCP: udhcpc asks for the client's reserved address, sending its
	// host name; dnsmasq logs the option 55 it received.
	script := filepath.Join(l.Dir, "udhcpc.script")
	for _, c := range []Client{c1, c2} {
		before := len(l.DHCP.Log())
		runIn(t, c.NS, "udhcpc", "-f", "-q", "-n", "-t", "4", "-T", "1", "-A", "1", "-i", c.Iface,
			"-x", "hostname:"+c.Hostname, "-s", script)
		if err := l.DHCP.WaitLog(t.Context(), "DHCPACK("+Bridge+") "+c.IP4+" "+c.MAC, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		tr.dhcpOptions[c.MAC] = requestedOptions(t, l.DHCP.Log()[before:])
	}

	// DNS through dig: a CNAME chain, and an AAAA.
	tr.digCNAME = parseDig(t, runIn(t, c1.NS, "dig", "+noall", "+answer", "+time=2", "+tries=2", "@"+Server4, "cdn."+Domain, "A"))
	tr.digAAAA = parseDig(t, runIn(t, c1.NS, "dig", "+noall", "+answer", "+time=2", "+tries=2", "@"+Server4, "www."+Domain, "AAAA"))

	// HTTP with curl; names resolved through the lab's DNS.
	var err error
	tr.sizeN = 200_000
	if tr.size, err = l.Curl(t.Context(), c1, "-4", fmt.Sprintf("http://files.%s/size/%d", Domain, tr.sizeN)); err != nil {
		t.Fatal(err)
	}
	if tr.status404, err = l.Curl(t.Context(), c1, "-4", "http://www."+Domain+"/size/bad"); err != nil {
		t.Fatal(err)
	}
	if tr.curl6, err = l.Curl(t.Context(), c2, "-6", "http://www."+Domain+"/v6/hello"); err != nil {
		t.Fatal(err)
	}
	if tr.app, err = l.Curl(t.Context(), c2, "-4", "http://app."+Domain+"/start"); err != nil {
		t.Fatal(err)
	}

	// TLS 1.2 with openssl s_client (no ALPN), TLS 1.3 with curl (ALPN).
	out := runIn(t, c1.NS, "openssl", "s_client", "-connect", Server4+":443", "-servername", "tls12."+Domain, "-tls1_2")
	if !strings.Contains(out, "Protocol  : TLSv1.2") && !strings.Contains(out, "TLSv1.2") {
		t.Fatalf("openssl s_client did not negotiate TLS 1.2:\n%s", out)
	}
	tr.tls12Port = localPort(t, out)
	r13, err := l.Curl(t.Context(), c1, "-4", "-k", "--tlsv1.3", "https://tls13."+Domain+"/tls")
	if err != nil {
		t.Fatal(err)
	}
	tr.tls13Port = r13.LocalPort

	// ICMP echo, both families.
	tr.pingRTT = parsePing(t, runIn(t, c1.NS, "ping", "-c", "3", "-i", "0.2", "-W", "2", Server4))
	tr.ping6 = parsePing(t, runIn(t, c1.NS, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", Server6))
	return tr
}

// requestedOptions reads the option 55 list from dnsmasq's log of one
// exchange: the "requested options" lines after its last DHCPDISCOVER or
// DHCPREQUEST line.
func requestedOptions(t *testing.T, log string) string {
	t.Helper()
	re := regexp.MustCompile(`(\d+):[a-z]`)
	var cur []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "DHCPDISCOVER(") || strings.Contains(l, "DHCPREQUEST(") {
			cur = nil
		}
		if i := strings.Index(l, "requested options: "); i >= 0 {
			for _, m := range re.FindAllStringSubmatch(l[i:], -1) {
				cur = append(cur, m[1])
			}
		}
	}
	if len(cur) == 0 {
		t.Fatalf("dnsmasq logged no requested options:\n%s", log)
	}
	return strings.Join(cur, ",")
}

// localPort reads the client port from openssl s_client's output... it
// prints none, so the hello log gives it: the last hello for the SNI.
func localPort(t *testing.T, _ string) int {
	t.Helper()
	hs := readHellos(t)
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].SNI == "tls12."+Domain {
			_, p, _ := strings.Cut(hs[i].Remote, ":")
			n, _ := strconv.Atoi(p)
			return n
		}
	}
	t.Fatal("no hello for tls12 in the server's log")
	return 0
}

// TestScenarios runs real clients through the router, once with MariaDB
// and once with SQLite, and checks each record in the store and on a
// stream subscriber.
func TestScenarios(t *testing.T) {
	for _, driver := range []string{"mysql", "sqlite"} {
		t.Run(driver, func(t *testing.T) {
			d := startDaemon(t, driver, func(c *DaemonConfig) { c.AppTimeout = 2 })
			db := openStore(t, d.Cfg)
			st := subscribe(t, d)
			start := time.Now()
			tr := runScenarioTraffic(t)
			t.Logf("%s: scenario traffic in %v", driver, time.Since(start).Round(time.Millisecond))
			const wait = 40 * time.Second
			c1, c2 := shared.lab.Clients[0], shared.lab.Clients[1]

			t.Run("dhcp", func(t *testing.T) {
				for _, c := range []Client{c1, c2} {
					want := tr.dhcpOptions[c.MAC]
					match := func(r map[string]any) bool {
						return Str(r["mac"]) == c.MAC && Str(r["hostname"]) == c.Hostname && Str(r["dhcp_fingerprint"]) == want
					}
					waitRows(t, db, wait, atLeast(1), "SELECT mac FROM devices WHERE mac = ? AND hostname = ? AND dhcp_fingerprint = ?",
						c.MAC, c.Hostname, want)
					if _, err := st.Wait(t.Context(), wait, "device", match); err != nil {
						t.Errorf("%s (host name %s, option 55 %s): %v", c.Name, c.Hostname, want, err)
					}
					t.Logf("%s: host name %s, option 55 %s", c.MAC, c.Hostname, want)
				}
			})

			t.Run("dns", func(t *testing.T) {
				for _, q := range []struct {
					name, qtype string
					want        []digAnswer
				}{{"cdn." + Domain, "A", tr.digCNAME}, {"www." + Domain, "AAAA", tr.digAAAA}} {
					if q.qtype == "A" && len(q.want) != 3 {
						t.Fatalf("dig: the CNAME chain has %d answers, want 3: %+v", len(q.want), q.want)
					}
					rows := waitRows(t, db, wait, atLeast(1), "SELECT answers, rcode, client_mac FROM dns WHERE query = ? AND qtype = ?", q.name, q.qtype)
					var got []digAnswer
					if err := json.Unmarshal([]byte(Str(rows[0]["answers"])), &got); err != nil {
						t.Fatalf("answers %v: %v", rows[0]["answers"], err)
					}
					if !slices.Equal(got, q.want) || Str(rows[0]["rcode"]) != "NOERROR" || Str(rows[0]["client_mac"]) != c1.MAC {
						t.Errorf("store: %s %s: %+v rcode %v mac %v, dig saw %+v", q.name, q.qtype, got, rows[0]["rcode"], rows[0]["client_mac"], q.want)
					}
					rec, err := st.Wait(t.Context(), wait, "dns", func(r map[string]any) bool { return r["query"] == q.name && r["qtype"] == q.qtype })
					if err != nil {
						t.Fatal(err)
					}
					b, _ := json.Marshal(rec["answers"])
					var sgot []digAnswer
					json.Unmarshal(b, &sgot)
					if !slices.Equal(sgot, q.want) {
						t.Errorf("stream: %s %s: %+v, dig saw %+v", q.name, q.qtype, sgot, q.want)
					}
				}
			})

			t.Run("http", func(t *testing.T) {
				for _, q := range []struct {
					uri, host, ip string
					c             Client
					r             CurlResult
					status        int
				}{
					{fmt.Sprintf("/size/%d", tr.sizeN), "files." + Domain, c1.IP4, c1, tr.size, 200},
					{"/size/bad", "www." + Domain, c1.IP4, c1, tr.status404, 400},
					{"/v6/hello", "www." + Domain, c2.IP6, c2, tr.curl6, 200},
				} {
					if q.r.Code != q.status {
						t.Fatalf("curl %s: status %d, want %d", q.uri, q.r.Code, q.status)
					}
					rows := waitRows(t, db, wait, atLeast(1), "SELECT method, host, status, client_mac, client_ip, client_port, server_port, user_agent FROM http WHERE uri = ?", q.uri)
					r := rows[0]
					if len(rows) != 1 || Str(r["method"]) != "GET" || Str(r["host"]) != q.host || Int(r["status"]) != int64(q.status) ||
						Str(r["client_mac"]) != q.c.MAC || Str(r["client_ip"]) != q.ip || Int(r["client_port"]) != int64(q.r.LocalPort) ||
						Int(r["server_port"]) != 80 || !strings.HasPrefix(Str(r["user_agent"]), "curl/") {
						t.Errorf("store: %s: %d rows, first %v; want GET %s %d from %s %s port %d", q.uri, len(rows), r, q.host, q.status, q.c.MAC, q.ip, q.r.LocalPort)
					}
					rec, err := st.Wait(t.Context(), wait, "http", func(m map[string]any) bool { return m["uri"] == q.uri })
					if err != nil {
						t.Fatal(err)
					}
					if rec["method"] != "GET" || rec["host"] != q.host || Int(rec["status"]) != int64(q.status) || Int(rec["client_port"]) != int64(q.r.LocalPort) {
						t.Errorf("stream: %s: %v", q.uri, rec)
					}
				}
			})

			t.Run("tls", func(t *testing.T) {
				for _, q := range []struct {
					sni, version string
					port         int
				}{{"tls12." + Domain, "TLS 1.2", tr.tls12Port}, {"tls13." + Domain, "TLS 1.3", tr.tls13Port}} {
					var h *hello
					for _, x := range readHellos(t) {
						if x.SNI == q.sni && strings.HasSuffix(x.Remote, ":"+strconv.Itoa(q.port)) {
							h = &x
						}
					}
					if h == nil {
						t.Fatalf("the server logged no hello for %s from port %d", q.sni, q.port)
					}
					ja3, ja4, alpn := h.JA3(), h.JA4(), strings.Join(h.ALPN, ",")
					rows := waitRows(t, db, wait, atLeast(1), "SELECT version, ja3, ja4, alpn, client_mac, server_port FROM tls WHERE sni = ? AND client_port = ?", q.sni, q.port)
					r := rows[0]
					if Str(r["version"]) != q.version || Str(r["ja3"]) != ja3 || Str(r["ja4"]) != ja4 || Str(r["alpn"]) != alpn ||
						Str(r["client_mac"]) != c1.MAC || Int(r["server_port"]) != 443 {
						t.Errorf("store: %s: %v; want %s ja3 %s ja4 %s alpn %q", q.sni, r, q.version, ja3, ja4, alpn)
					}
					rec, err := st.Wait(t.Context(), wait, "tls", func(m map[string]any) bool { return m["sni"] == q.sni && Int(m["client_port"]) == int64(q.port) })
					if err != nil {
						t.Fatal(err)
					}
					if rec["ja3"] != ja3 || rec["ja4"] != ja4 || rec["version"] != q.version {
						t.Errorf("stream: %s: %v; want ja3 %s ja4 %s", q.sni, rec, ja3, ja4)
					}
					t.Logf("%s: %s, ALPN %q, JA3 %s, JA4 %s", q.sni, q.version, alpn, ja3, ja4)
				}
			})

			t.Run("icmp", func(t *testing.T) {
				for _, q := range []struct {
					dst  string
					typ  int
					rtts map[int]float64
				}{{Server4, 8, tr.pingRTT}, {Server6, 128, tr.ping6}} {
					rows := waitRows(t, db, wait, atLeast(len(q.rtts)), "SELECT echo_seq, rtt_ms, client_mac FROM icmp WHERE src_ip = ? AND dst_ip = ? AND icmp_type = ?",
						map[string]string{Server4: c1.IP4, Server6: c1.IP6}[q.dst], q.dst, q.typ)
					for _, r := range rows {
						seq := int(Int(r["echo_seq"]))
						want, ok := q.rtts[seq]
						got := float64(Int(r["rtt_ms"]))
						// The router sees the exchange a little later and
						// answers a little sooner than the client.
						if !ok || got > want+1 || got < want-2 || Str(r["client_mac"]) != c1.MAC {
							t.Errorf("store: echo to %s seq %d: rtt_ms %v, ping measured %v ms (%v)", q.dst, seq, got, want, r)
						}
					}
					recs := 0
					for _, m := range st.Records("icmp") {
						if m["dst_ip"] == q.dst && Int(m["icmp_type"]) == int64(q.typ) {
							want, ok := q.rtts[int(Int(m["echo_seq"]))]
							if got := float64(Int(m["rtt_ms"])); !ok || got > want+1 || got < want-2 {
								t.Errorf("stream: echo %v: ping measured %v ms", m, want)
							}
							recs++
						}
					}
					if recs != len(q.rtts) {
						t.Errorf("stream: %d echo records to %s, ping got %d answers", recs, q.dst, len(q.rtts))
					}
				}
				if min := float64(EchoDelay.Milliseconds()); tr.pingRTT[1] < min {
					t.Errorf("ping measured %v ms, the server answers after %v ms", tr.pingRTT[1], min)
				}
			})

			t.Run("app", func(t *testing.T) {
				rows := waitRows(t, db, wait, atLeast(1), "SELECT app, client_mac FROM sessions WHERE host = ? AND server_port = 80", "app."+Domain)
				if Str(rows[0]["app"]) != LabApp || Str(rows[0]["client_mac"]) != c2.MAC {
					t.Errorf("store: session to app.%s: %v, want app %s", Domain, rows[0], LabApp)
				}
				rows = waitRows(t, db, wait, atLeast(1), "SELECT sessions, bytes, host FROM apps WHERE app = ? AND client_mac = ?", LabApp, c2.MAC)
				if Int(rows[0]["sessions"]) < 1 || Int(rows[0]["bytes"]) <= 0 {
					t.Errorf("store: app usage %v", rows[0])
				}
				if _, err := st.Wait(t.Context(), wait, "app", func(m map[string]any) bool { return m["app"] == LabApp && m["client_mac"] == c2.MAC }); err != nil {
					t.Error(err)
				}
				if _, err := st.Wait(t.Context(), wait, "session", func(m map[string]any) bool { return m["app"] == LabApp && m["host"] == "app."+Domain }); err != nil {
					t.Error(err)
				}
			})

			t.Run("bytes", func(t *testing.T) {
				rows := waitRows(t, db, wait, atLeast(1), "SELECT bytes_up, bytes_down, pkts_up, pkts_down, timeline, end_reason, host FROM sessions WHERE client_port = ? AND server_port = 80 AND client_ip = ?",
					tr.size.LocalPort, c1.IP4)
				r := rows[0]
				up, down := payload(t, r)
				wantDown, wantUp := tr.size.HeaderSize+tr.size.BodySize, tr.size.Request
				t.Logf("session of /size/%d: bytes_up %v bytes_down %v pkts_up %v pkts_down %v; TCP payload up %d (curl sent %d), down %d (curl received %d)",
					tr.sizeN, r["bytes_up"], r["bytes_down"], r["pkts_up"], r["pkts_down"], up, wantUp, down, wantDown)
				if tr.size.BodySize != int64(tr.sizeN) || down != wantDown || up != wantUp || Str(r["end_reason"]) != "fin" || Str(r["host"]) != "files."+Domain {
					t.Errorf("store: %v", r)
				}
				rec, err := st.Wait(t.Context(), wait, "session", func(m map[string]any) bool {
					return Int(m["client_port"]) == int64(tr.size.LocalPort) && m["client_ip"] == c1.IP4
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"bytes_up", "bytes_down", "pkts_up", "pkts_down"} {
					if Int(rec[k]) != Int(r[k]) {
						t.Errorf("stream: %s %v, store %v", k, rec[k], r[k])
					}
				}
			})
		})
	}
}

// payload returns the TCP payload bytes of a session row each way: IP
// bytes less 20 bytes of IP and 20 of TCP header per packet, less the
// options of the SYN and SYN-ACK (the lab turns TCP timestamps and SACK
// off, so no other segment has options), whose sizes the timeline gives.
func payload(t *testing.T, r map[string]any) (up, down int64) {
	t.Helper()
	var tl [][4]int64
	if err := json.Unmarshal([]byte(Str(r["timeline"])), &tl); err != nil {
		t.Fatalf("timeline %v: %v", r["timeline"], err)
	}
	var synOpts, synAckOpts int64 = -1, -1
	for _, e := range tl {
		switch {
		case e[1] == 1 && e[3] == 0x02:
			synOpts = e[2] - 40
		case e[1] == 2 && e[3] == 0x12:
			synAckOpts = e[2] - 40
		}
	}
	if synOpts < 0 || synAckOpts < 0 {
		t.Fatalf("the timeline has no SYN or SYN-ACK: %v", tl)
	}
	up = Int(r["bytes_up"]) - 40*Int(r["pkts_up"]) - synOpts
	down = Int(r["bytes_down"]) - 40*Int(r["pkts_down"]) - synAckOpts
	return up, down
}
