package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	req := httptest.NewRequest("GET", "/queue/v1/state?queue=support&queue=sales%2Beu", nil)
	got := canonical(req, "1764041234", "00112233445566778899aabbccddeeff", "sop1", emptyHash)
	want := "GET\n/queue/v1/state?queue=support&queue=sales%2Beu\n1764041234\n00112233445566778899aabbccddeeff\nsop1\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("canonical =\n%q\nwant\n%q", got, want)
	}
}

func TestSign(t *testing.T) {
	body := []byte("<x/>")
	req := httptest.NewRequest("POST", "/queue/v1/changes", nil)
	Sign(req, "sop1", secret, now, body)
	if req.Header.Get(HeaderNode) != "sop1" || req.Header.Get(HeaderTimestamp) != "1764041234" {
		t.Errorf("headers = %v", req.Header)
	}
	sum := sha256.Sum256(body)
	h := hmac.New(sha256.New, secret)
	nonce := req.Header.Get(HeaderNonce)
	if len(nonce) != 32 {
		t.Fatalf("nonce = %q, want 32 hex digits", nonce)
	}
	h.Write([]byte("POST\n/queue/v1/changes\n1764041234\n" + nonce + "\nsop1\n" + hex.EncodeToString(sum[:])))
	if got, want := req.Header.Get(HeaderSignature), "v1="+hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestSignTwiceInOneSecondDiffers(t *testing.T) {
	a := httptest.NewRequest("GET", "/queue/v1/state", nil)
	b := httptest.NewRequest("GET", "/queue/v1/state", nil)
	Sign(a, "sop1", secret, now, nil)
	Sign(b, "sop1", secret, now, nil)
	if a.Header.Get(HeaderSignature) == b.Header.Get(HeaderSignature) {
		t.Fatal("two identical requests in the same second got the same signature: the second would be refused as a replay")
	}
}

func TestReplayCacheExpires(t *testing.T) {
	c := NewReplayCache(2)
	t0 := time.Unix(1000, 0)
	a, b, d := [32]byte{1}, [32]byte{2}, [32]byte{3}
	if c.add(a, t0.Add(time.Minute), t0) != fresh {
		t.Fatal("first signature not fresh")
	}
	if c.add(a, t0.Add(time.Minute), t0.Add(time.Second)) != replayed {
		t.Error("second use of a signature not refused")
	}
	if c.add(b, t0.Add(2*time.Minute), t0) != fresh {
		t.Fatal("second signature not fresh")
	}
	if got := c.add(d, t0.Add(time.Minute), t0.Add(2*time.Second)); got != cacheFull {
		t.Errorf("full cache let a signature through (%v)", got)
	}
	// After a's expiry the sweep makes room; b is still remembered.
	if c.add(d, t0.Add(3*time.Minute), t0.Add(time.Minute)) != fresh {
		t.Error("expired signature not swept")
	}
	if c.add(b, t0.Add(2*time.Minute), t0.Add(time.Minute)) != replayed {
		t.Error("unexpired signature forgotten")
	}
	if c.len() != 2 {
		t.Errorf("cache holds %d signatures, want 2", c.len())
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := NewReplayCache(100)
	t0 := time.Unix(1000, 0)
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * 5 * time.Second) // 60 live at a time
		var sig [32]byte
		sig[0], sig[1] = byte(i), byte(i>>8)
		if v := c.add(sig, at.Add(MaxSkew), at); v != fresh {
			t.Fatalf("signature %d: verdict %v with a steady rate below the bound", i, v)
		}
		if c.len() > 100 {
			t.Fatalf("cache grew to %d", c.len())
		}
	}
}
