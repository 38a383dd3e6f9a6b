package daemon

import (
	"net/http"
	"net/http/pprof"
)

// servePprof serves Go's profiler under /debug/pprof/ on mux (the metrics
// listener, when metrics_pprof is set): CPU profiles (ask for less than
// the listener's 30 s write timeout), heap, goroutines and the rest.
func servePprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
