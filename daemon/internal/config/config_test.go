package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tamon")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TCPTimeout != 300 || c.UDPTimeout != 60 || c.Timeline != 32 || c.Storage.Driver != "sqlite" || !c.Dissect {
		t.Errorf("unexpected defaults %+v", c)
	}
}

func TestLoad(t *testing.T) {
	p := write(t, `
config tamon 'main'
	list interface 'br-lan'
	list interface 'br-guest'
	option sensor 'router1'
	option tcp_timeout '120'
	option udp_timeout '30'
	option promisc '1'
	option dissect '0'

config storage 'storage'
	option driver 'mysql'
	option host '192.0.2.5'

config api 'api'
	option listen '127.0.0.1:9000'

config alias
	option mac 'AA:BB:CC:DD:EE:FF'
	option name '儿子的平板'
`)
	c, err := Load(filepath.Dir(p)) // a folder holding 'tamon'
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Interfaces, ",") != "br-lan,br-guest" || c.Sensor != "router1" || c.TCPTimeout != 120 ||
		c.UDPTimeout != 30 || !c.Promisc || c.Dissect || c.Storage.Driver != "mysql" || c.Storage.Host != "192.0.2.5" ||
		c.API.Listen != "127.0.0.1:9000" || len(c.Aliases) != 1 || c.Aliases[0].MAC != "aa:bb:cc:dd:ee:ff" ||
		c.Aliases[0].Name != "儿子的平板" {
		t.Errorf("loaded %+v", c)
	}
}

// Validate reports every problem at once, each naming its option.
func TestValidateReportsEverything(t *testing.T) {
	p := write(t, `
config tamon 'main'
	option tcp_timeout 'soon'
	option udp_timeout '0'
	option timeline '999'
	option dissect 'sometimes'

config storage 'storage'
	option driver 'oracle'

config api 'api'
	option tls 'maybe'

config alias
	option mac 'nonsense'
`)
	_, err := Load(p)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"tcp_timeout", "main.udp_timeout: 0 is out of range", "main.timeline: 999",
		`storage.driver: "oracle"`, `api.tls: "maybe"`, "dissect", `mac "nonsense"`, "name is empty", p} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestSyntaxErrorNamesFileAndLine(t *testing.T) {
	p := write(t, "config tamon 'main'\n\toption tcp_timeout '300\n")
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p+":2") {
		t.Fatalf("error %v does not name %s:2", err, p)
	}
}
