package sqldb

import (
	"fmt"
	"strings"

	"tamon/daemon/internal/record"
)

// Dialect names the SQL dialect of a database.
type Dialect uint8

// The dialects tamon speaks.
const (
	MySQL  Dialect = iota + 1 // MySQL 5.7+/8 and MariaDB 10.5+
	SQLite                    // SQLite 3.35+ (modernc.org/sqlite)
)

// String returns the driver name of d: "mysql" or "sqlite".
func (d Dialect) String() string {
	switch d {
	case MySQL:
		return "mysql"
	case SQLite:
		return "sqlite"
	}
	return fmt.Sprintf("dialect(%d)", uint8(d))
}

// colType is the SQL type of a column, and the rule that fits a value to it.
type colType uint8

const (
	tInt   colType = iota + 1 // BIGINT; uint64 values above MaxInt64 are clamped (counted)
	tSmall                    // INT: ports, VLAN, ICMP type and code, status
	tBool                     // TINYINT 0/1
	tStr                      // VARCHAR(size): at most size characters
	tText                     // TEXT: at most textBytes bytes
	tJSON                     // TEXT holding a JSON array: whole elements dropped to fit textBytes
)

// textBytes is the capacity of a MySQL TEXT column, the limit of tText and
// tJSON values in both dialects (so that both keep the same text).
const textBytes = 65535

type column struct {
	name string
	typ  colType
	size int // characters, for tStr
}

// table describes the table of one record kind: its columns in record field
// order, and which of them the API's filters use.
type table struct {
	kind     record.Kind
	name     string
	cols     []column
	timeCol  string   // From/To, default sort, retention
	macCol   string   // Filter.MAC
	hostCol  string   // Filter.Host ("" = not applicable)
	appCol   string   // Filter.App
	ipCols   []string // Filter.IP (JSON list columns match an element)
	portCols []string // Filter.Port
	qCols    []string // Filter.Q
	stamped  bool     // has run and seq (every table but devices)
	indexes  [][]string
	put      func(w *rowArgs, r record.Record) bool // appends the record's values in column order; false if r is not of this kind
	get      func(g *rowGetter) record.Record
}

func (t *table) col(name string) (int, bool) {
	for i := range t.cols {
		if t.cols[i].name == name {
			return i, true
		}
	}
	return 0, false
}

func str(name string, size int) column { return column{name: name, typ: tStr, size: size} }
func num(name string) column           { return column{name: name, typ: tInt} }
func small(name string) column         { return column{name: name, typ: tSmall} }

// Column sizes shared by several tables.
const (
	sensorLen = 64
	macLen    = 32  // "aa:bb:cc:dd:ee:ff" with room for odd link addresses
	ipLen     = 64  // IPv6 text with a zone
	hostLen   = 255 // a DNS name in presentation form
	appLen    = 64
)

