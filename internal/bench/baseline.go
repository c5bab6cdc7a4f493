package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// bareResult is what the bare client loop did and cost.
type bareResult struct {
	requests int64         // requests sent
	failures int64         // without a 2xx answer
	elapsed  time.Duration // from the first request to the last answer
	cpu      time.Duration // CPU time of this process meanwhile
}

// perThousand is the CPU seconds spent per 1,000 requests.
func (r bareResult) perThousand() float64 {
	if r.requests == 0 {
		return 0
	}
	return r.cpu.Seconds() / float64(r.requests) * 1000
}

// bareConcurrency bounds the requests in flight in the bare loop.
const bareConcurrency = 256

// runBare sends rate requests a second for d to urlOf(0), urlOf(1), ...,
// each on a fresh connection (the policy of Pinguin's checks), at most
// bareConcurrency at once, reading up to 1 MiB of each body, and measures
// this process's CPU time meanwhile. It stops sending at d plus a minute
// whatever happens, and each request ends within 10 s.
func runBare(ctx context.Context, urlOf func(i int) string, rate float64, d time.Duration) (bareResult, error) {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:              nil,
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()

	before, err := selfCPU()
	if err != nil {
		return bareResult{}, err
	}
	start := time.Now()
	sent, failures := paced(ctx, int(rate*d.Seconds()), rate, func(i int) bool {
		return bareGet(ctx, client, urlOf(i))
	})
	res := bareResult{requests: int64(sent), failures: failures, elapsed: time.Since(start)}
	after, err := selfCPU()
	if err != nil {
		return bareResult{}, err
	}
	res.cpu = after - before
	if ctx.Err() != nil && sent == 0 {
		return res, fmt.Errorf("bare loop: %w", ctx.Err())
	}
	return res, nil
}

// paced calls do(0), ..., do(total-1) at rate calls a second, each in its
// own goroutine and at most bareConcurrency at once, and waits for them.
// It launches in 10 ms steps, not one timer per call, so that pacing costs
// little CPU. It returns how many it started and how many reported false.
func paced(ctx context.Context, total int, rate float64, do func(i int) bool) (started int, failures int64) {
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, bareConcurrency)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
loop:
	for started < total {
		due := min(total, int(time.Since(start).Seconds()*rate)+1)
		for ; started < due; started++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			i := started
			wg.Go(func() {
				defer func() { <-sem }()
				if !do(i) {
					failed.Add(1)
				}
			})
		}
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
	}
	wg.Wait()
	return started, failed.Load()
}

// bareGet does one GET and reports whether it got a 2xx answer.
func bareGet(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)); err != nil {
		return false
	}
	return res.StatusCode >= 200 && res.StatusCode < 300
}
