# Quantix-vDC. `make run` boots the appliance, `make test` runs the tests; both set up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_VERSION := 24.21.0
CACHE        := $(CURDIR)/build/cache
NODE_DIR     := $(CACHE)/node-v$(NODE_VERSION)
STAMPS       := $(CACHE)/stamps
export PATH  := $(NODE_DIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# node-gyp (node-pty) builds against the headers of the runtime we ship, never a download.
export npm_config_nodedir := $(NODE_DIR)

.PHONY: help setup build guest libvirt dev test test-e2e test-cluster test-etcd test-guest test-appliance iso iso-base run bench lint typecheck clean

help:
	@echo "make run | test | test-e2e | test-cluster | test-etcd | test-guest | dev | iso | test-appliance | bench | lint | typecheck | clean"

setup: $(STAMPS)/npm $(STAMPS)/proto

$(STAMPS)/apt: build/dev/apt-packages.txt build/dev/setup-apt.sh
	@mkdir -p $(STAMPS)
	bash build/dev/setup-apt.sh
	@touch $@

$(NODE_DIR)/bin/node: | $(STAMPS)/apt
	bash build/dev/install-node.sh $(NODE_VERSION) $(NODE_DIR)

$(STAMPS)/npm: package.json package-lock.json $(wildcard */package.json) $(NODE_DIR)/bin/node $(STAMPS)/apt
	npm ci --no-audit --no-fund
	@touch $@

# The generated gRPC code and the TLS profile, compiled: rebuilt whenever any of their inputs change.
$(STAMPS)/proto: $(STAMPS)/npm $(wildcard proto/quantix/agent/v1/*.proto) $(wildcard proto/src/*/*.ts) proto/buf.gen.yaml proto/tsconfig.json
	npm run -w @quantix/proto build
	@touch $@

build: setup
	npm run build

guest: setup
	bash test/guest/build-guest.sh

libvirt: setup
	bash build/dev/libvirt-up.sh

dev: setup guest libvirt
	bash build/dev/dev.sh

test: setup guest libvirt
	npm test

# The whole product in Chromium (test/e2e: the UI, its accessibility, every operation from the
# browser), ~10 minutes: apart from `make test` to keep that one within its time budget, and one
# file at a time: a test that makes a network changes the host's addresses, and Chromium aborts
# the requests another test's page has in flight (ERR_NETWORK_CHANGED).
test-e2e: setup guest libvirt
	npm run test:e2e

# Two real hosts on this machine (test/cluster/two-hosts.ts): live migration and its failure cases,
# one file at a time (they share the harness's names), ~10-20 minutes under TCG.
test-cluster: setup guest libvirt
	node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=1800000 test/cluster/*.cluster.ts

# Two vDC servers on a three-member etcd cluster (test/etcd/*.etcd.ts): leader failover, quorum loss.
test-etcd: setup guest libvirt
	node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 test/etcd/*.etcd.ts

# Slow single-guest boots (test/guest-boot/*.guest.ts: Secure Boot through Debian's signed shim,
# an unsigned loader refused, the TPM seen by the guest, the agent killed mid-backup): minutes
# under TCG, one file at a time.
test-guest: setup guest libvirt
	node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=1200000 test/guest-boot/*.guest.ts

test-appliance: setup
	bash test/appliance/run.sh

iso: setup
	bash build/iso/build-iso.sh

# The ISO's base OS layer alone (debootstrap and apt in a chroot; cached by its inputs): .ci/run
# builds it beside the first suites.
iso-base: setup
	bash build/iso/build-base.sh build/iso/packages.txt $(NODE_DIR) >/dev/null

run: iso
	bash build/iso/run-qemu.sh

bench: build guest libvirt
	bash test/bench/run-all.sh

lint: setup
	npx eslint .
	npx prettier --check .

typecheck: setup
	npm run typecheck

clean:
	rm -rf build/out build/work test/output proto/gen proto/dist */dist $(STAMPS)
