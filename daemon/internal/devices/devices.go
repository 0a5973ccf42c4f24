// Package devices keeps the inventory of LAN devices: addresses, vendor,
// names, OS hints, aliases, randomised MACs, traffic and visited sites.
//
// # Data in
//
// The engine's workers turn packets into [Observation]s (DHCP with
// [FromDHCP], mDNS with [FromMDNS], neighbour entries, and traffic summed
// per device with a [Tally]), which the merger applies in packet order
// with [Inventory.Apply] and [Inventory.ApplyTraffic]. Finished
// records feed the per-device breakdowns: [Inventory.Session] (bytes by app
// and host, visited sites), [Inventory.DNS] (visited sites) and
// [Inventory.UserAgent] (OS hints). On a router, [Inventory.LoadLeases] and
// [Inventory.LoadNeighbours] read dnsmasq's lease file and the neighbour
// tables, and [Inventory.SetAliases] takes the aliases of the UCI
// configuration (on start and on SIGHUP).
//
// # Data out
//
// A record.Device is emitted when a device is first seen and when one of its
// facts changes: alias, host name, vendor, addresses (a new one), OS,
// DHCP fingerprint, randomised flag. Counters (bytes, last seen) change on
// every packet and do not cause a record; a device whose counters moved is
// emitted again at most once per Config.RefreshEvery, so the store stays
// close. [Inventory.Devices], [Inventory.History], [Inventory.Usage] and
// [Inventory.Rates] answer the API from memory.
//
// # Identity and randomised MACs
//
// A device is known by its primary MAC: the first MAC it was seen with. A
// MAC with the locally administered bit (0x02) is marked randomised and has
// no vendor. When a DHCP message from a new randomised MAC carries the
// client identifier of a known device, or (for a device that was itself
// randomised, has been quiet for Config.LinkQuiet, and has a compatible
// DHCP fingerprint) its host name, the new MAC is linked to that device:
// from then on observations about either MAC update the one device, whose
// record keeps the primary MAC. [Inventory.Primary] maps any MAC to its
// primary one, [Inventory.Links] lists the others. A host-name link needs
// exactly one candidate and a name that is not generic ("iPhone",
// "android", "localhost", ...). Traffic seen from the new MAC before its
// DHCP message may already have produced a record of its own; the link
// then merges its counters, addresses and history into the device.
//
// A device not seen for Config.PurgeAfter leaves the live inventory with
// [Inventory.Purge]; what was written to the store stays there.
//
// # Concurrency
//
// An Inventory is owned by one goroutine, the engine's merger: Apply,
// Session, DNS, UserAgent, SetAliases, the Load methods, Purge and
// EmitPending must all be called from it. The reading methods (Devices,
// Device, Name, Primary, History, Usage, Rates, Stats) may be called from
// any goroutine at any time: every method holds the Inventory's mutex while
// it runs (a plain sync.Mutex: readers are rare and quick, and the owner's
// hot path pays the least for it), and readers get copies.
// emit callbacks run after the lock is released, in the owner's goroutine,
// and may call any method; each emitted record is new and belongs to the
// callee.
//
// Time is packet time (Unix milliseconds), as in the rest of the engine.
package devices

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"tamon/daemon/internal/record"
)

