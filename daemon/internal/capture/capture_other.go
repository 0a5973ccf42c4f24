//go:build !linux

package capture

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// OpenLive is only implemented on Linux (AF_PACKET); elsewhere it returns an
// error.
func OpenLive(ifaces []string, opt LiveOptions) (Source, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("open capture: no interface given")
	}
	name := strings.Join(ifaces, ",")
	if _, err := opt.withDefaults(os.Getpagesize()); err != nil {
		return nil, fmt.Errorf("open capture %s: %w", name, err)
	}
	return nil, fmt.Errorf("open capture %s: live capture is only supported on Linux", name)
}
