//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/queuesync/queuesync/pkg/ami"
)

// browser starts a headless Chromium of its own (Debian's chromium; the
// test fails when it is missing) and returns a tab. Nothing is fetched
// from the internet: the page is self-contained.
func browser(t *testing.T, width, height int64) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install -y chromium (.ci/run does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(int(width), int(height)),
	}
	actx, cancel := chromedp.NewExecAllocator(ctxT(t), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// withPassword sends the page's password with every request of the tab.
func withPassword(password string) chromedp.Action[chromedp.Void] {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("supervisor:"+password))
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})
}

// rowOf is the XPath of the table row of a member.
func rowOf(iface string) string {
	return `//tr[th[contains(., "` + iface + `")]]`
}

// screenshot writes the tab's page as PNG into the test's artifact
// directory (go test -artifacts keeps it) and logs where.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot: %s", writeFile(t, t.ArtifactDir(), name, png, 0o644))
}

// The page in a real browser, against two real nodes: a pause made on A
// shows on B's page with its reason within two seconds; a drift made while
// B's daemon is down shows highlighted on A's page; without the password
// the page is refused.
func TestWatchPageInABrowser(t *testing.T) {
	reset(t)
	a, b := watchDaemons(t)
	const q, iface = "sales", "Local/3601@agents"
	add(t, a.node, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: "Kim"})
	addAndWait(t, b.node, ami.QueueAddRequest{Queue: q, Interface: "Local/3602@agents", MemberName: "Lea", Penalty: 2})

	t.Run("refused without the password", func(t *testing.T) {
		ctx := browser(t, 1280, 900)
		// Chromium turns the refusal into a navigation error when it may not
		// ask for a password (headless), else shows the refusal's text.
		err := chromedp.Do(ctx, chromedp.Navigate(b.web+"/"))
		if err != nil {
			if !strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS") {
				t.Fatal(err)
			}
			return
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "password required") || strings.Contains(body, iface) {
			t.Fatalf("page without the password shows:\n%s", body)
		}
	})

	// B's page at phone width.
	ctx := browser(t, 390, 844)
	if err := chromedp.Do(ctx, withPassword(webPassword), chromedp.Navigate(b.web+"/")); err != nil {
		t.Fatalf("B's page: %v", err)
	}
	lctx, cancel0 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel0()
	if err := chromedp.Do(lctx, chromedp.WaitVisible(rowOf(iface))); err != nil {
		text, terr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("B's page shows no row of %s: %v\n%s%v", iface, err, text, terr)
	}
	start := time.Now()
	pause(t, a.node, q, iface, true, "training")
	pausedCell := rowOf(iface) + `/td[1][contains(., "paused") and contains(., "training")]`
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(pausedCell)); err != nil {
		t.Fatalf("B's page never showed the pause made on A: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("B's page showed A's pause after %s, want within 2s", d)
	} else {
		t.Logf("B's page showed A's pause %s after it was made", d)
	}
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
	if err != nil || len(widths) != 2 {
		t.Fatalf("page widths: %v, %v", widths, err)
	}
	scrollW, clientW := widths[0], widths[1]
	if scrollW > clientW {
		t.Errorf("at phone width the page scrolls sideways (%d > %d): only tables may", scrollW, clientW)
	}
	screenshot(t, ctx, "peer-pause-phone.png")

	// The member's history, one click away: the pause, made on sop1.
	hctx, cancelH := context.WithTimeout(ctx, 10*time.Second)
	defer cancelH()
	if err := chromedp.Do(hctx, chromedp.Click(rowOf(iface)+`//a[contains(., "history")]`),
		chromedp.WaitVisible(`//tr[td[1][.="paused"]][td[3][.="yes"]][td[4][.="sop1"]][td[5][.="peer:sop1"]]`)); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("B's history of %s does not show the pause made on sop1: %v\n%s", iface, err, text)
	}

	// A's page, then B's daemon stops and A changes: the row is highlighted.
	actx := browser(t, 1280, 900)
	if err := chromedp.Do(actx, withPassword(webPassword), chromedp.Navigate(a.web+"/"),
		chromedp.WaitVisible(rowOf("Local/3602@agents"))); err != nil {
		t.Fatalf("A's page: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // A's page has read B's state
	b.node.Stop()
	setPenalty(t, a.node, q, "Local/3602@agents", 7)
	pause(t, a.node, q, iface, false, "")
	dctx, cancel2 := context.WithTimeout(actx, 15*time.Second)
	defer cancel2()
	if err := chromedp.Do(dctx, chromedp.WaitVisible(`//tr[contains(@class, "differs")][th[contains(., "Local/3602@agents")]]`),
		chromedp.WaitVisible(`//td[contains(., "unreachable")]`)); err != nil {
		t.Fatalf("A's page never highlighted the drift: %v", err)
	}
	screenshot(t, actx, "drift.png")
}