// Config sets up an Inventory. Zero fields take the defaults in brackets.
type Config struct {
	Sensor string // record.Device.Sensor

	// PurgeAfter removes a device from the live inventory once it has not
	// been seen for this long [7 days]. Its records stay in the store.
	PurgeAfter time.Duration

	// LeasesPath is dnsmasq's lease file, read by LoadLeaseFile
	// [/tmp/dhcp.leases].
	LeasesPath string

	// Interfaces limits neighbour-table entries to these devices (the LAN
	// side: br-lan, ...); empty means every interface.
	Interfaces []string

	// RateWindow is the span that Rates averages over [10 s, at most 30 s].
	RateWindow time.Duration

	// HistoryDays is how many days of visited sites are kept in memory,
	// today included [7].
	HistoryDays int

	// MaxDevices bounds the live inventory; past it, the device seen
	// longest ago is dropped [4096].
	MaxDevices int

	// MaxHosts bounds the per-device counters by host and by app, each
	// [512]; further names are counted under Other.
	MaxHosts int

	// MaxVisits bounds the visited-sites entries (one per name and day) of
	// a device [1024]; past it the oldest day is dropped.
	MaxVisits int

	// LinkQuiet is how long a randomised device must have been silent
	// before a new randomised MAC with the same host name is linked to it
	// [1 min]. A client identifier match links at once.
	LinkQuiet time.Duration

	// RefreshEvery is the least time between two records of a device whose
	// facts did not change but whose counters did [10 min].
	RefreshEvery time.Duration

	// Location sets the day boundaries of the visited-sites history
	// [time.Local].
	Location *time.Location

	// NoBreakdowns keeps no per-record breakdowns: Session and DNS still
	// mark the device seen, and UserAgent still gives its OS hint, but the
	// counters by host and by app and the visited sites stay empty, so
	// Usage and History answer nothing. Device records do
	// not change. For a daemon that serves no API (tamond -r), where
	// nothing would ever read them.
	NoBreakdowns bool
}

// Defaults of Config.
const (
	DefaultPurgeAfter   = 7 * 24 * time.Hour
	DefaultLeasesPath   = "/tmp/dhcp.leases"
	DefaultRateWindow   = 10 * time.Second
	DefaultHistoryDays  = 7
	DefaultMaxDevices   = 4096
	DefaultMaxHosts     = 512
	DefaultMaxVisits    = 1024
	DefaultLinkQuiet    = time.Minute
	DefaultRefreshEvery = 10 * time.Minute

	// Other names the counter that takes the hosts and apps of a device
	// past Config.MaxHosts.
	Other = "(other)"

	rateSlots = 32 // one-second buckets; RateWindow is at most rateSlots-2 s
	maxV4     = 4  // IPv4 addresses kept per device
	maxV6     = 8  // IPv6 addresses kept per device
)

func (c *Config) fill() {
	if c.PurgeAfter <= 0 {
		c.PurgeAfter = DefaultPurgeAfter
	}
	if c.LeasesPath == "" {
		c.LeasesPath = DefaultLeasesPath
	}
	if c.RateWindow < time.Second {
		c.RateWindow = DefaultRateWindow
	}
	c.RateWindow = min(c.RateWindow.Truncate(time.Second), (rateSlots-2)*time.Second)
	if c.HistoryDays <= 0 {
		c.HistoryDays = DefaultHistoryDays
	}
	if c.MaxDevices <= 0 {
		c.MaxDevices = DefaultMaxDevices
	}
	if c.MaxHosts <= 0 {
		c.MaxHosts = DefaultMaxHosts
	}
	if c.MaxVisits <= 0 {
		c.MaxVisits = DefaultMaxVisits
	}
	if c.LinkQuiet <= 0 {
		c.LinkQuiet = DefaultLinkQuiet
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = DefaultRefreshEvery
	}
	if c.Location == nil {
		c.Location = time.Local
	}
}

// ObsKind says what an Observation reports.
type ObsKind uint8

// Observation kinds.
const (
	// ObsTraffic: bytes sent (Up) and received (Down) by the device at MAC
	// from address IP (optional), aggregated by the worker over a batch.
	ObsTraffic ObsKind = iota + 1
	// ObsDHCP: a DHCP message about the client MAC (see FromDHCP).
	ObsDHCP
	// ObsMDNS: an mDNS message sent by MAC (see FromMDNS).
	ObsMDNS
	// ObsNeighbour: an ARP/NDP mapping of IP to MAC, from the wire or the
	// neighbour tables.
	ObsNeighbour
	// ObsLease: a dnsmasq lease (LoadLeases makes these).
	ObsLease
)

