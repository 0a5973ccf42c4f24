// Package config is tamond's configuration: typed, with defaults, loaded
// from the UCI package "tamon" (/etc/config/tamon) and checked by Validate,
// which reports every problem at once.
//
// Sections (named, so that `uci set tamon.main.tcp_timeout=300` works):
//
//	config tamon 'main'       interface (list), sensor, promisc, tcp_timeout,
//	                          udp_timeout, app_timeout, features, max_flows,
//	                          timeline, workers, dns_timeout, memory_limit_mb,
//	                          dissect
//	config storage 'storage'  driver, path, host, port, user, password,
//	                          database, retention_days, max_size_mb,
//	                          spool_path, spool_max_mb
//	config api 'api'          listen, tls, cert, key, token
//	config alias              mac, name (anonymous, any number)
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"tamon/daemon/internal/uci"
)

// DefaultPath is where OpenWrt keeps tamon's UCI file.
const DefaultPath = "/etc/config/tamon"

// Config is the whole configuration.
type Config struct {
	Source string // file it was read from, "" for defaults

	Interfaces []string
	Sensor     string
	Promisc    bool
	TCPTimeout int // seconds of silence that end a TCP session
	UDPTimeout int // seconds of silence that end a UDP session
	AppTimeout int // seconds without traffic that end an app-usage session
	DNSTimeout int // seconds before an unanswered DNS query is written
	Features   string
	MaxFlows   int
	Timeline   int
	Workers    int
	MemLimitMB int // soft memory limit for the Go runtime, MiB; 0: none
	// Dissect runs the application-layer dissectors (TLS, HTTP, QUIC,
	// SSDP) and the ICMP log; off, a slow router keeps sessions, DNS,
	// devices and application names.
	Dissect bool

	Storage Storage
	API     API
	Aliases []Alias
}

// Storage selects and sets up the database.
type Storage struct {
	Driver        string // sqlite or mysql
	Path          string
	Host          string
	Port          int
	User          string
	Password      string
	Database      string
	RetentionDays int
	MaxSizeMB     int
	SpoolPath     string // where records wait while the database is away
	SpoolMaxMB    int
}

// API sets up the HTTP/WebSocket server.
type API struct {
	Listen string
	TLS    string // auto, on, off
	Cert   string
	Key    string
	Token  string
}

// Alias names a device by MAC.
type Alias struct {
	MAC  string
	Name string
	Line int
}

// Default returns the configuration used when the file sets nothing. The
// timeouts keep the prototype's meanings.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "tamon"
	}
	return Config{
		Interfaces: []string{"br-lan"},
		Sensor:     host,
		TCPTimeout: 300,
		UDPTimeout: 60,
		AppTimeout: 300,
		DNSTimeout: 10,
		Features:   "/etc/tamon/features.txt",
		MaxFlows:   65536,
		Timeline:   32,
		MemLimitMB: 56,
		Dissect:    true,
		Storage: Storage{Driver: "sqlite", Path: "/tmp/tamon/tamon.db", Host: "127.0.0.1", Port: 3306,
			User: "tamon", Database: "tamon", RetentionDays: 30, MaxSizeMB: 64,
			SpoolPath: "/tmp/tamon/spool", SpoolMaxMB: 16},
		API: API{Listen: "lan:8321", TLS: "auto"}, // the addresses of OpenWrt's lan interface only
	}
}

