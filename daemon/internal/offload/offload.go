// Package offload detects flow offloading that hides packets from capture.
//
// With flow offloading on, a router forwards an established connection on a
// fast path after its first packets: in the kernel ahead of the network stack
// (software offloading, an nftables flowtable), or in the switch or Ethernet
// chip (hardware offloading, a flowtable with "flags offload", or a vendor
// NAT engine outside netfilter). Packets on that path never reach the
// AF_PACKET taps that tamond reads, so such a connection is seen only at its
// start and its byte and packet counts come out too low. It is the most
// common reason a router's traffic figures are wrong, so tamond checks for it
// at start and on reload and says what the user can do.
//
// Detect looks at three things, all relative to a root folder so that tests
// can use a fake one:
//
//   - the firewall's UCI file, etc/config/firewall: options flow_offloading
//     and flow_offloading_hw of the "defaults" section, read by both fw4
//     (nftables, OpenWrt 22.03 and later) and fw3 (iptables). fw4 turns
//     hardware offloading on only together with software offloading, so
//     flow_offloading_hw alone counts for nothing. This is what the user
//     configured, whether or not the firewall has applied it yet.
//   - the flowtables the kernel has now, from "nft list flowtables", only if
//     an nft binary exists under root (usr/sbin, sbin or usr/bin); fw3
//     routers have none. Any flowtable means software offloading; one with
//     "flags offload" means hardware offloading. This also catches
//     flowtables made outside fw4's UCI options.
//   - vendor hardware NAT engines that bypass netfilter, so neither of the
//     above sees them: MediaTek HNAT (the SDK kernels' debugfs folder
//     sys/kernel/debug/hnat and module mtkhnat, the older SDKs' hw_nat, and
//     proc/mtketh, the proc folder of the SDK Ethernet driver that carries
//     HNAT; debugfs is mounted on OpenWrt by default), and Qualcomm's NSS
//     driver (qca_nss_drv), its connection manager (ecm) and the Shortcut
//     Forwarding Engine (shortcut_fe) on community ipq builds. A loaded
//     module is a hint, not proof that it accelerates traffic now.
//
// Detect never fails: what it could not check is listed in Report.Problems.
package offload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"tamon/daemon/internal/uci"
)

// Runner runs the program at path with args and returns its standard
// output. Detect calls it only for "nft list flowtables". Tests pass a fake;
// tamond passes Exec.
type Runner func(path string, args ...string) ([]byte, error)

// ExecTimeout bounds one command run by Exec.
const ExecTimeout = 5 * time.Second

// Exec runs the program directly (no shell) with ExecTimeout and returns its
// standard output. A non-zero exit is an error that quotes the program's
// standard error. It is safe for concurrent use.
func Exec(path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg != "" {
			return out, fmt.Errorf("run %s %s: %w: %s", path, strings.Join(args, " "), err, msg)
		}
		return out, fmt.Errorf("run %s %s: %w", path, strings.Join(args, " "), err)
	}
	return out, nil
}

// Report is what Detect found. The zero value means no offloading.
type Report struct {
	Software   bool     // software flow offloading: fw4/fw3 option or an nftables flowtable
	Hardware   bool     // hardware flow offloading: fw4 option or a flowtable with flags offload
	VendorHNAT bool     // a vendor NAT engine outside netfilter appears to be loaded
	Sources    []string // the evidence, one finding per item, naming file, command or path
	Advice     string   // what the user can do, in English; "" when nothing was found
	Problems   []string // checks that could not be made, and why
}

// Active reports whether any kind of offloading was found.
func (r Report) Active() bool { return r.Software || r.Hardware || r.VendorHNAT }

// FirewallFile is the firewall's UCI file, relative to the root.
const FirewallFile = "etc/config/firewall"

// nftPaths are where OpenWrt and Debian install nft, relative to the root.
func nftPaths() []string { return []string{"usr/sbin/nft", "sbin/nft", "usr/bin/nft"} }

// vendorHint is a path whose presence suggests a vendor NAT engine.
type vendorHint struct {
	path string // relative to the root
	what string
}

func vendorHints() []vendorHint {
	return []vendorHint{
		{"sys/kernel/debug/hnat", "MediaTek HNAT (debugfs)"},
		{"sys/module/mtkhnat", "MediaTek HNAT module mtkhnat"},
		{"sys/module/hw_nat", "MediaTek/Ralink HW NAT module hw_nat"},
		{"proc/mtketh", "MediaTek SDK Ethernet driver (carries HNAT)"},
		{"sys/module/qca_nss_drv", "Qualcomm NSS offload driver qca_nss_drv"},
		{"sys/module/ecm", "Qualcomm connection manager ecm (NSS/SFE)"},
		{"sys/module/shortcut_fe", "Qualcomm Shortcut Forwarding Engine shortcut_fe"},
	}
}

// Detect checks the router whose file system starts at root ("/" on the
// router) for flow offloading. run runs nft; with a nil run the flowtable
// check is skipped. Detect reads files and may run one command; it keeps no
// state and is safe for concurrent use if run is.
func Detect(root string, run Runner) Report {
	var r Report
	checkFirewall(root, &r)
	checkFlowtables(root, run, &r)
	checkVendor(root, &r)
	r.Advice = advice(&r)
	return r
}

