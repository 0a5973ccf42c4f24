// Command tamon-storebench measures how fast the store writes session
// rows: into MariaDB through the batched writer, into MariaDB with LOAD
// DATA LOCAL INFILE of the same rows (the yardstick: the fastest way in),
// and into SQLite through the batched writer. It prints a Markdown table.
//
//	tamon-storebench [-dsn 'tamon_test@tcp(127.0.0.1:3306)/'] [-rows 50000] [-runs 4]
//
// It creates a database of its own on the server (tamon_bench_<random>) and
// drops it at the end; the account needs CREATE and DROP, and the server
// local_infile=ON. Each measurement starts from an empty table; the best of
// -runs runs counts.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
	"tamon/daemon/internal/store/sqldb"
)

func main() {
	dsn := flag.String("dsn", envOr("TAMON_TEST_MYSQL_DSN", "tamon_test@tcp(127.0.0.1:3306)/"), "MariaDB/MySQL server (go-sql-driver DSN; the database part is ignored)")
	rows := flag.Int("rows", 50000, "session rows per measurement")
	runs := flag.Int("runs", 4, "runs of each measurement (the best counts)")
	flag.Parse()
	if err := run(*dsn, *rows, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "tamon-storebench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// result is one measurement.
type result struct {
	name string
	rows int
	dur  time.Duration
}

func (r result) rate() float64 { return float64(r.rows) / r.dur.Seconds() }

func run(dsn string, n, runs int) error {
	if n <= 0 || runs <= 0 {
		return fmt.Errorf("-rows %d and -runs %d must be positive", n, runs)
	}
	recs := sessions(n)
	ctx := context.Background()

	dc, err := driver.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("parse -dsn: %w", err)
	}
	dc.DBName = ""
	admin, err := openDB(dc)
	if err != nil {
		return err
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	dbName := "tamon_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + dbName + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return fmt.Errorf("create database %s: %w", dbName, err)
	}
	defer admin.Exec("DROP DATABASE IF EXISTS " + dbName)

	host, port, err := net.SplitHostPort(dc.Addr)
	if err != nil {
		return fmt.Errorf("-dsn address %q: %w", dc.Addr, err)
	}
	p, _ := strconv.Atoi(port)
	mcfg := store.Config{Driver: "mysql", Host: host, Port: p, User: dc.User, Password: dc.Passwd, Database: dbName, QueueRecords: n + 1}
	st, err := store.Open(ctx, mcfg)
	if err != nil {
		return err
	}
	defer st.Close(ctx)
	dc.DBName = dbName
	loader, err := openDB(dc)
	if err != nil {
		return err
	}
	defer loader.Close()
	tsv := loadData(recs)

	best := map[string]result{}
	keep := func(r result) {
		if old, ok := best[r.name]; !ok || r.dur < old.dur {
			best[r.name] = r
		}
	}
	for i := 0; i < runs; i++ {
		if _, err := loader.Exec("TRUNCATE TABLE sessions"); err != nil {
			return err
		}
		r, err := viaStore(ctx, st, recs, "mariadb-writer")
		if err != nil {
			return err
		}
		keep(r)
		if _, err := loader.Exec("TRUNCATE TABLE sessions"); err != nil {
			return err
		}
		r, err = viaLoadData(loader, tsv, n)
		if err != nil {
			return err
		}
		keep(r)
	}
	if s := st.Stats(); s.Dropped != 0 || s.Rejected != 0 {
		return fmt.Errorf("the writer lost records: %+v", s)
	}

	dir, err := os.MkdirTemp("", "tamon-storebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for i := 0; i < runs; i++ {
		sl, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(dir, fmt.Sprintf("bench%d.db", i)), QueueRecords: n + 1})
		if err != nil {
			return err
		}
		r, err := viaStore(ctx, sl, recs, "sqlite-writer")
		sl.Close(ctx)
		if err != nil {
			return err
		}
		keep(r)
	}

	w, l, s := best["mariadb-writer"], best["mariadb-load-data"], best["sqlite-writer"]
	var version string
	loader.QueryRow("SELECT VERSION()").Scan(&version)
	fmt.Printf("Session rows (%d per run, best of %d; %d bytes of LOAD DATA text, %.0f per row); server %s.\n\n",
		n, runs, len(tsv), float64(len(tsv))/float64(n), version)
	fmt.Println("| target | path | rows/s | seconds |")
	fmt.Println("|---|---|---:|---:|")
	fmt.Printf("| MariaDB | batched writer (store.Write, %d-row batches, multi-row INSERTs) | %.0f | %.2f |\n", 1000, w.rate(), w.dur.Seconds())
	fmt.Printf("| MariaDB | LOAD DATA LOCAL INFILE, same rows, same table | %.0f | %.2f |\n", l.rate(), l.dur.Seconds())
	fmt.Printf("| MariaDB | ratio writer / LOAD DATA (target ≥ 0.70) | %.2f | |\n", w.rate()/l.rate())
	fmt.Printf("| SQLite | batched writer (WAL, synchronous=NORMAL) | %.0f | %.2f |\n", s.rate(), s.dur.Seconds())
	if w.rate()/l.rate() < 0.7 {
		fmt.Println("\nThe writer is below 70% of LOAD DATA.")
	}
	return nil
}

