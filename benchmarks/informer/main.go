// Command informer is the client-go baseline of Faro's ingest benchmark: a dynamic shared
// informer (k8s.io/client-go v0.36.3, unstructured objects decoded from JSON, as a generic
// controller for arbitrary kinds would use) on core/v1 pods (and optionally events), counting
// handler calls until it has seen -n events.
//
// It prints one JSON line: {"count", "start", "first", "last"} (Unix seconds, float), where
// start is before the informer starts, first is the first handler call and last the n-th.
// The benchmark reports (n-1)/(last-first) as events/s, the same definition for every
// consumer. With client-go >= 1.35 the reflector uses WatchList (sendInitialEvents=true); the
// replay server answers it with the initial-events-end bookmark and then the recording.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

type result struct {
	Count int64   `json:"count"`
	Start float64 `json:"start"`
	First float64 `json:"first"`
	Last  float64 `json:"last"`
	// VmHWM of this process image: wait4's ru_maxrss would also count the parent's RSS at spawn.
	VmHWMKB int64 `json:"vmhwm_kb"`
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	resources := flag.String("resources", "pods", "comma-separated core/v1 resources to inform on")
	n := flag.Int64("n", 0, "stop after this many handler calls")
	timeout := flag.Duration("timeout", 110*time.Second, "give up after this long")
	flag.Parse()
	if *n <= 0 {
		fmt.Fprintln(os.Stderr, "informer: -n is required")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "informer:", err)
		os.Exit(2)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "informer:", err)
		os.Exit(2)
	}

	var (
		count     atomic.Int64
		firstOnce sync.Once
		first     time.Time
		last      time.Time
		done      = make(chan struct{})
	)
	seen := func() {
		c := count.Add(1)
		if c == 1 {
			firstOnce.Do(func() { first = time.Now() })
		}
		if c == *n {
			last = time.Now()
			close(done)
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { seen() },
		UpdateFunc: func(old, obj any) { seen() },
		DeleteFunc: func(obj any) { seen() },
	}

	start := time.Now()
	stop := make(chan struct{})
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 0)
	for _, r := range strings.Split(*resources, ",") {
		gvr := schema.GroupVersionResource{Version: "v1", Resource: r}
		if _, err := factory.ForResource(gvr).Informer().AddEventHandler(handler); err != nil {
			fmt.Fprintln(os.Stderr, "informer:", err)
			os.Exit(2)
		}
	}
	factory.Start(stop)

	select {
	case <-done:
	case <-time.After(*timeout):
		fmt.Fprintf(os.Stderr, "informer: timeout after %v with %d of %d events\n", *timeout, count.Load(), *n)
		os.Exit(1)
	}
	out, _ := json.Marshal(result{
		Count: count.Load(), Start: unix(start), First: unix(first), Last: unix(last), VmHWMKB: vmhwmKB(),
	})
	fmt.Println(string(out))
	// Exit at once, as the other consumers do: shutting the informers down is not measured.
	os.Exit(0)
}

// vmhwmKB is the peak resident set size of this process image, from /proc/self/status.
func vmhwmKB() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
