package lab

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the daemon's file
)

// DaemonConfig is what the lab writes into a daemon's UCI file.
type DaemonConfig struct {
	Dir        string // the daemon's folder: UCI file, features, SQLite file, spool
	Driver     string // "mysql" or "sqlite"
	Database   string // the MariaDB database (driver mysql)
	TCPTimeout int    // 0: 300
	UDPTimeout int    // 0: 60
	AppTimeout int    // 0: 300
	MaxFlows   int    // 0: the default
	Workers    int    // 0: 2
	Features   string // features.txt content ("" for the lab's one app)
	Aliases    map[string]string
}

// LabApp is the application the lab's features file names: any session
// whose host is app.lab.example.
const LabApp = "LabApp"

// UCI renders the configuration file.
func (c DaemonConfig) UCI() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config tamon 'main'\n\tlist interface '%s'\n\toption sensor 'lab'\n", Bridge)
	fmt.Fprintf(&b, "\toption features '%s'\n", filepath.Join(c.Dir, "features.txt"))
	opt := func(name string, v, def int) {
		if v == 0 {
			v = def
		}
		if v != 0 {
			fmt.Fprintf(&b, "\toption %s '%d'\n", name, v)
		}
	}
	opt("tcp_timeout", c.TCPTimeout, 300)
	opt("udp_timeout", c.UDPTimeout, 60)
	opt("app_timeout", c.AppTimeout, 300)
	opt("max_flows", c.MaxFlows, 0)
	opt("workers", c.Workers, 2)
	b.WriteString("\nconfig storage 'storage'\n")
	fmt.Fprintf(&b, "\toption driver '%s'\n\toption spool_path '%s'\n", c.Driver, filepath.Join(c.Dir, "spool"))
	if c.Driver == "mysql" {
		fmt.Fprintf(&b, "\toption host '127.0.0.1'\n\toption port '3306'\n\toption user '%s'\n\toption password '%s'\n\toption database '%s'\n",
			dbUser, dbPassword, c.Database)
	} else {
		fmt.Fprintf(&b, "\toption path '%s'\n", c.SQLitePath())
	}
	fmt.Fprintf(&b, "\nconfig api 'api'\n\toption listen '%s:%d'\n\toption tls 'off'\n\toption token '%s'\n", RouterLAN4, APIPort, APIToken)
	macs := make([]string, 0, len(c.Aliases))
	for m := range c.Aliases {
		macs = append(macs, m)
	}
	slices.Sort(macs)
	for _, m := range macs {
		fmt.Fprintf(&b, "\nconfig alias\n\toption mac '%s'\n\toption name '%s'\n", m, c.Aliases[m])
	}
	return b.String()
}

// SQLitePath is the daemon's SQLite file (driver sqlite).
func (c DaemonConfig) SQLitePath() string { return filepath.Join(c.Dir, "tamon.db") }

// Write writes the UCI file and the features file into Dir.
func (c DaemonConfig) Write() error {
	feat := c.Features
	if feat == "" {
		feat = "#class lab Lab\n" + LabApp + ":[;;;^app." + Domain + "$;]\n"
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "features.txt"), []byte(feat), 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.Path(), []byte(c.UCI()), 0o644)
}

// Path is the UCI file.
func (c DaemonConfig) Path() string { return filepath.Join(c.Dir, "tamon") }

// Daemon is a running tamond in the router namespace.
type Daemon struct {
	*Proc
	Cfg  DaemonConfig
	lab  *Lab
	http *http.Client
}