// Observation is one fact about a device, made by a worker and applied by
// the merger. Apply reads it and keeps no reference to it or its slices, so
// the caller may reuse it. Strings are kept: do not pass strings backed by
// a buffer that will be overwritten.
type Observation struct {
	Kind ObsKind
	TS   int64   // packet time, Unix ms
	MAC  [6]byte // the device (for DHCP: the client hardware address)

	// IP is an address of the device: source address of its traffic, DHCP
	// address, neighbour entry. Leave it invalid when unknown. The engine
	// must only pass the device's own addresses (never a remote server's).
	IP    netip.Addr
	Addrs []netip.Addr // more addresses (mDNS A/AAAA records)

	Hostname    string // DHCP option 12 (or 81), mDNS host name, lease name
	VendorClass string // DHCP option 60
	Fingerprint string // DHCP option 55 as "1,3,6,15"
	ClientID    string // DHCP option 61 as hex octets joined by ':', as in dnsmasq's lease file
	Model       string // mDNS model

	// Stale marks a neighbour entry that does not show the device is
	// there now (STALE in the kernel's table): it fills addresses but does
	// not count as a sighting.
	Stale bool

	Up, Down uint64 // ObsTraffic: IP bytes sent and received by the device
}

// Name sources, for choosing the host name.
const (
	nameDHCP  = iota // DHCP option 12 / 81
	nameLease        // dnsmasq lease (the admin's static name, or the client's)
	nameMDNS
	nameSources
)

// named is a host name and the time it was last reported.
type named struct {
	name string
	ts   int64
}

// addrSeen is one address of a device and when it was last seen.
type addrSeen struct {
	addr netip.Addr
	last int64
}

// bucket counts bytes of one second of packet time.
type bucket struct {
	sec      int64
	up, down uint64
}

// counter is a per-device usage total of one host or app.
type counter struct {
	name            string // its key in the map
	sessions, bytes uint64
}

// visitKey identifies a visited-sites entry: a name on a day.
type visitKey struct {
	name string
	day  int64
}

// device is one inventory entry. It is only touched with Inventory.mu held.
type device struct {
	mac     [6]byte
	macText string
	links   [][6]byte // other MACs linked to this device, oldest first

	alias       string
	names       [nameSources]named
	vendor      string
	fingerprint string
	vendorClass string
	clientID    string
	model       string
	hints       [hintSources]string
	os          string
	lastUA      string

	v4     [maxV4]addrSeen
	n4     int
	v6     [maxV6]addrSeen
	n6     int
	first  int64
	last   int64
	up     uint64
	down   uint64
	rates  [rateSlots]bucket
	apps   map[string]*counter
	hosts  map[string]*counter
	visits map[visitKey]*Visit
	// lastVisit is the entry visitEntry touched last (nil after entries
	// were deleted): a device's records come in runs for the same name.
	lastVisit *Visit
	// fullDay is a day for which the visits were found full (MaxVisits)
	// with no older day to drop: more names that day are dropped without
	// scanning again. 0 when unknown; reset when entries are deleted.
	fullDay int64
	// lastHost is the hosts counter that Session touched last.
	lastHost *counter

	emitted   bool  // a record was made at least once
	dirty     bool  // facts changed since the last record
	lastEmit  int64 // packet time of the last record
	emitBytes uint64
	emitLast  int64
}

// Inventory is the set of devices seen on the LAN. See the package comment
// for who may call what.
type Inventory struct {
	cfg Config

	mu       sync.Mutex
	devs     map[uint64]*device // by packed primary MAC (packMAC)
	lastDev  *device            // the device touchText found last (nil once removed or linked)
	links    map[uint64][6]byte // packed linked MAC -> primary MAC
	clientID map[string][6]byte // DHCP client id -> primary MAC
	aliases  map[[6]byte]string
	now      int64 // latest packet time seen
	stats    Stats

	refreshMs, quietMs int64 // cfg.RefreshEvery and cfg.LinkQuiet in ms

	out []*record.Device // records to emit once the lock is released (takeOut)

	dayStart, dayEnd int64 // cached day of the last dayOf call
}

// Stats counts what the inventory did, for the status API.
type Stats struct {
	Devices       int    // in the live inventory
	Created       uint64 // devices created
	Linked        uint64 // randomised MACs linked to a known device
	Purged        uint64 // devices removed by Purge
	Evicted       uint64 // devices dropped for MaxDevices
	VisitsDropped uint64 // visited-sites entries dropped for MaxVisits
}

