// Command logwriter appends CRI-format log lines to many container log files at a fixed
// total rate, for benchmarks/scale_logs/logstreams.py.
//
// Why Go: the writer shares 2 cores with the apiserver, the fake kubelet and the consumer
// under test; an open-loop writer of 20,000 lines/s must be cheap and exact, so that what
// is measured is the consumer, not the writer.
//
// Each line is `<RFC3339Nano> stdout F <pod> <seq> <padding>`; pods are served round robin
// in 10 ms ticks, seq counts up per pod from -first. At the end it prints JSON:
// {"start": unix, "end": unix, "written": {"<pod>": <lines 0..n-1 now in the file>}}.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	dir := flag.String("dir", "", "log root: <dir>/<namespace>/<pod>/app.log")
	list := flag.String("pods", "", "comma-separated namespace/pod")
	rate := flag.Float64("rate", 5000, "lines per second, all pods together")
	seconds := flag.Float64("seconds", 20, "how long to write")
	first := flag.Int("first", 1, "first seq per pod (earlier lines already exist)")
	pad := flag.String("pad", strings.Repeat("lorem ipsum dolor sit amet ", 3), "line padding")
	flag.Parse()

	type target struct {
		name string
		f    *os.File
		w    *bufio.Writer
		seq  int
	}
	var pods []*target
	for _, np := range strings.Split(*list, ",") {
		f, err := os.OpenFile(filepath.Join(*dir, np, "app.log"), os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pods = append(pods, &target{name: filepath.Base(np), f: f, w: bufio.NewWriter(f), seq: *first})
	}
	const tick = 10 * time.Millisecond
	perTick := *rate * tick.Seconds()
	ticks := int(*seconds / tick.Seconds())
	start := time.Now()
	due, k := 0.0, 0
	touched := make(map[int]bool, len(pods))
	for i := 0; i < ticks; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * tick)))
		due += perTick
		stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
		for ; due >= 1; due-- {
			p := pods[k]
			fmt.Fprintf(p.w, "%s stdout F %s %d %s\n", stamp, p.name, p.seq, *pad)
			p.seq++
			touched[k] = true
			k = (k + 1) % len(pods)
		}
		for j := range touched {
			_ = pods[j].w.Flush() // one write(2) per file per tick: whole lines only
			delete(touched, j)
		}
	}
	end := time.Now()
	written := make(map[string]int, len(pods))
	for _, p := range pods {
		written[p.name] = p.seq
		_ = p.f.Close()
	}
	out, _ := json.Marshal(map[string]any{
		"start": float64(start.UnixNano()) / 1e9, "end": float64(end.UnixNano()) / 1e9, "written": written,
	})
	fmt.Println(string(out))
}