// StartDaemon writes cfg and starts tamond on it, and waits until its API
// answers.
func (l *Lab) StartDaemon(ctx context.Context, cfg DaemonConfig) (*Daemon, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := cfg.Write(); err != nil {
		return nil, fmt.Errorf("write the daemon's configuration: %w", err)
	}
	p, err := l.Start(ctx, l.Router, "tamond", l.Bin.Tamond, "-c", cfg.Path())
	if err != nil {
		return nil, err
	}
	d := &Daemon{Proc: p, Cfg: cfg, lab: l,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: Dialer(l.Router), DisableKeepAlives: true}}}
	err = Poll(ctx, 30*time.Second, func() error {
		if !p.Running() {
			return Permanent(fmt.Errorf("tamond exited: %v", p.err))
		}
		var st Status
		return d.Get(ctx, "/api/v1/status", &st)
	})
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("tamond's API does not answer: %w; log:\n%s", err, p.Log())
	}
	return d, nil
}

// APIBase is the daemon's API address.
func APIBase() string { return fmt.Sprintf("http://%s:%d", RouterLAN4, APIPort) }

// Get fetches path from the API with the lab's token and decodes the JSON
// answer into out.
func (d *Daemon) Get(ctx context.Context, path string, out any) error {
	b, err := d.GetRaw(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("GET %s: decode %.200s: %w", path, b, err)
	}
	return nil
}

// GetRaw fetches path from the API and returns the body of a 200 answer.
func (d *Daemon) GetRaw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", APIBase()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+APIToken)
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// Status is the part of GET /api/v1/status the lab reads (docs/api.md).
type Status struct {
	Sensor  string `json:"sensor"`
	Capture struct {
		Frames       uint64            `json:"frames"`
		KernelDrops  uint64            `json:"kernel_drops"`
		QueueDrops   uint64            `json:"queue_drops"`
		DecodeErrors map[string]uint64 `json:"decode_errors"`
	} `json:"capture"`
	Engine struct {
		SessionsOpen    uint64 `json:"sessions_open"`
		SessionsEnded   uint64 `json:"sessions_ended"`
		SessionsEvicted uint64 `json:"sessions_evicted"`
		Records         uint64 `json:"records"`
	} `json:"engine"`
	Store struct {
		Driver     string `json:"driver"`
		Connected  bool   `json:"connected"`
		Queue      int64  `json:"queue"`
		SpoolBytes int64  `json:"spool_bytes"`
		Dropped    uint64 `json:"dropped"`
		LastError  string `json:"last_error"`
	} `json:"store"`
	Config struct {
		TCPTimeout int `json:"tcp_timeout"`
		UDPTimeout int `json:"udp_timeout"`
		Reloads    int `json:"reloads"`
	} `json:"config"`
}

// DecodeErrors sums the decode error counters.
func (s Status) DecodeErrors() uint64 {
	var n uint64
	for _, v := range s.Capture.DecodeErrors {
		n += v
	}
	return n
}

// Status fetches GET /api/v1/status.
func (d *Daemon) Status(ctx context.Context) (Status, error) {
	var s Status
	err := d.Get(ctx, "/api/v1/status", &s)
	return s, err
}

// Metrics fetches GET /api/v1/metrics as name{labels} → value.
func (d *Daemon) Metrics(ctx context.Context) (map[string]float64, error) {
	b, err := d.GetRaw(ctx, "/api/v1/metrics")
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] = v
		}
	}
	return m, nil
}

// Store opens the daemon's database for reading: the MariaDB database
// through the lab server's socket, or the SQLite file.
func (d *Daemon) Store(m *MariaDB) (*sql.DB, error) {
	return OpenStore(d.Cfg, m)
}

// OpenStore opens the database of a daemon configuration for reading.
func OpenStore(c DaemonConfig, m *MariaDB) (*sql.DB, error) {
	if c.Driver == "mysql" {
		return m.Open(c.Database)
	}
	db, err := sql.Open("sqlite", "file:"+c.SQLitePath()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.SQLitePath(), err)
	}
	return db, nil
}

// Rows runs query and returns its rows as column → value maps, with text
// as strings.
func Rows(ctx context.Context, db *sql.DB, query string, args ...any) ([]map[string]any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			switch v := vals[i].(type) {
			case []byte:
				m[c] = string(v)
			default:
				m[c] = v
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