// Load reads path (a UCI file, or a folder holding a file named "tamon") over
// the defaults, then validates. The error lists every problem, one per line,
// each with file and line where it has one.
func Load(path string) (Config, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "tamon")
	}
	f, err := uci.ParseFile(path)
	if err != nil {
		return Config{}, err
	}
	c := Default()
	c.Source = path
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	intOpt := func(s *uci.Section, name string, dst *int) {
		v, err := s.Int(name, *dst)
		add(err)
		*dst = v
	}
	if s := f.Section("main"); s != nil {
		if l := s.List("interface"); len(l) > 0 {
			c.Interfaces = l
		}
		c.Sensor = s.String("sensor", c.Sensor)
		v, err := s.Bool("promisc", c.Promisc)
		add(err)
		c.Promisc = v
		v, err = s.Bool("dissect", c.Dissect)
		add(err)
		c.Dissect = v
		intOpt(s, "tcp_timeout", &c.TCPTimeout)
		intOpt(s, "udp_timeout", &c.UDPTimeout)
		intOpt(s, "app_timeout", &c.AppTimeout)
		intOpt(s, "dns_timeout", &c.DNSTimeout)
		intOpt(s, "max_flows", &c.MaxFlows)
		intOpt(s, "timeline", &c.Timeline)
		intOpt(s, "workers", &c.Workers)
		intOpt(s, "memory_limit_mb", &c.MemLimitMB)
		c.Features = s.String("features", c.Features)
	}
	if s := f.Section("storage"); s != nil {
		st := &c.Storage
		st.Driver = s.String("driver", st.Driver)
		st.Path = s.String("path", st.Path)
		st.Host = s.String("host", st.Host)
		intOpt(s, "port", &st.Port)
		st.User = s.String("user", st.User)
		st.Password = s.String("password", st.Password)
		st.Database = s.String("database", st.Database)
		intOpt(s, "retention_days", &st.RetentionDays)
		intOpt(s, "max_size_mb", &st.MaxSizeMB)
		st.SpoolPath = s.String("spool_path", st.SpoolPath)
		intOpt(s, "spool_max_mb", &st.SpoolMaxMB)
	}
	if s := f.Section("api"); s != nil {
		a := &c.API
		a.Listen = s.String("listen", a.Listen)
		a.TLS = s.String("tls", a.TLS)
		a.Cert = s.String("cert", a.Cert)
		a.Key = s.String("key", a.Key)
		a.Token = s.String("token", a.Token)
	}
	for _, s := range f.ByType("alias") {
		c.Aliases = append(c.Aliases, Alias{MAC: strings.ToLower(s.String("mac", "")), Name: s.String("name", ""), Line: s.Line})
	}
	add(c.Validate())
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// Validate checks c and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		if c.Source != "" {
			msg = c.Source + ": " + msg
		}
		errs = append(errs, errors.New(msg))
	}
	if len(c.Interfaces) == 0 {
		bad("main.interface: at least one interface is needed")
	}
	if c.Sensor == "" {
		bad("main.sensor: must not be empty")
	}
	rng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s: %d is out of range %d..%d", name, v, lo, hi)
		}
	}
	rng("main.tcp_timeout", c.TCPTimeout, 1, 86400)
	rng("main.udp_timeout", c.UDPTimeout, 1, 86400)
	rng("main.app_timeout", c.AppTimeout, 1, 86400)
	rng("main.dns_timeout", c.DNSTimeout, 1, 3600)
	rng("main.max_flows", c.MaxFlows, 64, 4_000_000)
	rng("main.timeline", c.Timeline, 0, 255)
	rng("main.workers", c.Workers, 0, 64)
	rng("main.memory_limit_mb", c.MemLimitMB, 0, 1<<20)
	switch c.Storage.Driver {
	case "sqlite", "mysql":
	default:
		bad("storage.driver: %q is not sqlite or mysql", c.Storage.Driver)
	}
	rng("storage.port", c.Storage.Port, 1, 65535)
	rng("storage.retention_days", c.Storage.RetentionDays, 0, 3650)
	rng("storage.max_size_mb", c.Storage.MaxSizeMB, 0, 1<<20)
	rng("storage.spool_max_mb", c.Storage.SpoolMaxMB, 0, 1<<20)
	switch c.API.TLS {
	case "auto", "on", "off":
	default:
		bad("api.tls: %q is not auto, on or off", c.API.TLS)
	}
	if c.API.Listen != "" {
		if _, _, err := net.SplitHostPort(c.API.Listen); err != nil {
			bad("api.listen: %q is not host:port", c.API.Listen)
		}
	}
	for _, a := range c.Aliases {
		where := "alias"
		if a.Line > 0 {
			where = fmt.Sprintf("line %d: alias", a.Line)
		}
		if _, err := net.ParseMAC(a.MAC); err != nil || len(a.MAC) != 17 {
			bad("%s: mac %q is not aa:bb:cc:dd:ee:ff", where, a.MAC)
		}
		if a.Name == "" {
			bad("%s: name is empty", where)
		}
	}
	return errors.Join(errs...)
}