func openDB(dc *driver.Config) (*sql.DB, error) {
	conn, err := driver.NewConnector(dc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w (run .ci/ensure-mariadb.sh)", dc.Addr, err)
	}
	return db, nil
}

// sessions returns n session records of a typical size: a host name, an
// app, a 16-packet timeline.
func sessions(n int) []record.Record {
	hosts := []string{"www.example.com", "cdn.example.net", "api.example.org", "视频.example.cn", "updates.example.com"}
	out := make([]record.Record, n)
	t0 := int64(1_700_000_000_000)
	for i := range out {
		s := &record.Session{
			Sensor: "router1", Proto: "tcp", ClientMAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8&0xff, i&0xff),
			ClientIP: fmt.Sprintf("192.0.2.%d", i%250+1), ClientPort: uint16(32768 + i%28000),
			ServerMAC: "02:00:00:00:ff:01", ServerIP: fmt.Sprintf("203.0.113.%d", i%200+1), ServerPort: 443,
			StartTS: t0 + int64(i)*10, EndTS: t0 + int64(i)*10 + 5000, BytesUp: uint64(1000 + i%5000), BytesDown: uint64(20000 + i%90000),
			PktsUp: uint64(10 + i%40), PktsDown: uint64(20 + i%80), Host: hosts[i%len(hosts)], App: "example", EndReason: "fin",
		}
		for j := 0; j < 16; j++ {
			s.Timeline = append(s.Timeline, record.Step{DT: uint32(j * 12), Dir: uint8(1 + j%2), Len: uint16(52 + j*90), Flags: 0x18})
		}
		out[i] = s
	}
	return out
}

func viaStore(ctx context.Context, st *store.Store, recs []record.Record, name string) (result, error) {
	start := time.Now()
	for i := 0; i < len(recs); i += 512 {
		if err := st.Write(recs[i:min(i+512, len(recs))]); err != nil {
			return result{}, err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := st.Flush(fctx); err != nil {
		return result{}, err
	}
	return result{name: name, rows: len(recs), dur: time.Since(start)}, nil
}

// loadData renders recs as LOAD DATA text: tab-separated, backslash
// escapes, the columns the writer fills (run, seq, then the record's).
func loadData(recs []record.Record) []byte {
	var b bytes.Buffer
	var vals []string
	for i, r := range recs {
		b.WriteString("7\t")
		b.WriteString(strconv.Itoa(i + 1))
		vals = store.AppendText(vals[:0], r)
		for _, v := range vals {
			b.WriteByte('\t')
			escape(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
}

func viaLoadData(db *sql.DB, tsv []byte, n int) (result, error) {
	const handler = "tamon-storebench"
	driver.RegisterReaderHandler(handler, func() io.Reader { return bytes.NewReader(tsv) })
	defer driver.DeregisterReaderHandler(handler)
	cols := "run, seq, " + strings.Join(store.Columns(record.KindSession), ", ")
	q := "LOAD DATA LOCAL INFILE 'Reader::" + handler + "' INTO TABLE " + sqldb.TableName(record.KindSession) +
		" CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (" + cols + ")"
	start := time.Now()
	res, err := db.Exec(q)
	if err != nil {
		return result{}, fmt.Errorf("load data: %w", err)
	}
	d := time.Since(start)
	if got, _ := res.RowsAffected(); got != int64(n) {
		return result{}, errors.New("load data: " + strconv.FormatInt(got, 10) + " rows of " + strconv.Itoa(n))
	}
	return result{name: "mariadb-load-data", rows: n, dur: d}, nil
}