// New returns an empty Inventory.
func New(cfg Config) *Inventory {
	cfg.fill()
	return &Inventory{
		cfg:       cfg,
		refreshMs: cfg.RefreshEvery.Milliseconds(),
		quietMs:   cfg.LinkQuiet.Milliseconds(),
		devs:      make(map[uint64]*device),
		links:     make(map[uint64][6]byte),
		clientID:  make(map[string][6]byte),
		aliases:   make(map[[6]byte]string),
	}
}

// Config returns the configuration in use, defaults filled in.
func (inv *Inventory) Config() Config { return inv.cfg }

// Apply applies one observation, then calls emit (if not nil) with the
// record of each device that was first seen or whose facts changed. It is
// cheap for ObsTraffic of a known device: a map lookup and a few additions.
// Observations with a multicast or all-zero MAC are ignored.
func (inv *Inventory) Apply(o *Observation, emit func(*record.Device)) {
	if !usable(o.MAC) {
		return
	}
	inv.mu.Lock()
	inv.apply(o)
	out := inv.takeOut()
	inv.mu.Unlock()
	flush(out, emit)
}

// ApplyTraffic applies the traffic sums of a batch (one ObsTraffic each,
// see [Tally]) in the order given, under one lock acquisition.
func (inv *Inventory) ApplyTraffic(ts []Traffic, emit func(*record.Device)) {
	inv.mu.Lock()
	for i := range ts {
		t := &ts[i]
		if usable(t.MAC) {
			o := Observation{Kind: ObsTraffic, MAC: t.MAC, IP: t.IP, TS: t.TS, Up: t.Up, Down: t.Down}
			inv.apply(&o)
		}
	}
	out := inv.takeOut()
	inv.mu.Unlock()
	flush(out, emit)
}

// EmitPending calls emit with the record of every device that changed
// without a record yet: devices created or updated by Session, DNS or
// UserAgent, which take no emit function. The merger may call it on its
// tick; Apply does the same for the device it touches.
func (inv *Inventory) EmitPending(emit func(*record.Device)) {
	inv.mu.Lock()
	// Called for every batch: look first (no allocation, no sorting)
	// whether any device is due.
	due := false
	for _, d := range inv.devs {
		if inv.due(d, inv.now) {
			due = true
			break
		}
	}
	if due {
		for _, d := range inv.sorted() {
			inv.maybeEmit(d, inv.now)
		}
	}
	out := inv.takeOut()
	inv.mu.Unlock()
	flush(out, emit)
}

// takeOut returns the queued records and empties the queue. The slice is
// handed over, not reused, so that an emit callback may call Apply again.
func (inv *Inventory) takeOut() []*record.Device {
	out := inv.out
	inv.out = nil
	return out
}

// flush calls emit with each record; it runs without the lock.
func flush(out []*record.Device, emit func(*record.Device)) {
	if emit == nil {
		return
	}
	for _, r := range out {
		emit(r)
	}
}

// apply is Apply with the lock held.
func (inv *Inventory) apply(o *Observation) {
	if o.TS > inv.now {
		inv.now = o.TS
	}
	d := inv.find(o.MAC)
	if d == nil {
		d = inv.create(o.MAC, o.TS)
	}
	seen := o.Kind != ObsLease && !(o.Kind == ObsNeighbour && o.Stale)
	if seen {
		d.seen(o.TS)
	}
	switch o.Kind {
	case ObsTraffic:
		d.up += o.Up
		d.down += o.Down
		sec := o.TS / 1000
		b := &d.rates[sec&(rateSlots-1)]
		if b.sec != sec {
			*b = bucket{sec: sec}
		}
		b.up += o.Up
		b.down += o.Down
	case ObsDHCP:
		d = inv.dhcp(d, o)
	case ObsMDNS:
		if o.Hostname != "" {
			d.setName(nameMDNS, o.Hostname, o.TS)
		}
		if o.Model != "" && o.Model != d.model {
			d.model = strings.Clone(o.Model)
			d.setHint(hintModel, modelHint(d.model))
		}
		for _, a := range o.Addrs {
			d.addAddr(a, o.TS)
		}
	case ObsLease:
		if o.Hostname != "" {
			d.setName(nameLease, o.Hostname, o.TS)
		}
		if o.ClientID != "" && d.clientID == "" {
			d.clientID = strings.Clone(o.ClientID)
			inv.clientID[d.clientID] = d.mac
		}
	}
	if o.IP.IsValid() {
		d.addAddr(o.IP, o.TS)
	}
	inv.maybeEmit(d, o.TS)
}