// tables returns the table descriptions, indexed by record.Kind. It builds
// them on each call; DB keeps the result (no package state).
func tables() [record.KindDevice + 1]*table {
	var ts [record.KindDevice + 1]*table
	ts[record.KindSession] = &table{
		kind: record.KindSession, name: "sessions",
		cols: []column{
			str("sensor", sensorLen), str("proto", 8), str("client_mac", macLen), str("client_ip", ipLen),
			small("client_port"), str("server_mac", macLen), str("server_ip", ipLen), small("server_port"),
			small("vlan"), num("start_ts"), num("end_ts"), num("bytes_up"), num("bytes_down"),
			num("pkts_up"), num("pkts_down"), str("host", hostLen), str("app", appLen), str("end_reason", 16),
			{name: "timeline", typ: tJSON},
		},
		timeCol: "start_ts", macCol: "client_mac", hostCol: "host", appCol: "app",
		ipCols: []string{"client_ip", "server_ip"}, portCols: []string{"client_port", "server_port"},
		qCols:   []string{"host", "app", "client_ip", "server_ip", "client_mac", "server_mac"},
		stamped: true,
		indexes: [][]string{{"start_ts"}, {"client_mac", "start_ts"}, {"host"}, {"app"}},
		put:     putSession, get: getSession,
	}
	ts[record.KindDNS] = &table{
		kind: record.KindDNS, name: "dns",
		cols: []column{
			str("sensor", sensorLen), num("ts"), str("client_mac", macLen), str("client_ip", ipLen),
			str("server_ip", ipLen), str("proto", 8), small("txid"), str("query", hostLen), str("qtype", 16),
			str("rcode", 16), {name: "answers", typ: tJSON}, num("rtt_ms"),
		},
		timeCol: "ts", macCol: "client_mac", hostCol: "query",
		ipCols:  []string{"client_ip", "server_ip"},
		qCols:   []string{"query", "answers", "client_ip", "server_ip", "client_mac"},
		stamped: true,
		indexes: [][]string{{"ts"}, {"client_mac", "ts"}, {"query"}},
		put:     putDNS, get: getDNS,
	}
	ts[record.KindHTTP] = &table{
		kind: record.KindHTTP, name: "http",
		cols: []column{
			str("sensor", sensorLen), num("ts"), str("client_mac", macLen), str("client_ip", ipLen),
			small("client_port"), str("server_ip", ipLen), small("server_port"), str("method", 32),
			str("host", hostLen), {name: "uri", typ: tText}, str("user_agent", 512), {name: "referer", typ: tText},
			small("status"), str("content_type", 128),
		},
		timeCol: "ts", macCol: "client_mac", hostCol: "host",
		ipCols: []string{"client_ip", "server_ip"}, portCols: []string{"client_port", "server_port"},
		qCols:   []string{"host", "uri", "user_agent", "referer", "content_type", "client_ip", "server_ip", "client_mac"},
		stamped: true,
		indexes: [][]string{{"ts"}, {"client_mac", "ts"}, {"host"}},
		put:     putHTTP, get: getHTTP,
	}
	ts[record.KindTLS] = &table{
		kind: record.KindTLS, name: "tls",
		cols: []column{
			str("sensor", sensorLen), num("ts"), str("client_mac", macLen), str("client_ip", ipLen),
			small("client_port"), str("server_ip", ipLen), small("server_port"), str("transport", 8),
			str("version", 16), str("sni", hostLen), str("alpn", 255), str("ja3", 64), str("ja3s", 64), str("ja4", 64),
			{name: "ech", typ: tBool},
		},
		timeCol: "ts", macCol: "client_mac", hostCol: "sni",
		ipCols: []string{"client_ip", "server_ip"}, portCols: []string{"client_port", "server_port"},
		qCols:   []string{"sni", "alpn", "version", "ja3", "ja3s", "ja4", "client_ip", "server_ip", "client_mac"},
		stamped: true,
		indexes: [][]string{{"ts"}, {"client_mac", "ts"}, {"sni"}},
		put:     putTLS, get: getTLS,
	}
	ts[record.KindICMP] = &table{
		kind: record.KindICMP, name: "icmp",
		cols: []column{
			str("sensor", sensorLen), num("ts"), str("client_mac", macLen), str("src_ip", ipLen), str("dst_ip", ipLen),
			small("family"), small("icmp_type"), small("icmp_code"), small("echo_id"), small("echo_seq"), num("rtt_ms"),
			str("quoted", 255),
		},
		timeCol: "ts", macCol: "client_mac",
		ipCols:  []string{"src_ip", "dst_ip"},
		qCols:   []string{"src_ip", "dst_ip", "client_mac", "quoted"},
		stamped: true,
		indexes: [][]string{{"ts"}, {"client_mac", "ts"}},
		put:     putICMP, get: getICMP,
	}
	ts[record.KindApp] = &table{
		kind: record.KindApp, name: "apps",
		cols: []column{
			str("sensor", sensorLen), str("client_mac", macLen), str("app", appLen), num("start_ts"), num("end_ts"),
			str("host", hostLen), num("sessions"), num("bytes"),
		},
		timeCol: "start_ts", macCol: "client_mac", hostCol: "host", appCol: "app",
		qCols:   []string{"app", "host", "client_mac"},
		stamped: true,
		indexes: [][]string{{"start_ts"}, {"client_mac", "start_ts"}, {"host"}, {"app"}},
		put:     putApp, get: getApp,
	}
	ts[record.KindDevice] = &table{
		kind: record.KindDevice, name: "devices",
		cols: []column{
			str("sensor", sensorLen), str("mac", macLen), str("alias", 128), str("hostname", hostLen),
			str("vendor", 128), {name: "ipv4", typ: tJSON}, {name: "ipv6", typ: tJSON}, str("os", 64),
			str("dhcp_fingerprint", 255), {name: "randomized", typ: tBool}, num("first_seen"), num("last_seen"),
			num("bytes_up"), num("bytes_down"),
		},
		timeCol: "last_seen", macCol: "mac", hostCol: "hostname",
		ipCols:  []string{"ipv4", "ipv6"},
		qCols:   []string{"mac", "alias", "hostname", "vendor", "ipv4", "ipv6", "os"},
		indexes: [][]string{{"last_seen"}, {"hostname"}},
		put:     putDevice, get: getDevice,
	}
	return ts
}

