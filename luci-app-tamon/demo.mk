# luci-app-tamon: "make demo" and the JS lint, for the top-level Makefile
# ("include luci-app-tamon/demo.mk").
#
# make demo        tamond replays DEMO_CAPTURE at DEMO_SPEED times its pace
#                  (idle gaps cut to 1 s: about 6 minutes for the default
#                  capture) into its embedded SQLite store and serves its API
#                  on a free loopback port; the harness serves the LuCI pages
#                  on http://$(DEMO_ADDR)/cgi-bin/luci/ (?lang=zh_Hans for
#                  Chinese). Ctrl-C stops both. With
#                  DEMO_DAEMON=http://127.0.0.1:8321 the pages use a tamond
#                  that already runs instead.
# make luci-lint   eslint (pinned in luci-app-tamon/package.json) on the views.
# make luci-test   the harness tests: catalogue, shim lint, ubus/UCI, the
#                  browser tests with the real tamond (needs Debian's
#                  chromium, npm).

GO             ?= go
DEMO_CAPTURE   ?= ../shared/corpus/pcaps/mercury_capture2.pcap
DEMO_SPEED     ?= 1
DEMO_ADDR      ?= 127.0.0.1:8080
DEMO_DAEMON    ?=

.PHONY: demo luci-lint luci-test

demo:
ifeq ($(DEMO_DAEMON),)
	$(GO) run ./luci-app-tamon/harness/cmd/tamon-luci-demo -app luci-app-tamon \
		-capture $(DEMO_CAPTURE) -speed $(DEMO_SPEED) -addr $(DEMO_ADDR)
else
	$(GO) run ./luci-app-tamon/harness/cmd/tamon-luci-demo -app luci-app-tamon \
		-daemon $(DEMO_DAEMON) -addr $(DEMO_ADDR)
endif

luci-lint:
	cd luci-app-tamon && npm ci --no-audit --no-fund && printf 'module luci-app-tamon/node_modules\n' > node_modules/go.mod && npx eslint --max-warnings 0 htdocs

luci-test:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./luci-app-tamon/...