// dhcp applies a DHCP observation to d and returns the device it belongs
// to: d, or the known device that d's MAC was just linked to.
func (inv *Inventory) dhcp(d *device, o *Observation) *device {
	if p := inv.linkTarget(d, o); p != nil {
		inv.link(d, p)
		d = p
	}
	if o.ClientID != "" && o.ClientID != d.clientID {
		if d.clientID != "" && inv.clientID[d.clientID] == d.mac {
			delete(inv.clientID, d.clientID)
		}
		d.clientID = strings.Clone(o.ClientID)
		inv.clientID[d.clientID] = d.mac
	}
	if o.Hostname != "" {
		d.setName(nameDHCP, o.Hostname, o.TS)
	}
	if o.VendorClass != "" && o.VendorClass != d.vendorClass {
		d.vendorClass = strings.Clone(o.VendorClass)
		d.setHint(hintVendorClass, vendorClassHint(d.vendorClass))
	}
	if o.Fingerprint != "" && o.Fingerprint != d.fingerprint {
		d.fingerprint = strings.Clone(o.Fingerprint)
		d.setHint(hintFingerprint, fingerprintHint(d.fingerprint))
		d.dirty = true
	}
	return d
}

// genericName reports whether many devices share the host name name, so
// that it never links two MACs.
func genericName(name string) bool {
	switch strings.ToLower(name) {
	case "", "*", "localhost", "iphone", "ipad", "android", "unknown", "espressif", "none", "client":
		return true
	}
	return false
}

// linkTarget returns the known device that a DHCP observation shows d's
// MAC belongs to, or nil. Only a randomised MAC that has no DHCP identity
// of its own yet is linked.
func (inv *Inventory) linkTarget(d *device, o *Observation) *device {
	if !Randomized(d.mac) || len(d.links) > 0 || d.clientID != "" || d.names[nameDHCP].name != "" {
		return nil
	}
	if o.ClientID != "" {
		if pm, ok := inv.clientID[o.ClientID]; ok && pm != d.mac {
			return inv.devs[packMAC(pm)]
		}
	}
	if genericName(o.Hostname) {
		return nil
	}
	var found *device
	for _, c := range inv.devs {
		if c == d || !Randomized(c.mac) || !strings.EqualFold(c.hostname(), o.Hostname) {
			continue
		}
		if o.TS-c.last < inv.quietMs {
			continue // still active: another device with the same name
		}
		if c.fingerprint != "" && o.Fingerprint != "" && c.fingerprint != o.Fingerprint {
			continue
		}
		if found != nil {
			return nil // ambiguous
		}
		found = c
	}
	return found
}

