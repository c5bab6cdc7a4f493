// Package bench is Pinguin's load benchmark, BenchmarkLoad, which
// `make bench` runs:
//
//	go test -run '^$' -bench '^BenchmarkLoad$' -benchtime 1x -timeout 60m ./internal/bench
//
// It builds the three binaries and runs them as separate processes, as an
// operator would, against a PostgreSQL database and a Redis key prefix of
// its own. N monitors with interval I point at a target HTTP server in yet
// another process, whose CPU is not counted. After one interval of warm-up
// (every monitor checked once) it measures a window of D and prints:
//
//   - throughput: checks run and result rows written per second, against
//     the N/I the schedule asks for;
//   - timeliness: dispatch lag (due time to check start) and end-to-end lag
//     (due time to result committed), from the workers' histograms;
//   - back-pressure: stale jobs dropped, jobs skipped because the previous
//     one was still queued, results dropped (DESIGN.md invariants 3 and 6);
//   - cost: CPU seconds per 1,000 checks of the api, the scheduler, the
//     workers, Redis and PostgreSQL, peak memory of each Pinguin process,
//     and PostgreSQL bytes per stored check;
//   - the floor: the CPU a bare net/http client, one fresh connection per
//     request like Pinguin's checks, spends on the same request rate in
//     this process, and how many times that Pinguin spends (FIELD.md).
//
// Knobs, from the environment: PINGUIN_BENCH_MONITORS (default 10000),
// PINGUIN_BENCH_INTERVAL (10s), PINGUIN_BENCH_DURATION (60s) and
// PINGUIN_BENCH_WORKERS (worker processes, 1). Other PINGUIN_ variables
// pass through to the binaries, so worker settings can be tuned; the
// servers are found like the tests find them (internal/testenv).
//
// Redis and PostgreSQL are measured as whole servers: whatever else runs
// on them during the window is counted too. The benchmark speaks SQL and
// Redis itself, to set up and to measure, and never asserts on a figure:
// it fails only when something is broken.
package bench
