// Package mysql opens tamon's database on a MySQL (5.7+, 8) or MariaDB
// (10.5+) server, local or remote, and tells a wrong setting apart from a
// server that is away. Many sensors may share one database: every row
// carries its sensor.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"tamon/daemon/internal/store/sqldb"
)

// Config names the server and the account. Field names follow the UCI
// storage section (storage.host, ...), and so do the errors of Open.
type Config struct {
	Host     string // default 127.0.0.1
	Port     int    // default 3306
	User     string
	Password string
	Database string
	// ChunkRows caps the rows of one INSERT (default 500).
	ChunkRows int
	// Logger receives the driver's own messages at debug level (nil: none).
	Logger *slog.Logger
}

// Open connects, checks the account and the database, and returns the
// database, not yet migrated. A wrong host, port, user, password or
// database gives one error that names the setting.
func Open(ctx context.Context, cfg Config) (*sqldb.DB, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = 3306
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("storage.port %d: not a TCP port", cfg.Port)
	}
	if cfg.Database == "" {
		return nil, errors.New("storage.database is empty: name the MySQL database for tamon")
	}
	if cfg.User == "" {
		return nil, errors.New("storage.user is empty: name the MySQL account for tamon")
	}
	dc := Connector(cfg)
	conn, err := driver.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("storage: mysql settings: %w", err)
	}
	db := sql.OpenDB(conn)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, explain(cfg, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return sqldb.New(db, sqldb.MySQL, sqldb.Options{Rejected: Rejected, ChunkRows: cfg.ChunkRows, Database: cfg.Database}), nil
}

// Connector returns the driver configuration Open uses: TCP, utf8mb4,
// bounded dial and I/O timeouts, and parameters of unprepared statements
// interpolated by the driver (one round trip instead of three); full
// INSERT chunks use a prepared statement (see sqldb). Tools start from it.
func Connector(cfg Config) *driver.Config {
	dc := driver.NewConfig()
	dc.Net = "tcp"
	dc.Addr = net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	dc.User = cfg.User
	dc.Passwd = cfg.Password
	dc.DBName = cfg.Database
	dc.Collation = "utf8mb4_general_ci"
	dc.InterpolateParams = true
	dc.Timeout = 5 * time.Second
	dc.ReadTimeout = 60 * time.Second
	dc.WriteTimeout = 60 * time.Second
	dc.Logger = logger{cfg.Logger}
	return dc
}

// logger sends the driver's messages to slog at debug level.
type logger struct{ l *slog.Logger }

func (l logger) Print(v ...any) {
	if l.l != nil {
		l.l.Debug("mysql driver", "msg", fmt.Sprint(v...))
	}
}

// Server error numbers Open and Rejected look at.
const (
	erDBAccessDenied  = 1044
	erAccessDenied    = 1045
	erBadDB           = 1049
	erBadNull         = 1048
	erNetPacketTooBig = 1153
	erWarnDataRange   = 1264
	erWarnDataTrunc   = 1265
	erTruncatedValue  = 1292
	erTruncatedString = 1366
	erDataTooLong     = 1406
)

// explain turns a failed first contact into an error naming the setting.
func explain(cfg Config, err error) error {
	where := fmt.Sprintf("%s port %d", cfg.Host, cfg.Port)
	var me *driver.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erAccessDenied:
			return fmt.Errorf("storage.user %q / storage.password: the server at %s denied access: %s", cfg.User, where, me.Message)
		case erBadDB:
			return fmt.Errorf("storage.database %q does not exist on the server at %s: create it and grant storage.user %q access", cfg.Database, where, cfg.User)
		case erDBAccessDenied:
			return fmt.Errorf("storage.database %q: storage.user %q has no access to it on %s: %s", cfg.Database, cfg.User, where, me.Message)
		}
		return fmt.Errorf("storage: mysql server at %s: %w", where, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("storage.host %q: no such host: %v", cfg.Host, dnsErr)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("storage.host %q / storage.port %d: no MySQL server answers: %v", cfg.Host, cfg.Port, err)
	}
	return fmt.Errorf("storage.host %q / storage.port %d: connect to MySQL: %w", cfg.Host, cfg.Port, err)
}

// Rejected reports whether err means that the server refused the data of
// an INSERT (a value out of range, too long, not valid text, a statement
// larger than max_allowed_packet), so that retrying the same rows is
// useless. Connection and server-state errors are not rejections.
func Rejected(err error) bool {
	if errors.Is(err, driver.ErrPktTooLarge) {
		return true
	}
	var me *driver.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erBadNull, erNetPacketTooBig, erWarnDataRange, erWarnDataTrunc, erTruncatedValue, erTruncatedString, erDataTooLong:
		return true
	}
	return false
}