// migration is one step of the schema's history. Steps are never edited
// once released: a change is a new step.
type migration struct {
	version int
	name    string
	stmts   func(d Dialect, ts [record.KindDevice + 1]*table) []string
}

func migrations() []migration {
	return []migration{
		{version: 1, name: "record tables", stmts: createTables},
	}
}

// migrationsDDL creates the table that lists the applied migrations.
func migrationsDDL(d Dialect) string {
	if d == MySQL {
		return "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, " +
			"name VARCHAR(128) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	}
	return "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, " +
		"name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
}

// createTables is migration 1: every record table with its indexes.
func createTables(d Dialect, ts [record.KindDevice + 1]*table) []string {
	var out []string
	for _, t := range ts {
		if t == nil {
			continue
		}
		out = append(out, createTable(d, t)...)
	}
	return out
}

func createTable(d Dialect, t *table) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS ")
	b.WriteString(t.name)
	b.WriteString(" (\n")
	if d == MySQL {
		b.WriteString("  id BIGINT NOT NULL AUTO_INCREMENT,\n")
	} else {
		b.WriteString("  id INTEGER PRIMARY KEY,\n")
	}
	if t.stamped {
		b.WriteString("  run BIGINT NOT NULL,\n  seq BIGINT NOT NULL,\n")
	}
	for i, c := range t.cols {
		b.WriteString("  ")
		b.WriteString(c.name)
		b.WriteByte(' ')
		b.WriteString(columnDDL(d, c))
		if i < len(t.cols)-1 || d == MySQL {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	var stmts []string
	if d == MySQL {
		b.WriteString("  PRIMARY KEY (id)")
		if t.stamped {
			fmt.Fprintf(&b, ",\n  UNIQUE KEY %s_run_seq (run, seq)", t.name)
		}
		if t.kind == record.KindDevice {
			b.WriteString(",\n  UNIQUE KEY devices_sensor_mac (sensor, mac)")
		}
		for _, ix := range t.indexes {
			fmt.Fprintf(&b, ",\n  KEY %s (%s)", indexName(t, ix), strings.Join(ix, ", "))
		}
		b.WriteString("\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=DYNAMIC")
		return append(stmts, b.String())
	}
	b.WriteString(")")
	stmts = append(stmts, b.String())
	if t.stamped {
		stmts = append(stmts, fmt.Sprintf("CREATE UNIQUE INDEX IF NOT EXISTS %s_run_seq ON %s (run, seq)", t.name, t.name))
	}
	if t.kind == record.KindDevice {
		stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS devices_sensor_mac ON devices (sensor, mac)")
	}
	for _, ix := range t.indexes {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", indexName(t, ix), t.name, strings.Join(ix, ", ")))
	}
	return stmts
}

func indexName(t *table, cols []string) string {
	return t.name + "_" + strings.Join(cols, "_")
}

func columnDDL(d Dialect, c column) string {
	if d == SQLite {
		switch c.typ {
		case tInt, tSmall, tBool:
			return "INTEGER NOT NULL DEFAULT 0"
		default:
			return "TEXT NOT NULL DEFAULT ''"
		}
	}
	switch c.typ {
	case tInt:
		return "BIGINT NOT NULL DEFAULT 0"
	case tSmall:
		return "INT NOT NULL DEFAULT 0"
	case tBool:
		return "TINYINT NOT NULL DEFAULT 0"
	case tStr:
		return fmt.Sprintf("VARCHAR(%d) NOT NULL DEFAULT ''", c.size)
	default: // TEXT takes no DEFAULT on MySQL 5.7; every insert sets it
		return "TEXT NOT NULL"
	}
}