// link merges device d (a randomised MAC seen anew) into p, the device it
// belongs to, and makes d's MAC point to p.
func (inv *Inventory) link(d, p *device) {
	if inv.lastDev == d {
		inv.lastDev = nil
	}
	delete(inv.devs, packMAC(d.mac))
	for _, m := range append(d.links, d.mac) {
		inv.links[packMAC(m)] = p.mac
		p.links = append(p.links, m)
	}
	if d.clientID != "" && inv.clientID[d.clientID] == d.mac {
		inv.clientID[d.clientID] = p.mac
	}
	p.first = min(p.first, d.first)
	p.last = max(p.last, d.last)
	p.up += d.up
	p.down += d.down
	for i := range d.rates {
		b, db := &p.rates[i], &d.rates[i]
		switch {
		case db.sec == b.sec:
			b.up += db.up
			b.down += db.down
		case db.sec > b.sec:
			*b = *db
		}
	}
	for _, a := range d.v4[:d.n4] {
		p.addAddr(a.addr, a.last)
	}
	for _, a := range d.v6[:d.n6] {
		p.addAddr(a.addr, a.last)
	}
	for i, n := range d.names {
		if n.ts > p.names[i].ts && n.name != "" {
			p.names[i] = n
		}
	}
	for name, c := range d.apps {
		inv.count(&p.apps, name, c.sessions, c.bytes)
	}
	for name, c := range d.hosts {
		inv.count(&p.hosts, name, c.sessions, c.bytes)
	}
	for k, v := range d.visits {
		inv.visitEntry(p, k.name, k.day, v.FirstSeen, v.LastSeen, v.Sessions, v.Bytes, v.Lookups)
	}
	if p.alias == "" {
		p.alias = inv.aliasOf(p)
	}
	p.dirty = true
	inv.stats.Linked++
}

// find returns the device of mac (directly or through a link), or nil.
func (inv *Inventory) find(mac [6]byte) *device {
	k := packMAC(mac)
	if d := inv.devs[k]; d != nil {
		return d
	}
	if len(inv.links) > 0 {
		if p, ok := inv.links[k]; ok {
			return inv.devs[packMAC(p)]
		}
	}
	return nil
}

// create adds a device for mac, first seen at ts.
func (inv *Inventory) create(mac [6]byte, ts int64) *device {
	if len(inv.devs) >= inv.cfg.MaxDevices {
		inv.evictOldest()
	}
	d := &device{mac: mac, macText: FormatMAC(mac), first: ts, last: ts, vendor: Vendor(mac)}
	for i := range d.rates {
		d.rates[i].sec = -1
	}
	d.alias = inv.aliasOf(d)
	inv.devs[packMAC(mac)] = d
	inv.stats.Created++
	return d
}

// evictOldest drops the device seen longest ago.
func (inv *Inventory) evictOldest() {
	var old *device
	for _, d := range inv.devs {
		if old == nil || d.last < old.last || d.last == old.last && string(d.mac[:]) < string(old.mac[:]) {
			old = d
		}
	}
	if old != nil {
		inv.remove(old)
		inv.stats.Evicted++
	}
}

// remove deletes d and the indexes that point to it.
func (inv *Inventory) remove(d *device) {
	if inv.lastDev == d {
		inv.lastDev = nil
	}
	delete(inv.devs, packMAC(d.mac))
	for _, m := range d.links {
		delete(inv.links, packMAC(m))
	}
	if d.clientID != "" && inv.clientID[d.clientID] == d.mac {
		delete(inv.clientID, d.clientID)
	}
}

// seen records a sighting at ts.
func (d *device) seen(ts int64) {
	if ts > d.last {
		d.last = ts
	}
	if ts < d.first {
		d.first = ts
	}
}

// setName records a host name from source src.
func (d *device) setName(src int, name string, ts int64) {
	n := &d.names[src]
	if n.ts > ts {
		return
	}
	n.ts = ts
	if n.name == name {
		return
	}
	old := d.hostname()
	n.name = strings.Clone(name)
	if d.hostname() != old {
		d.dirty = true
	}
}

// hostname is the name of the device: the latest of the DHCP and lease
// names, else the mDNS name.
func (d *device) hostname() string {
	dh, le := d.names[nameDHCP], d.names[nameLease]
	switch {
	case dh.name != "" && (le.name == "" || dh.ts >= le.ts):
		return dh.name
	case le.name != "":
		return le.name
	}
	return d.names[nameMDNS].name
}

// setHint records an OS hint and recomputes the os field.
func (d *device) setHint(src int, hint string) {
	if d.hints[src] == hint {
		return
	}
	d.hints[src] = hint
	if os := composeOS(&d.hints); os != d.os {
		d.os = os
		d.dirty = true
	}
}

