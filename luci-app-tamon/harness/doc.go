// Package harness is luci-app-tamon's test bench: a LuCI-shaped web server
// that runs the app's views unmodified in a browser without a router.
//
// It is written for tamon from the behaviour described in
// shared/reference/openwrt.md; no OpenWrt code is copied. It has:
//
//   - Server: the page route (a page shaped like LuCI's view template, with
//     the tabs of the app's menu.d file and window.TR from its .po
//     catalogue), the app's static files served as they are, a clean-room
//     shim of the LuCI JS runtime (shim/: luci.js with the module loader,
//     E(), dom, view, poll, request and _(); form.js, rpc.js, uci.js, ui.js),
//     the /ubus JSON-RPC endpoint (session, uci, luci.tamon, network.device)
//     checked against the app's acl.d file, and Save & Apply.
//   - UCI: a folder of UCI files with per-session staging, read with
//     tamon/daemon/internal/uci and written with WritePackage.
//   - StartBenchDaemon: the real tamond behind the pages, replaying a capture
//     (tamond -r FILE -replay SPEED) into its SQLite store, its API on a
//     loopback port; its ubus and uci commands are RouterCLI, answered by the
//     Server's /harness/exec from the same sessions and UCI folder.
//   - FakeAPI: docs/api.md served from records of the real engine over a
//     capture, including the /stream WebSocket (a small RFC 6455 server on
//     the standard library), for what a bench cannot make the real daemon
//     show (flow offloading, made-up hostile records).
//
// The browser tests (browser_test.go) drive Debian's Chromium through every
// page with chromedp and write screenshots.
package harness
