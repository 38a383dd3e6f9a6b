package peer

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// StatePage is how many registers one GET /state answer carries at most. A
// larger state is served in pages of one snapshot, so that no node's size
// meets the body limit (a page is about 1.5 MB).
const StatePage = 5000

// Page cache bounds: snapshots kept for the pages after the first, and how
// long one stays.
const (
	maxSnapshots = 8
	snapshotTTL  = 2 * time.Minute
)

// pageCache keeps the snapshot of a GET /state answer served in pages, so
// that every page comes from the one reconcile the first page ran: the
// later pages are slices of it, not new reads. A snapshot is readable only
// by the peer it was made for.
type pageCache struct {
	mu    sync.Mutex
	snaps map[string]*pagedSnapshot
	order []string // ids, oldest first
}

type pagedSnapshot struct {
	peer  string
	regs  []state.Register // sorted as the document is
	until time.Time
}

func newPageCache() *pageCache { return &pageCache{snaps: map[string]*pagedSnapshot{}} }

// first returns the first page of regs for peer and the token of the next
// page ("" when regs fit in one page). regs are sorted in document order.
func (c *pageCache) first(peer string, regs []state.Register, now time.Time) ([]state.Register, string) {
	if len(regs) <= StatePage {
		return regs, ""
	}
	sorted := slices.Clone(regs)
	slices.SortStableFunc(sorted, compareRegisters)
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if len(c.order) >= maxSnapshots {
		delete(c.snaps, c.order[0])
		c.order = c.order[1:]
	}
	c.snaps[id] = &pagedSnapshot{peer: peer, regs: sorted, until: now.Add(snapshotTTL)}
	c.order = append(c.order, id)
	return sorted[:StatePage], pageToken(id, StatePage)
}

// page returns the page token names for peer and the token of the page
// after it; ok is false when the token is unknown, expired, malformed or
// another peer's.
func (c *pageCache) page(peer, token string, now time.Time) (regs []state.Register, next string, ok bool) {
	id, off, ok := parsePageToken(token)
	if !ok {
		return nil, "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	s := c.snaps[id]
	if s == nil || s.peer != peer || off > len(s.regs) {
		return nil, "", false
	}
	end := min(off+StatePage, len(s.regs))
	if end < len(s.regs) {
		next = pageToken(id, end)
	}
	return s.regs[off:end], next, true
}

func (c *pageCache) sweep(now time.Time) {
	for len(c.order) > 0 && now.After(c.snaps[c.order[0]].until) {
		delete(c.snaps, c.order[0])
		c.order = c.order[1:]
	}
}

// A page token is the snapshot's id and the offset of the page's first
// register: "0123...ef.5000".
func pageToken(id string, off int) string { return id + "." + strconv.Itoa(off) }

func parsePageToken(t string) (id string, off int, ok bool) {
	id, o, found := strings.Cut(t, ".")
	if !found || len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", 0, false
	}
	off, err := strconv.Atoi(o)
	if err != nil || off <= 0 || o != strconv.Itoa(off) {
		return "", 0, false
	}
	return id, off, true
}

func validPageToken(t string) bool {
	_, _, ok := parsePageToken(t)
	return ok
}