// addAddr records that the device uses a at ts. A new address is a new
// fact; when the list is full the least recently seen one makes room.
func (d *device) addAddr(a netip.Addr, ts int64) {
	list, n := d.v6[:], &d.n6
	if a.Is4() {
		list, n = d.v4[:], &d.n4
	}
	for i := range list[:*n] {
		if list[i].addr == a {
			if ts > list[i].last {
				list[i].last = ts
			}
			return
		}
	}
	// A new address: IPv4-mapped IPv6 counts as IPv4; addresses that
	// cannot be a device's are ignored.
	if a.Is4In6() {
		d.addAddr(a.Unmap(), ts)
		return
	}
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return
	}
	d.dirty = true
	if *n < len(list) {
		list[*n] = addrSeen{a, ts}
		*n++
		return
	}
	oldest := 0
	for i := range list {
		if list[i].last < list[oldest].last {
			oldest = i
		}
	}
	list[oldest] = addrSeen{a, ts}
}

// maybeEmit queues d's record if d is new, changed, or due for a refresh.
func (inv *Inventory) maybeEmit(d *device, ts int64) {
	if !inv.due(d, ts) {
		return
	}
	r := inv.recordOf(d)
	d.emitted, d.dirty = true, false
	d.lastEmit, d.emitBytes, d.emitLast = ts, d.up+d.down, d.last
	inv.out = append(inv.out, r)
}

// due reports whether d needs a record at ts: it is new or changed, or its
// traffic or last-seen time moved and its last record is refreshMs old.
func (inv *Inventory) due(d *device, ts int64) bool {
	return !d.emitted || d.dirty ||
		ts-d.lastEmit >= inv.refreshMs && (d.up+d.down != d.emitBytes || d.last != d.emitLast)
}

// recordOf builds a new record of d.
func (inv *Inventory) recordOf(d *device) *record.Device {
	r := &record.Device{
		Sensor:          inv.cfg.Sensor,
		MAC:             d.macText,
		Alias:           d.alias,
		Hostname:        d.hostname(),
		Vendor:          d.vendor,
		OS:              d.os,
		DHCPFingerprint: d.fingerprint,
		Randomized:      Randomized(d.mac),
		FirstSeen:       d.first,
		LastSeen:        d.last,
		BytesUp:         d.up,
		BytesDown:       d.down,
	}
	r.IPv4 = addrTexts(d.v4[:d.n4])
	r.IPv6 = addrTexts(d.v6[:d.n6])
	return r
}

// addrTexts returns the addresses, most recently seen first.
func addrTexts(list []addrSeen) []string {
	if len(list) == 0 {
		return nil
	}
	s := slices.Clone(list)
	slices.SortFunc(s, func(a, b addrSeen) int {
		if c := cmp.Compare(b.last, a.last); c != 0 {
			return c
		}
		return a.addr.Compare(b.addr)
	})
	out := make([]string, len(s))
	for i, a := range s {
		out[i] = a.addr.String()
	}
	return out
}

// sorted returns the devices in MAC order.
func (inv *Inventory) sorted() []*device {
	out := make([]*device, 0, len(inv.devs))
	for _, d := range inv.devs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *device) int { return strings.Compare(a.macText, b.macText) })
	return out
}

// SetAliases replaces the aliases (MAC → name, from the UCI "config alias"
// sections) and calls emit with the record of every device whose alias was
// set, changed or removed. MACs are accepted in either case with ':' or '-';
// entries with a malformed MAC or an empty name are ignored. An alias of a
// linked MAC names its device.
func (inv *Inventory) SetAliases(aliases map[string]string, emit func(*record.Device)) {
	m := make(map[[6]byte]string, len(aliases))
	for k, v := range aliases {
		if mac, ok := ParseMAC(k); ok && v != "" {
			m[mac] = strings.Clone(v)
		}
	}
	inv.mu.Lock()
	inv.aliases = m
	for _, d := range inv.sorted() {
		if a := inv.aliasOf(d); a != d.alias {
			d.alias = a
			d.dirty = true
			inv.maybeEmit(d, inv.now)
		}
	}
	out := inv.takeOut()
	inv.mu.Unlock()
	flush(out, emit)
}

