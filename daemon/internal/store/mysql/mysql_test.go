package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"
)

func TestRejected(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"data too long", &driver.MySQLError{Number: erDataTooLong}, true},
		{"incorrect string", fmt.Errorf("insert: %w", &driver.MySQLError{Number: erTruncatedString}), true},
		{"out of range", &driver.MySQLError{Number: erWarnDataRange}, true},
		{"packet too big", driver.ErrPktTooLarge, true},
		{"lock wait", &driver.MySQLError{Number: 1205}, false},
		{"deadlock", &driver.MySQLError{Number: 1213}, false},
		{"server gone", driver.ErrInvalidConn, false},
		{"no table", &driver.MySQLError{Number: 1146}, false},
		{"read only", &driver.MySQLError{Number: 1290}, false},
		{"canceled", context.Canceled, false},
		{"other", errors.New("x"), false},
	}
	for _, tt := range tests {
		if got := Rejected(tt.err); got != tt.want {
			t.Errorf("%s: Rejected = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	cfg := Config{Host: "192.0.2.1", Port: 3307, User: "tamon", Database: "tamondb"}
	tests := []struct {
		err  error
		want string
	}{
		{&driver.MySQLError{Number: erAccessDenied, Message: "Access denied"}, `storage.user "tamon" / storage.password`},
		{&driver.MySQLError{Number: erBadDB, Message: "Unknown database"}, `storage.database "tamondb" does not exist`},
		{&driver.MySQLError{Number: erDBAccessDenied, Message: "denied"}, `storage.database "tamondb": storage.user "tamon" has no access`},
		{context.DeadlineExceeded, `storage.host "192.0.2.1" / storage.port 3307: no MySQL server answers`},
	}
	for _, tt := range tests {
		if got := explain(cfg, tt.err).Error(); !strings.Contains(got, tt.want) {
			t.Errorf("explain(%v) = %q, want it to contain %q", tt.err, got, tt.want)
		}
	}
}

func TestOpenChecksSettings(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{User: "u"}, "storage.database is empty"},
		{Config{Database: "d"}, "storage.user is empty"},
		{Config{User: "u", Database: "d", Port: 70000}, "storage.port 70000"},
	} {
		_, err := Open(context.Background(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v): %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestConnector(t *testing.T) {
	dc := Connector(Config{Host: "2001:db8::1", Port: 3306, User: "u", Password: "p", Database: "d"})
	if dc.Addr != "[2001:db8::1]:3306" || !dc.InterpolateParams || dc.DBName != "d" || dc.Timeout == 0 || dc.ReadTimeout == 0 {
		t.Errorf("connector %+v", dc)
	}
}
