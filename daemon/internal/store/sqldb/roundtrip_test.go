//go:build !mips && !mipsle

package sqldb

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	_ "modernc.org/sqlite"

	"tamon/daemon/internal/record"
)

// fill sets every field of the struct v points to, recursively.
func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Pointer:
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n+i*7)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("v%d-文字", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-int64(n) - 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n%200) + 1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), n+i)
		}
		v.Set(s)
	default:
		panic("fill: " + v.Kind().String())
	}
}

// TestEveryField: a record with every field set comes back equal: no field
// is missing from a table, its put or its get.
func TestEveryField(t *testing.T) {
	db, _ := openSQLite(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	recs := []record.Record{&record.Session{}, &record.DNS{}, &record.HTTP{}, &record.TLS{}, &record.ICMP{}, &record.App{}, &record.Device{}}
	for i, r := range recs {
		fill(reflect.ValueOf(r), i*100)
		res, err := db.InsertBatch(ctx, r.Kind(), []Entry{{Run: 1, Seq: int64(i), Rec: r}})
		if err != nil || res.Inserted != 1 {
			t.Fatalf("%s: %+v, %v", r.Kind(), res, err)
		}
		var got []record.Record
		if _, err := db.List(ctx, r.Kind(), Filter{}, func(row Row) error {
			got = append(got, row.Record)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], r) {
			t.Errorf("%s:\n got  %+v\n want %+v", r.Kind(), got, r)
		}
	}
}
