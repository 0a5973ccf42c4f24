# OpenWrt packaging targets (issue 7), included by the top-level Makefile,
# which defines GO and VERSION (git describe --always --dirty).
#
#   make ipk         dist/ipk/tamon_<version>_<arch>.ipk for the five
#                    architectures, dist/ipk/luci-app-tamon_<version>_all.ipk
#                    and luci-i18n-tamon-zh-cn_<version>_all.ipk (the .po
#                    compiled to .lmo), without the OpenWrt SDK (scripts/ipk)
#   make size        stripped tamond size per architecture (BENCHMARKS.md);
#                    fails if a MIPS binary reaches 10 MB (MaxMIPSSize in scripts/ipk)
#
# tamond is built with the flags of mk/tamond.goflags (scripts/ipk reads it).
#   make openwrt-lint  shellcheck of the init script and scripts/*.sh
#
# IPK_ARCHS picks architectures, e.g. make ipk IPK_ARCHS="mipsel_24kc
# aarch64_cortex-a53"; IPK_FORMAT=ar writes Debian-style ar containers.
# SDK builds use openwrt/Makefile and luci-app-tamon/Makefile instead.

GO         ?= go
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
IPK_DIR    ?= dist/ipk
IPK_ARCHS  ?= x86_64 aarch64_generic arm_cortex-a7_neon-vfpv4 mipsel_24kc mips_24kc
IPK_FORMAT ?= tgz

.PHONY: ipk size openwrt-lint

ipk:
	CGO_ENABLED=0 $(GO) run ./scripts/ipk -describe '$(VERSION)' -out '$(IPK_DIR)' -arch '$(IPK_ARCHS)' -format '$(IPK_FORMAT)'

size:
	CGO_ENABLED=0 $(GO) run ./scripts/ipk -size -describe '$(VERSION)' -out '$(IPK_DIR)' -arch '$(IPK_ARCHS)'

openwrt-lint:
	shellcheck openwrt/files/tamon.init scripts/*.sh