func checkFirewall(root string, r *Report) {
	path := filepath.Join(root, FirewallFile)
	f, err := uci.ParseFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.Problems = append(r.Problems, fmt.Sprintf("read firewall settings: %v", err))
		}
		return
	}
	for i, s := range f.ByType("defaults") {
		sw, err := s.Bool("flow_offloading", false)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("read firewall settings: %v", err))
		}
		hw, err := s.Bool("flow_offloading_hw", false)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("read firewall settings: %v", err))
		}
		where := fmt.Sprintf("%s: @defaults[%d]", path, i)
		if sw {
			r.Software = true
			r.Sources = append(r.Sources, where+".flow_offloading=1")
			if hw {
				r.Hardware = true
				r.Sources = append(r.Sources, where+".flow_offloading_hw=1")
			}
		}
	}
}

func checkFlowtables(root string, run Runner, r *Report) {
	if run == nil {
		return
	}
	nft := ""
	for _, p := range nftPaths() {
		full := filepath.Join(root, p)
		if fi, err := os.Stat(full); err == nil && fi.Mode().IsRegular() {
			nft = full
			break
		}
	}
	if nft == "" {
		return
	}
	out, err := run(nft, "list", "flowtables")
	if err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("list nftables flowtables: %v", err))
		return
	}
	for _, ft := range parseFlowtables(out) {
		r.Software = true
		src := fmt.Sprintf("%s list flowtables: flowtable %s in table %s %s", nft, ft.name, ft.family, ft.table)
		if ft.offload {
			r.Hardware = true
			src += " (flags offload)"
		}
		r.Sources = append(r.Sources, src)
	}
}

func checkVendor(root string, r *Report) {
	for _, h := range vendorHints() {
		p := filepath.Join(root, h.path)
		if _, err := os.Stat(p); err == nil {
			r.VendorHNAT = true
			r.Sources = append(r.Sources, fmt.Sprintf("%s: %s", p, h.what))
		}
	}
}

// flowtable is one "flowtable NAME { ... }" block of nft's listing.
type flowtable struct {
	family, table, name string
	offload             bool
}

// parseFlowtables reads the text output of "nft list flowtables":
//
//	table inet fw4 {
//		flowtable ft {
//			hook ingress priority filter
//			devices = { lan1, wan }
//			flags offload
//		}
//	}
//
// It tolerates anything else (unknown lines are skipped, a block left open
// at the end still counts) and never allocates more than one entry per
// "flowtable" word.
func parseFlowtables(out []byte) []flowtable {
	var fts []flowtable
	family, table := "", ""
	in := -1 // index in fts of the open flowtable block, or -1
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "table" && len(f) >= 2:
			if len(f) >= 3 && f[2] != "{" {
				family, table = f[1], f[2]
			} else {
				// "table NAME {" without a family: nft's default, ip.
				family, table = "ip", f[1]
			}
			in = -1
		case f[0] == "flowtable" && len(f) >= 2 && f[1] != "{":
			fts = append(fts, flowtable{family: family, table: table, name: f[1]})
			in = len(fts) - 1
		case f[0] == "flags" && in >= 0:
			for _, w := range f[1:] {
				for flag := range strings.SplitSeq(strings.TrimSuffix(w, ";"), ",") {
					if flag == "offload" {
						fts[in].offload = true
					}
				}
			}
		case f[0] == "}" && in >= 0:
			in = -1
		}
	}
	return fts
}

func advice(r *Report) string {
	if !r.Active() {
		return ""
	}
	var b strings.Builder
	const seen = "tamon sees such a connection only at its start, so its bytes, packets and duration come out too low. "
	switch {
	case r.Hardware:
		b.WriteString("Hardware flow offloading is on: after a connection's first packets, the switch or Ethernet chip forwards it without the CPU, and packet capture never sees the rest. " + seen)
		b.WriteString("To count every packet, untick \"Hardware flow offloading\" and \"Software flow offloading\" in LuCI under Network → Firewall → General Settings, then Save & Apply " +
			"(from a shell: uci set firewall.@defaults[0].flow_offloading_hw='0'; uci set firewall.@defaults[0].flow_offloading='0'; uci commit firewall; service firewall restart). Routing then costs more CPU. ")
	case r.Software:
		b.WriteString("Software flow offloading is on: after a connection's first packets, the kernel forwards it on a fast path that packet capture does not see. " + seen)
		b.WriteString("To count every packet, untick \"Software flow offloading\" in LuCI under Network → Firewall → General Settings, then Save & Apply " +
			"(from a shell: uci set firewall.@defaults[0].flow_offloading='0'; uci commit firewall; service firewall restart). Routing then costs more CPU. ")
	}
	if r.VendorHNAT {
		b.WriteString("A vendor hardware NAT engine appears to be loaded; it forwards established connections outside the kernel's network stack, where capture cannot see them. " + seen)
		b.WriteString("To count every packet, turn it off where the firmware offers it (a setting often called HNAT, hardware acceleration or Turbo ACC), or remove its module. ")
	}
	b.WriteString("Or keep offloading and accept that offloaded flows are counted only at their start.")
	return b.String()
}