// aliasOf returns the alias of d's primary MAC, else of its linked MACs.
func (inv *Inventory) aliasOf(d *device) string {
	if a, ok := inv.aliases[d.mac]; ok {
		return a
	}
	for _, m := range d.links {
		if a, ok := inv.aliases[m]; ok {
			return a
		}
	}
	return ""
}

// Purge removes the devices not seen since now - PurgeAfter, the visited
// sites older than HistoryDays and the addresses not seen for PurgeAfter.
// It emits nothing: the store keeps what was written.
func (inv *Inventory) Purge(now int64) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	limit := now - inv.cfg.PurgeAfter.Milliseconds()
	oldestDay := inv.dayOf(now)
	for range inv.cfg.HistoryDays - 1 {
		oldestDay = inv.dayOf(oldestDay - 1)
	}
	for _, d := range inv.devs {
		if d.last < limit {
			inv.remove(d)
			inv.stats.Purged++
			continue
		}
		for k := range d.visits {
			if k.day < oldestDay {
				delete(d.visits, k)
			}
		}
		d.lastVisit, d.fullDay = nil, 0
		d.n4 = keepAddrs(d.v4[:d.n4], limit)
		d.n6 = keepAddrs(d.v6[:d.n6], limit)
	}
}

// keepAddrs drops the addresses last seen before limit and returns how many
// remain at the front of list.
func keepAddrs(list []addrSeen, limit int64) int {
	n := 0
	for _, a := range list {
		if a.last >= limit {
			list[n] = a
			n++
		}
	}
	return n
}

// Devices returns a record of every device in the live inventory, in MAC
// order, with current counters. The records are new.
func (inv *Inventory) Devices() []record.Device {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]record.Device, 0, len(inv.devs))
	for _, d := range inv.sorted() {
		out = append(out, *inv.recordOf(d))
	}
	return out
}

// Device returns the record of the device that mac (primary or linked)
// belongs to, and false if there is none.
func (inv *Inventory) Device(mac string) (record.Device, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.findText(mac)
	if d == nil {
		return record.Device{}, false
	}
	return *inv.recordOf(d), true
}

// Name returns how a device is shown: its alias, else its host name, else
// "" (unknown MAC or no name).
func (inv *Inventory) Name(mac string) string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.findText(mac)
	switch {
	case d == nil:
		return ""
	case d.alias != "":
		return d.alias
	}
	return d.hostname()
}

// Primary returns the primary MAC of the device that mac belongs to (mac
// itself for a primary MAC), or "" when no device has it.
func (inv *Inventory) Primary(mac string) string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if d := inv.findText(mac); d != nil {
		return d.macText
	}
	return ""
}

// Links returns the MACs linked to the device that mac belongs to, oldest
// first, without the primary MAC.
func (inv *Inventory) Links(mac string) []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.findText(mac)
	if d == nil {
		return nil
	}
	out := make([]string, len(d.links))
	for i, m := range d.links {
		out[i] = FormatMAC(m)
	}
	return out
}

// MACs returns every MAC of the device that mac (primary or linked)
// belongs to: its primary MAC first, then the randomised MACs linked to
// it, oldest first; just mac when no device has it; nil when mac is not a
// MAC. All in the records' form (lower-case, colon-separated), so that a
// store query over them finds the records of every MAC the device used.
func (inv *Inventory) MACs(mac string) []string {
	m, ok := ParseMAC(mac)
	if !ok {
		return nil
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	d := inv.find(m)
	if d == nil {
		return []string{FormatMAC(m)}
	}
	out := make([]string, 0, 1+len(d.links))
	out = append(out, d.macText)
	for _, l := range d.links {
		out = append(out, FormatMAC(l))
	}
	return out
}

// Stats returns the inventory's counters.
func (inv *Inventory) Stats() Stats {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	s := inv.stats
	s.Devices = len(inv.devs)
	return s
}

func (inv *Inventory) findText(mac string) *device {
	m, ok := ParseMAC(mac)
	if !ok {
		return nil
	}
	return inv.find(m)
}
