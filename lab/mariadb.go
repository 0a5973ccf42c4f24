package lab

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is the lab's private database server: its own datadir under the
// lab's folder, running in the router namespace on 127.0.0.1:3306 (so
// tamond reaches it over TCP as on a router, and the machine's own MariaDB
// is untouched), with its unix socket in the datadir for the test process.
// Stop and Start may be called by one goroutine at a time.
type MariaDB struct {
	lab    *Lab
	Dir    string
	Socket string
	proc   *Proc
}

// StartMariaDB initialises a datadir and starts the server; Close of the
// lab stops it.
func (l *Lab) StartMariaDB(ctx context.Context) (*MariaDB, error) {
	m := &MariaDB{lab: l, Dir: filepath.Join(l.Dir, "mariadb")}
	m.Socket = filepath.Join(m.Dir, "mysqld.sock")
	out, err := exec.CommandContext(ctx, "mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(m.Dir, "data"),
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=root").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("mariadb-install-db in %s: %v\n%s", m.Dir, err, out)
	}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	db, err := m.Open("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s'", dbUser, dbPassword),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'127.0.0.1'", dbUser),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("set up the lab's MariaDB account: %s: %w", q, err)
		}
	}
	return m, nil
}

// Start starts the server on the existing datadir and waits until it
// answers on its socket.
func (m *MariaDB) Start(ctx context.Context) error {
	os.Remove(m.Socket)
	p, err := m.lab.Start(ctx, m.lab.Router, "mariadbd", "mariadbd", "--no-defaults",
		"--datadir="+filepath.Join(m.Dir, "data"), "--socket="+m.Socket, "--pid-file="+filepath.Join(m.Dir, "mysqld.pid"),
		"--bind-address=127.0.0.1", "--port=3306", "--user=root", "--skip-name-resolve",
		"--innodb-buffer-pool-size=64M", "--max-connections=200", "--log-error="+filepath.Join(m.Dir, "error.log"))
	if err != nil {
		return err
	}
	m.proc = p
	return Poll(ctx, 60*time.Second, func() error {
		if !p.Running() {
			log, _ := os.ReadFile(filepath.Join(m.Dir, "error.log"))
			return Permanent(fmt.Errorf("mariadbd exited: %s\n%s", p.Log(), log))
		}
		db, err := m.Open("")
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
}

// Running reports whether the server process runs.
func (m *MariaDB) Running() bool { return m.proc != nil && m.proc.Running() }

// Kill stops the server at once (SIGKILL: a crash, transactions in flight
// get no answer) and waits for its exit.
func (m *MariaDB) Kill() {
	if m.proc != nil {
		m.proc.Kill()
	}
}

// Stop stops the server cleanly.
func (m *MariaDB) Stop() error {
	if m.proc == nil {
		return nil
	}
	return m.proc.Stop(60 * time.Second)
}

// Open connects as root through the socket to database name ("" for none).
func (m *MariaDB) Open(name string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.Net, c.Addr, c.User, c.DBName = "unix", m.Socket, "root", name
	c.Timeout = 5 * time.Second
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysql connector for %s: %w", m.Socket, err)
	}
	return sql.OpenDB(conn), nil
}

// CreateDatabase makes an empty database for one daemon run.
func (m *MariaDB) CreateDatabase(ctx context.Context, name string) error {
	db, err := m.Open("")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
