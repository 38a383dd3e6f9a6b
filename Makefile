# queuesync — targets for humans; CI (.ci/run) calls the same ones.
MODULE   := github.com/queuesync/queuesync
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(MODULE)/internal/build.Version=$(VERSION) -X $(MODULE)/internal/build.Commit=$(COMMIT) -X $(MODULE)/internal/build.Date=$(DATE)
TESTBED  := test/testbed/testbed.sh
STATE    ?= /tmp/queuesync-testbed
ENV      := set -a; . $(STATE)/env; set +a
FUZZTIME ?= 10s
# goreleaser from the Go module proxy; go caches the built binary.
GORELEASER ?= go run github.com/goreleaser/goreleaser/v2@v2.15.1

.PHONY: build test unit e2e testbed-up testbed-down vet fuzz-short fuzz bench demo man man-gz completions snapshot package-test clean \
	chaos chaos-short chaos-long chaos-testbed-up chaos-testbed-down

build:
	CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o bin/queuesync ./cmd/queuesync

## test: everything CI runs — vet, unit tests, real PostgreSQL, e2e on two real
## Asterisk 22 nodes (started by testbed-up; needs root), short fuzz runs, and
## the packages (about a minute with warm caches).
test: testbed-up vet
	$(ENV); go test -race -timeout 15m ./...
	$(ENV); go test -race -count=1 -tags e2e -p 1 -timeout 40m ./...
	$(MAKE) fuzz-short
	$(MAKE) package-test

unit:
	go test -race -timeout 5m ./...

e2e: testbed-up
	$(ENV); go test -race -count=1 -tags e2e -p 1 -timeout 40m ./...

vet:
	go vet ./...
	go vet -tags e2e ./...
	go vet -tags chaos ./...
	go vet -tags bench ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }

testbed-up:
	@$(TESTBED) up 2

testbed-down:
	@$(TESTBED) down

fuzz-short:
	go test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./pkg/ami
	go test -run '^$$' -fuzz '^FuzzDecodeState$$' -fuzztime $(FUZZTIME) ./internal/peer
	go test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) ./internal/peer
	go test -run '^$$' -fuzz '^FuzzVerifyAnswer$$' -fuzztime $(FUZZTIME) ./internal/peer

## fuzz: the long runs (10 minutes each)
fuzz:
	$(MAKE) fuzz-short FUZZTIME=10m

## bench: the benchmark suite (test/bench, and pkg/ami's parser and pipelining
## benchmarks) on a testbed of its own (QS_NAME=bench, /tmp/qs-bench, AMI
## ports 6038-6039, queues q001..q500), stopped at the end; about 20 minutes.
## Every figure is reported beside a baseline measured in the same run; the
## raw output goes to $(BENCH_OUT)/bench.txt, the result lines to
## $(BENCH_OUT)/report.txt. docs/benchmarks.md explains them.
BENCH_OUT      ?= /tmp/qs-bench-run
BENCH_NAME     ?= bench
BENCH_STATE    ?= /tmp/qs-bench
BENCH_BASEPORT ?= 6038
BENCH_TESTBED  := QS_NAME=$(BENCH_NAME) QS_STATE=$(BENCH_STATE) QS_BASEPORT=$(BENCH_BASEPORT) QS_EXTRA_QUEUES=500 $(TESTBED)

bench: SHELL := /bin/bash
bench:
	@mkdir -p $(BENCH_OUT); rm -f $(BENCH_OUT)/report.txt $(BENCH_OUT)/bench.txt
	@$(BENCH_TESTBED) up 2 >/dev/null
	@set -a; . $(BENCH_STATE)/env; set +a; export QS_BENCH_REPORT=$(BENCH_OUT)/report.txt; rc=0; \
	echo "machine: $$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) CPUs, $$(free -g | awk '/^Mem:/{print $$2}') GB; $$(date -u +%Y-%m-%dT%H:%M:%SZ); $$(go version | cut -d' ' -f3); $$(cut -d' ' -f1-2 $$QS_ASTROOT/.qs-ready)" | tee $$QS_BENCH_REPORT; \
	go test -tags e2e -run '^$$' -bench '^Benchmark(ParseQueueStatus10k|PipelinedPause1000|SequentialPause1000)$$' -benchmem ./pkg/ami 2>&1 | tee -a $(BENCH_OUT)/bench.txt; \
	test $${PIPESTATUS[0]} = 0 || rc=1; \
	go test -tags bench -run '^$$' -bench '^Benchmark(Resync10k|Corrections1000)$$' -benchtime 10x -timeout 20m ./test/bench 2>&1 | tee -a $(BENCH_OUT)/bench.txt; \
	test $${PIPESTATUS[0]} = 0 || rc=1; \
	go test -tags bench -run '^$$' -bench '^Benchmark(LiveLatency100|LiveLatencyReasons100|LiveLatencyWallboard|LivePathSteps|SustainedRate|PeerReturn10k|DaemonRSS|UnauthenticatedFlood|LargeNodeResync)$$' -benchtime 1x -timeout 30m ./test/bench 2>&1 | tee -a $(BENCH_OUT)/bench.txt; \
	test $${PIPESTATUS[0]} = 0 || rc=1; \
	$(BENCH_TESTBED) down; exit $$rc

