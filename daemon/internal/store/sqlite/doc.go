// Package sqlite opens tamon's embedded database: one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode. It is the default store on
// every target but mips and mipsle, where the package is left out of the
// build and the default becomes MySQL.
//
// Settings, and why: WAL with synchronous=NORMAL (commits append to the
// log; a power cut loses at most the last commits, never the file),
// incremental auto-vacuum (retention can give pages back), a busy timeout
// (the writer, the purger and API readers share the file), every
// transaction IMMEDIATE (no lock upgrade deadlocks), and case-sensitive
// LIKE (to match MySQL's binary collation and keep prefix patterns on the
// index).
package sqlite
