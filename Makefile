# tamon: build, test and benchmark. Every target works on a fresh Debian
# machine after `make setup` (see README.md).

GO       ?= go
PKGS     := ./...
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
# The flags of the tamond binaries that ship (no HTTP/2, no inlining outside
# the per-packet path: see the file); make cross, size and ipk use them.
TAMOND_GOFLAGS := $(shell grep -v '^[[:space:]]*[\#]' mk/tamond.goflags)
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BENCH_PACKETS ?= 1000000
BENCH_RUNS ?= 9

export CGO_ENABLED=0

.PHONY: all setup build test race unit lint cross fuzz bench clean lab soak

all: build

# A MariaDB server for the store tests (.ci/ensure-mariadb.sh: uses one on
# 127.0.0.1:3306, else installs and starts mariadb-server).
# Debian packages the tests use: iproute2 for the network-namespace capture
# tests, shellcheck for the shell scripts, qemu-user-static to run the mips,
# mipsle, arm and arm64 builds on corpus captures; ieee-data for
# `go run ./scripts/oui` (regenerating the vendor table); chromium (and a
# CJK font for the zh_Hans screenshots), node and npm for the LuCI browser
# tests and eslint. The lab (lab/) runs real clients and servers: dnsmasq-base
# (DNS and DHCP, without the system service), bind9-dnsutils (dig), curl,
# openssl, iputils-ping, udhcpc, and its own mariadbd (mariadb-server).
setup:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 shellcheck qemu-user-static ieee-data chromium fonts-wqy-zenhei >/dev/null
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dnsmasq-base bind9-dnsutils curl openssl iputils-ping udhcpc >/dev/null
	@command -v npm >/dev/null || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	$(SUDO) sh .ci/ensure-mariadb.sh
	@$(GO) version | awk '{ split($$3, v, "."); if (v[2] + 0 < 26) { print "tamon needs Go 1.26 or newer, found " $$3; exit 1 } }'
	$(GO) mod download

build:
	mkdir -p bin
	$(GO) build $(GOFLAGS_BUILD) $(TAMOND_GOFLAGS) -o bin/tamond ./daemon/cmd/tamond
	$(GO) build $(GOFLAGS_BUILD) -o bin/tamon-benchgen ./daemon/cmd/tamon-benchgen
	$(GO) build $(GOFLAGS_BUILD) -o bin/tamon-bench ./daemon/cmd/tamon-bench

# The one test command (README, .ci/run): static checks, every test with the
# race detector (it needs cgo), and the cross-compile check.
test: lint race test32 cross

# The packet path's tests on a 32-bit router architecture (arm, under
# qemu-user-static): int is 32 bits there, so lengths and offsets read from
# packets overflow where they do not on amd64. The decoder's differential
# test stays on amd64: its oracle, gopacket/layers, reads a 2 GiB IPv6
# jumbogram as truncated on 32 bits. Live capture needs AF_PACKET rings,
# which qemu-user does not emulate.
PKGS32 := ./daemon/internal/pipeline ./daemon/internal/dissect/... ./daemon/internal/flow ./daemon/internal/record \
	./daemon/internal/namemap ./daemon/internal/appid ./daemon/internal/decimal ./daemon/internal/capture \
	./daemon/internal/pages
test32:
	GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-arm-static -skip 'TestLive|TestOpenLive' $(PKGS32)

race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l daemon scripts luci-app-tamon/harness lab); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOARCH=arm GOARM=7 $(GO) vet $$($(GO) list ./daemon/... ./scripts/... | grep -v /lab)
	GOARCH=mips GOMIPS=softfloat $(GO) vet $$($(GO) list ./daemon/... ./scripts/... | grep -v /lab)
	shellcheck .ci/run .ci/ensure-mariadb.sh openwrt/files/tamon.init scripts/*.sh

# The test lab alone: tamond on a bridge in network namespaces, real
# clients and servers, MariaDB and SQLite, and the failure drills (root).
lab:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m -v ./lab/

# The lab's mixed traffic for DURATION (not in CI), printing tamond's RSS,
# goroutines, threads, open files and queue depths every minute (root).
DURATION ?= 10m
soak:
	$(GO) run ./lab/cmd/tamon-soak -duration $(DURATION)

# OpenWrt targets: amd64, arm64, arm (v7), mipsle and mips (soft float),
# built as they ship (mk/tamond.goflags).
cross:
	@mkdir -p dist
	@set -e; for t in amd64: arm64: arm:7 mipsle:softfloat mips:softfloat; do \
		arch=$${t%%:*}; v=$${t#*:}; \
		env GOOS=linux GOARCH=$$arch GOARM=$$( [ $$arch = arm ] && echo $$v ) GOMIPS=$$( case $$arch in mips*) echo $$v;; esac ) \
			$(GO) build $(GOFLAGS_BUILD) $(TAMOND_GOFLAGS) -o dist/tamond-linux-$$arch ./daemon/cmd/tamond; \
		printf '%-8s %s bytes\n' $$arch $$(stat -c %s dist/tamond-linux-$$arch); \
	done

# Short fuzz runs of every fuzz target in the tree (FUZZTIME each). Each
# new input is minimised for at most FUZZMINIMIZE (Go's default is 60s): the
# engine-wide targets' inputs are whole captures, and at 60s a run spent its
# time minimising them (FuzzEngine: 44 inputs run in 5 minutes, against
# 2,790 in one minute at 1s).
FUZZTIME ?= 20s
FUZZMINIMIZE ?= 1s
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' daemon luci-app-tamon scripts lab | grep -v node_modules | sort); do \
		d=./$$(dirname $$f); \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "== $$d $$t"; $(GO) test -run XXX -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$d; \
		done; \
	done

# Generated captures, then packets/s, MB/s, allocations and peak RSS of the
# bare gopacket loop, the in-process engine and tamond -r -json; and peak RSS
# with 16,384 and 100,000 open sessions. Figures go to BENCHMARKS.md.
bench: build
	./bin/tamon-bench -dir .bench -packets $(BENCH_PACKETS) -runs $(BENCH_RUNS) -tamond bin/tamond
	$(GO) run ./daemon/cmd/tamon-storebench

clean:
	rm -rf bin dist .bench

include mk/openwrt.mk
include luci-app-tamon/demo.mk
