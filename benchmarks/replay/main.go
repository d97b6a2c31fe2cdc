// Command replay is a fake Kubernetes API server that serves a recorded watch stream at full
// speed, so that watch consumers (Faro, a client-go informer, kubectl, a raw reader) can be
// compared on exactly the same bytes without the real apiserver and etcd being the
// bottleneck.
//
// It serves, on plain HTTP (no auth):
//   - /api, /apis, /version: the discovery documents recorded from the real cluster (the
//     aggregated form when the client asks for it, else the legacy form);
//   - a LIST of any collection, carrying the resourceVersion just before the recording, so
//     the client's WATCH starts from there: cluster-wide, the items of lists/<resource>.json
//     in the recording (the pods' owners, synth.py), else none;
//   - a WATCH (?watch=1|true) of a recorded cluster-wide collection (pods, events: -streams):
//     every recorded line newer than the requested resourceVersion, one Write per event as
//     the apiserver does, then the connection stays open (like a quiet watch) until the
//     client leaves or timeoutSeconds passes. A watch with sendInitialEvents=true (client-go's
//     WatchList) first gets the "initial-events-end" bookmark. Watches of anything else just
//     stay open with nothing to say.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type stream struct {
	lines [][]byte // each ends with '\n'
	rvs   []int64
}

var (
	dir       = flag.String("dir", os.ExpandEnv("$HOME/.cache/faro/bench/recording"), "recording directory")
	streams   = flag.String("streams", "pods", "comma-separated resources whose recorded stream is served")
	addr      = flag.String("addr", "127.0.0.1:0", "listen address")
	recorded  = map[string]*stream{}
	discovery = map[string][]byte{}
	items     = map[string][]byte{} // resource -> the JSON array its cluster-wide LIST returns
	startRV   int64
)

func main() {
	flag.Parse()
	for _, name := range strings.Split(*streams, ",") {
		s, err := load(filepath.Join(*dir, name+".jsonl.gz"))
		if err != nil {
			log.Fatalf("load %s: %v", name, err)
		}
		recorded[name] = s
		if len(s.rvs) > 0 && (startRV == 0 || s.rvs[0]-1 < startRV) {
			startRV = s.rvs[0] - 1
		}
	}
	for _, f := range []string{"api", "apis", "api-legacy", "apis-legacy", "version"} {
		b, err := os.ReadFile(filepath.Join(*dir, "discovery", f+".json"))
		if err != nil {
			log.Fatalf("discovery: %v", err)
		}
		discovery[f] = b
	}
	lists, _ := filepath.Glob(filepath.Join(*dir, "lists", "*.json"))
	for _, f := range lists {
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatalf("lists: %v", err)
		}
		items[strings.TrimSuffix(filepath.Base(f), ".json")] = bytes.TrimSpace(b)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, http.HandlerFunc(serve)))
}

func load(path string) (*stream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(gz, 1<<20)
	s := &stream{}
	key := []byte(`"resourceVersion":"`)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 1 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			i := bytes.Index(line, key) + len(key)
			j := bytes.IndexByte(line[i:], '"')
			rv, perr := strconv.ParseInt(string(line[i:i+j]), 10, 64)
			if perr != nil {
				return nil, fmt.Errorf("line %d: no resourceVersion", len(s.lines)+1)
			}
			s.lines = append(s.lines, line)
			s.rvs = append(s.rvs, rv)
		}
		if err != nil {
			break
		}
	}
	return s, nil
}

func serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/api", "/apis":
		name := path[1:]
		if strings.Contains(r.Header.Get("Accept"), "apidiscovery.k8s.io") {
			w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
		} else {
			name += "-legacy"
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write(discovery[name])
		return
	case "/version":
		w.Header().Set("Content-Type", "application/json")
		w.Write(discovery["version"])
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || (parts[0] != "api" && parts[0] != "apis") {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	resource := parts[len(parts)-1]
	clusterWide := !strings.Contains(path, "/namespaces/")
	w.Header().Set("Content-Type", "application/json")
	if v := q.Get("watch"); v != "1" && v != "true" {
		list(w, resource, clusterWide)
		return
	}
	watch(w, r, q.Get("sendInitialEvents") == "true", recorded[resource], clusterWide, resource)
}

func list(w http.ResponseWriter, resource string, clusterWide bool) {
	body := []byte("[]")
	if b, ok := items[resource]; ok && clusterWide {
		body = b
	}
	fmt.Fprintf(w, `{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"%d"},"items":%s}`, startRV, body)
}

func watch(w http.ResponseWriter, r *http.Request, initial bool, s *stream, clusterWide bool, resource string) {
	flusher := w.(http.Flusher)
	w.WriteHeader(http.StatusOK)
	if initial {
		fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"kind":"Bookmark","apiVersion":"v1","metadata":`+
			`{"resourceVersion":"%d","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", startRV)
	}
	flusher.Flush()
	if s != nil && clusterWide {
		from, _ := strconv.ParseInt(r.URL.Query().Get("resourceVersion"), 10, 64)
		i := sort.Search(len(s.rvs), func(i int) bool { return s.rvs[i] > from })
		t := time.Now()
		for ; i < len(s.lines); i++ {
			if _, err := w.Write(s.lines[i]); err != nil {
				return
			}
		}
		flusher.Flush()
		log.Printf("%s: streamed %d events in %v", resource, len(s.lines), time.Since(t))
	}
	timeout := 600 * time.Second
	if v, err := strconv.Atoi(r.URL.Query().Get("timeoutSeconds")); err == nil && v > 0 {
		timeout = time.Duration(v) * time.Second
	}
	select {
	case <-r.Context().Done():
	case <-time.After(timeout):
	}
}
