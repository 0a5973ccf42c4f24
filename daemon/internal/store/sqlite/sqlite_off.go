//go:build mips || mipsle

package sqlite

import (
	"context"
	"errors"

	"tamon/daemon/internal/store/sqldb"
)

// Available reports whether this build has SQLite.
const Available = false

// Open fails: SQLite is not built for mips and mipsle.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
	return nil, errors.New("storage.driver sqlite is not available in this build (mips/mipsle): set storage.driver to mysql")
}
