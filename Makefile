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

.PHONY: build test unit e2e testbed-up testbed-down vet fuzz-short fuzz bench demo man completions snapshot package-test clean

build:
	CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o bin/queuesync ./cmd/queuesync

## test: everything CI runs — vet, unit tests, real PostgreSQL, e2e on two real
## Asterisk 22 nodes (started by testbed-up; needs root), short fuzz runs, and
## the packages (about a minute with warm caches).
test: testbed-up vet
	$(ENV); go test -race -timeout 15m ./...
	$(ENV); go test -race -tags e2e -p 1 -timeout 40m ./...
	$(MAKE) fuzz-short
	$(MAKE) package-test

unit:
	go test -race -timeout 5m ./...

e2e: testbed-up
	$(ENV); go test -race -tags e2e -p 1 -timeout 40m ./...

vet:
	go vet ./...
	go vet -tags e2e ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }

testbed-up:
	@$(TESTBED) up 2

testbed-down:
	@$(TESTBED) down

fuzz-short:
	go test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./pkg/ami
	go test -run '^$$' -fuzz '^FuzzDecodeState$$' -fuzztime $(FUZZTIME) ./internal/peer
	go test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) ./internal/peer

## fuzz: the long runs (10 minutes each)
fuzz:
	$(MAKE) fuzz-short FUZZTIME=10m

bench: testbed-up
	$(ENV); go test -run '^$$' -bench . -benchmem -tags e2e -p 1 -timeout 60m ./...

## demo: two real Asterisk nodes, PostgreSQL and two daemons; members changed on
## both sides, then `queuesync resync -v` makes them agree.
demo: build testbed-up
	@test/demo/demo.sh

man:
	go run ./cmd/queuesync gen-man --dir man

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
	rm -rf bin dist completions
