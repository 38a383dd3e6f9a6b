package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/peer"
)

// listen binds the peer API (with TLS when configured) and the metrics
// endpoint.
func (d *Daemon) listen() error {
	cfg := d.cfg()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen:): %w", cfg.Listen, err)
	}
	tc, err := node.ServerTLS(cfg.TLS)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	d.ln = ln
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serveHTTP), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: peer.MaxHeaderBytes}
	if cfg.MetricsListen == "" {
		return nil
	}
	mln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen on %s (metrics_listen:): %w", cfg.MetricsListen, err)
	}
	d.mln = mln
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics.handler())
	// Scrapers keep connections alive; an idle one is closed after a
	// minute instead of being held forever.
	d.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	return nil
}