## chaos: the fault-injection harness (test/chaos): for each seed, a random
## schedule of member changes on every node (AMI and CLI) with partitions,
## SIGKILLed and SIGSTOPped daemons, Asterisk restarts (with changes going on
## meanwhile) and reloads, PostgreSQL restarts and crashes, AMI cuts, slow
## lossy links and clock skew; then every node must equal the
## last-writer-wins oracle. It runs on a testbed of its own (QS_NAME=chaos,
## /tmp/qs-chaos, AMI ports 7038-7040, three Asterisk instances).
##   make chaos SEEDS=50          seeds 1..50
##   make chaos SEED=7            replay seed 7 exactly (SEED="3 9" for several)
##   make chaos FAULTS=pg-kill    only these fault kinds (docs/chaos.md lists them)
##   make chaos TOPOLOGY=chain    sop1 - sop2 - sop3, sop2 the hub
##   make chaos NETNS=0           peer gates on 127.0.0.1, no network namespaces
##                                (a slow link then loses chunks in the gate)
##   make chaos-short             CI: 3 seeds x 30 changes, a PostgreSQL crash
##                                seed and a chain seed (about 2 minutes)
##   make chaos-long OPS=40       the 200-seed run of docs/chaos.md
## One report line per seed and a summary go to stdout and $(CHAOS_OUT)/report.txt.
SEEDS          ?= 3
SEED           ?=
OPS            ?= 60
TOPOLOGY       ?= pair
FAULTS         ?= all
NETNS          ?= 1
CHAOS_OUT      ?= /tmp/qs-chaos-run
CHAOS_NAME     ?= chaos
CHAOS_STATE    ?= /tmp/qs-chaos
CHAOS_BASEPORT ?= 7038
CHAOS_TESTBED  := QS_NAME=$(CHAOS_NAME) QS_STATE=$(CHAOS_STATE) QS_BASEPORT=$(CHAOS_BASEPORT) $(TESTBED)

chaos: chaos-testbed-up
	set -a; . $(CHAOS_STATE)/env; set +a; \
	CHAOS_SEEDS="$(SEEDS)" CHAOS_SEED="$(SEED)" CHAOS_OPS="$(OPS)" CHAOS_OUT="$(CHAOS_OUT)" \
	CHAOS_TOPOLOGY="$(TOPOLOGY)" CHAOS_FAULTS="$(FAULTS)" CHAOS_NETNS="$(NETNS)" \
	go test -tags chaos -count=1 -v -timeout 12h -run '^TestChaos$$' ./test/chaos

chaos-short:
	$(MAKE) chaos SEEDS=3 OPS=30 SEED=
	$(MAKE) chaos SEED=1 OPS=30 FAULTS=pg-kill,pg-restart
	$(MAKE) chaos SEED=1 OPS=30 TOPOLOGY=chain

## chaos-long: every fault kind alone (10 seeds each) and mixed (pair and
## chain), the run docs/chaos.md reports (with OPS=40: about an hour and a
## half); it fails if any seed failed. CHAOS_LONG_SEEDS
## scales it.
CHAOS_LONG_SEEDS ?= 10
chaos-long:
	@for f in partition kill sigstop ast-restart ast-churn module-reload members-reload ami-cut pg-restart pg-kill skew link; do \
		$(MAKE) --no-print-directory chaos SEEDS=$(CHAOS_LONG_SEEDS) FAULTS=$$f CHAOS_OUT=$(CHAOS_OUT)/$$f || true; done
	@$(MAKE) --no-print-directory chaos SEEDS=$$(( 4 * $(CHAOS_LONG_SEEDS) )) CHAOS_OUT=$(CHAOS_OUT)/mix || true
	@$(MAKE) --no-print-directory chaos SEEDS=$$(( 2 * $(CHAOS_LONG_SEEDS) )) TOPOLOGY=chain FAULTS=hub-down CHAOS_OUT=$(CHAOS_OUT)/chain-hub || true
	@$(MAKE) --no-print-directory chaos SEEDS=$$(( 2 * $(CHAOS_LONG_SEEDS) )) TOPOLOGY=chain CHAOS_OUT=$(CHAOS_OUT)/chain-mix || true
	@grep -h '^# summary' $(CHAOS_OUT)/*/report.txt
	@! grep -q 'failed seeds' $(CHAOS_OUT)/*/report.txt

chaos-testbed-up:
	@$(CHAOS_TESTBED) up 3 >/dev/null

chaos-testbed-down:
	@$(CHAOS_TESTBED) down

## demo: two real Asterisk nodes, PostgreSQL and two daemons; members changed on
## both sides, then `queuesync resync -v` makes them agree.
demo: build testbed-up
	@test/demo/demo.sh

man:
	go run ./cmd/queuesync gen-man --dir man

## man-gz: the man pages compressed for the packages (build/man), without
## names or times in the gzip header, so that builds are reproducible.
man-gz:
	rm -rf build/man; mkdir -p build/man
	for f in man/*.[157]; do gzip -9n -c $$f > build/man/$$(basename $$f).gz; done

completions: build
	mkdir -p completions
	bin/queuesync completion bash > completions/queuesync.bash
	bin/queuesync completion zsh > completions/_queuesync
	bin/queuesync completion fish > completions/queuesync.fish

## snapshot: deb, rpm and tar.gz for linux amd64 and arm64 in dist/, unsigned
## and unpublished (runs make man and make completions first).
snapshot:
	$(GORELEASER) release --snapshot --clean --skip=publish

## package-test: make snapshot, then unpack the amd64 deb and check every file,
## conffile, maintainer script and the unit; and goreleaser check.
package-test:
	GORELEASER="$(GORELEASER)" test/package/check.sh

clean:
	rm -rf bin dist completions build
