package api

import (
	"bufio"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strings"

	"tamon/daemon/internal/record"
	"tamon/daemon/internal/store"
)

// listRoute names a list route and the record kind it lists.
type listRoute struct {
	name string
	kind record.Kind
}

func listRoutes() []listRoute {
	return []listRoute{
		{"sessions", record.KindSession}, {"dns", record.KindDNS}, {"http", record.KindHTTP},
		{"tls", record.KindTLS}, {"icmp", record.KindICMP}, {"apps", record.KindApp},
		{"devices", record.KindDevice},
	}
}

// list answers GET /<kind> (JSON) and /<kind>.csv.
//
// Order and cursors. The store lists by time, newest or oldest first, and
// its cursors belong to the order they were made in. An API cursor keeps
// that order (see cursor), and a request is run in the cursor's order: the
// rows "before" (older than) or "after" (newer than) the cursor are the
// page that follows it or the one that precedes it in that order, and the
// page is turned around when the asked sort differs. So "next" works with
// either sort and either direction: pass it as before= to go on to older
// rows, as after= for newer ones. Rows are written as the store reads
// them, except pages that must be turned around (the store reads a
// preceding page backwards), which are held in memory: at most 1000 rows.
func (s *Server) list(kind record.Kind, isCSV bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Store == nil {
			writeError(w, http.StatusServiceUnavailable, "no database: this tamond runs without a store")
			return
		}
		limit := maxJSONLimit
		if isCSV {
			limit = maxCSVLimit
		}
		p, err := parseList(r.URL.RawQuery, s.nowMS(), limit)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f := p.f
		storeDesc := p.desc
		if p.cursor.set {
			storeDesc = p.cursor.desc
			// Older rows follow the cursor in newest-first order.
			if p.older == storeDesc {
				f.After = p.cursor.storeCursor
			} else {
				f.Before = p.cursor.storeCursor
			}
		}
		f.Sort = "time"
		if storeDesc {
			f.Sort = "-time"
		}
		reverse := storeDesc != p.desc
		if (reverse || f.Before != "") && f.Limit > maxJSONLimit {
			writeError(w, http.StatusBadRequest, "limit: a page read against the cursor's order holds at most 1000 rows")
			return
		}
		var out rowWriter
		if isCSV {
			out = &csvRows{w: w, header: s.headers[kind], file: strings.TrimPrefix(r.URL.Path, apiPrefix+"/")}
		} else {
			out = &jsonRows{w: w}
		}
		var held []record.Record
		ctx, cancel := s.queryCtx(r)
		defer cancel()
		next, err := s.opts.Store.List(ctx, kind, f, func(row store.Row) error {
			if reverse {
				held = append(held, row.Record)
				return nil
			}
			return out.row(row.Record)
		})
		if err == nil && reverse {
			slices.Reverse(held)
			for _, rec := range held {
				if err = out.row(rec); err != nil {
					break
				}
			}
		}
		if err != nil {
			if errors.Is(err, store.ErrFilter) && p.cursor.set && strings.Contains(err.Error(), "cursor") {
				name := "after"
				if p.older {
					name = "before"
				}
				err = badParam(name, "%v", err)
			}
			if !out.started() {
				if _, ok := err.(*paramError); ok {
					writeError(w, http.StatusBadRequest, err.Error())
					return
				}
				s.storeError(w, r, "list "+kind.String(), err)
				return
			}
			// Rows went out already: cut the answer so that the client
			// sees a failure, not a short list.
			s.logf("list %s: %v (after the first rows; answer cut)", kind, err)
			panic(http.ErrAbortHandler)
		}
		c := cursor{storeCursor: next, desc: storeDesc, set: next != ""}
		out.end(c.String())
	}
}

// rowWriter writes the rows of a list answer as they come.
type rowWriter interface {
	row(rec record.Record) error
	started() bool
	end(next string)
}

// jsonRows writes {"rows":[...],"next":"..."}.
type jsonRows struct {
	w   http.ResponseWriter
	bw  *bufio.Writer
	buf []byte
	n   int
}

func (j *jsonRows) start() {
	j.w.Header().Set("Content-Type", "application/json")
	j.w.WriteHeader(http.StatusOK)
	j.bw = bufio.NewWriterSize(j.w, 32<<10)
	j.bw.WriteString(`{"rows":[`)
}

func (j *jsonRows) started() bool { return j.bw != nil }

func (j *jsonRows) row(rec record.Record) error {
	if j.bw == nil {
		j.start()
	}
	j.buf = j.buf[:0]
	if j.n > 0 {
		j.buf = append(j.buf, ',')
	}
	j.buf = appendData(j.buf, rec)
	j.n++
	_, err := j.bw.Write(j.buf)
	return err
}

func (j *jsonRows) end(next string) {
	if j.bw == nil {
		j.start()
	}
	j.buf = append(j.buf[:0], `],"next":`...)
	j.buf = record.AppendString(j.buf, next)
	j.buf = append(j.buf, "}\n"...)
	j.bw.Write(j.buf)
	j.bw.Flush()
}

// csvRows writes CSV: a header of field names, then one line per record.
// The cursor of the next page comes as the trailer X-Tamon-Next.
type csvRows struct {
	w      http.ResponseWriter
	file   string
	header []string
	bw     *bufio.Writer
	cw     *csv.Writer
	buf    []byte
	cells  []string
}

func (c *csvRows) start() {
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="tamon-`+c.file+`"`)
	h.Set("Trailer", "X-Tamon-Next")
	c.w.WriteHeader(http.StatusOK)
	c.bw = bufio.NewWriterSize(c.w, 32<<10)
	c.cw = csv.NewWriter(c.bw)
	c.cw.Write(c.header)
}

func (c *csvRows) started() bool { return c.bw != nil }

func (c *csvRows) row(rec record.Record) error {
	if c.bw == nil {
		c.start()
	}
	c.buf = appendData(c.buf[:0], rec)
	var err error
	if c.cells, err = csvCells(c.cells[:0], c.buf); err != nil {
		return err
	}
	return c.cw.Write(c.cells)
}

func (c *csvRows) end(next string) {
	if c.bw == nil {
		c.start()
	}
	c.cw.Flush()
	c.bw.Flush()
	c.w.Header().Set("X-Tamon-Next", next)
}
