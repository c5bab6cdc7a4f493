package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

// BenchmarkLoad runs Pinguin's three binaries under a load of
// PINGUIN_BENCH_MONITORS monitors checked every PINGUIN_BENCH_INTERVAL and
// prints what one measured window of PINGUIN_BENCH_DURATION cost (see the
// package doc). It is one run whatever b.N is: run it with -benchtime 1x.
// It fails only when something is broken (a process died, nothing was
// checked), never on a figure.
func BenchmarkLoad(b *testing.B) {
	k, err := knobsFrom(os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	l := newLoad(b, k)
	l.startAPI()
	l.seed()
	l.startScheduler()
	l.startWorkers()
	r := l.measure()
	l.stopPinguin()
	l.bare(&r)
	if err := r.print(os.Stdout); err != nil {
		b.Fatalf("print report: %v", err)
	}
	b.ReportMetric(0, "ns/op") // the wall time of one run says nothing
	b.ReportMetric(r.rate(r.checks), "checks/s")
	b.ReportMetric(r.lag.quantile(.99)*1000, "lag-p99-ms")
	switch {
	case r.checks == 0:
		b.Fatalf("no checks ran in the %s window; see the processes' logs above", r.window)
	case r.rows == 0:
		b.Fatalf("%.0f checks ran but no result row was written; see the processes' logs above", r.checks)
	}
}

// TestBenchTarget is not a test: it is the target server that BenchmarkLoad
// runs in a child process (see startTarget), and it returns at once unless
// PINGUIN_BENCH_TARGET_ADDR is set. It serves until its stdin closes or
// until PINGUIN_BENCH_TARGET_UNTIL.
func TestBenchTarget(t *testing.T) {
	addr := os.Getenv(targetAddrEnv)
	if addr == "" {
		return
	}
	until, err := time.Parse(time.RFC3339, os.Getenv(targetUntilEnv))
	if err != nil {
		until = time.Now().Add(time.Hour)
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // EOF: the benchmark is done, or gone
		close(stop)
	}()
	if err := serveTarget(addr, os.Stdout, stop, until); err != nil {
		t.Fatal(err)
	}
}

// viaAPI is how many monitors are created through the REST API.
const viaAPI = 3

// stopGrace is how long a process has after SIGTERM before SIGKILL.
const stopGrace = 60 * time.Second

// load is one load run: the servers' resources it made, the processes it
// started, and how to reach them. Its methods fail the benchmark on error,
// so they run on the benchmark's goroutine only.
type load struct {
	b      *testing.B
	k      knobs
	ctx    context.Context // its deadline bounds the whole run
	dir    string          // binaries and logs
	dbURL  string
	prefix string
	redis  redis.UniversalClient
	db     *pgx.Conn
	target string // host:port of the target server
	http   *http.Client

	api      *process
	apiBase  string
	apiToken string     // admin token given to the api with PINGUIN_ADMIN_TOKEN
	pinguin  []*process // api, scheduler, workers, in start order
	died     *process   // the process whose early exit failed the run
	metrics  []string   // /metrics of the scheduler and workers
}

// newLoad builds the binaries, makes a database and Redis prefix of the
// run's own, and starts the target server; everything is undone when the
// benchmark ends, failed or not.
func newLoad(b *testing.B, k knobs) *load {
	until := time.Now().Add(30*time.Minute + 2*k.duration + 2*k.interval)
	ctx, cancel := context.WithDeadline(context.Background(), until)
	b.Cleanup(cancel)
	l := &load{b: b, k: k, ctx: ctx, dir: b.TempDir(), http: &http.Client{Timeout: 10 * time.Second}}
	l.build()
	l.createDatabase()
	l.openRedis()
	target, addr, err := startTarget(l.dir, until)
	if err != nil {
		b.Fatalf("start target: %v", err)
	}
	b.Cleanup(func() { l.stop(target) })
	l.target = addr
	return l
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	p := make([]byte, n)
	_, _ = rand.Read(p) // crypto/rand.Read never fails
	return hex.EncodeToString(p)
}

// build compiles the three binaries into the run's directory.
func (l *load) build() {
	out, err := exec.CommandContext(l.ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		l.b.Fatalf("find the module root with go env GOMOD: %q, %v", gomod, err)
	}
	cmd := exec.CommandContext(l.ctx, "go", "build", "-o", l.dir+string(filepath.Separator),
		"./cmd/api", "./cmd/scheduler", "./cmd/worker")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.b.Fatalf("go build: %v\n%s", err, out)
	}
}

// createDatabase creates pinguin_bench_<random>, dropped at the end.
func (l *load) createDatabase() {
	name := "pinguin_bench_" + randomHex(6)
	ctx, cancel := context.WithTimeout(l.ctx, 30*time.Second)
	defer cancel()
	dbURL, err := createDatabase(ctx, testenv.DatabaseURL(), name)
	if err != nil {
		l.b.Fatalf("%v (is PostgreSQL running? PINGUIN_TEST_DATABASE_URL=%s)", err, testenv.DatabaseURL())
	}
	l.b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, testenv.DatabaseURL(), name); err != nil {
			l.b.Error(err)
		}
	})
	l.dbURL = dbURL
	if l.db, err = pgx.Connect(ctx, dbURL); err != nil {
		l.b.Fatalf("connect to the bench database: %v", err)
	}
	l.b.Cleanup(func() { _ = l.db.Close(context.Background()) }) // the database is dropped next
}

// openRedis picks the run's key prefix; its keys are deleted at the end.
func (l *load) openRedis() {
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		l.b.Fatalf("parse PINGUIN_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	if err := client.Ping(l.ctx).Err(); err != nil {
		l.b.Fatalf("connect to Redis at %s: %v", testenv.RedisURL(), err)
	}
	l.redis, l.prefix = client, "pinguinbench"+randomHex(6)
	l.b.Cleanup(func() {
		testenv.DeleteKeys(l.b, client, l.prefix)
		_ = client.Close() // fails only when closed already
	})
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func (l *load) freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.b.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPinguin starts a binary with the run's database and Redis prefix;
// other PINGUIN_ variables of the environment pass through.
func (l *load) startPinguin(name, binary string, env ...string) *process {
	cmd := exec.Command(filepath.Join(l.dir, binary))
	cmd.Env = append(os.Environ(),
		"PINGUIN_DATABASE_URL="+l.dbURL,
		"PINGUIN_REDIS_URL="+testenv.RedisURL(),
		"PINGUIN_REDIS_PREFIX="+l.prefix,
		"PINGUIN_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	p, err := launch(name, cmd, l.dir)
	if err != nil {
		l.b.Fatal(err)
	}
	l.b.Cleanup(func() { l.stop(p) })
	l.pinguin = append(l.pinguin, p)
	return p
}

// stop stops p and logs how it ended if that was not cleanly (and not
// reported already).
func (l *load) stop(p *process) {
	if err := p.stop(stopGrace); err != nil && p != l.died {
		l.b.Logf("%s exited with %v; last lines of %s:\n%s", p.name, err, p.logPath, p.tail(20))
	}
}

func (l *load) startAPI() {
	addr := l.freeAddr()
	l.apiToken = randomHex(24)
	l.api = l.startPinguin("api", "api", "PINGUIN_API_ADDR="+addr, "PINGUIN_ADMIN_TOKEN="+l.apiToken)
	l.apiBase = "http://" + addr
	l.waitReady(l.api, l.apiBase+"/readyz", 5*time.Minute) // migrations run first
}

// seed inserts the monitors with COPY and a few through the API.
func (l *load) seed() {
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Minute)
	defer cancel()
	if err := insertMonitors(ctx, l.db, l.target, l.k.monitors, l.k.interval); err != nil {
		l.b.Fatal(err)
	}
	for i := range viaAPI {
		if err := createThroughAPI(ctx, l.http, l.apiBase, l.apiToken, l.target, i, l.k.interval); err != nil {
			l.b.Fatal(err)
		}
	}
}

func (l *load) startScheduler() {
	addr := l.freeAddr()
	p := l.startPinguin("scheduler", "scheduler", "PINGUIN_ADMIN_ADDR="+addr, "PINGUIN_RECONCILE_INTERVAL=30s")
	l.metrics = append(l.metrics, "http://"+addr+"/metrics")
	l.waitReady(p, "http://"+addr+"/readyz", time.Minute)
}

func (l *load) startWorkers() {
	for i := 1; i <= l.k.workers; i++ {
		addr := l.freeAddr()
		name := fmt.Sprintf("worker-%d", i)
		p := l.startPinguin(name, "worker", "PINGUIN_ADMIN_ADDR="+addr, "PINGUIN_WORKER_ID=bench-"+fmt.Sprint(i))
		l.metrics = append(l.metrics, "http://"+addr+"/metrics")
		l.waitReady(p, "http://"+addr+"/readyz", time.Minute)
	}
}

// waitReady polls url until it answers 200, failing the benchmark if p
// exits or timeout passes first.
func (l *load) waitReady(p *process, url string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		if app.Probe(l.ctx, url) == nil {
			return
		}
		l.checkAlive()
		if time.Now().After(deadline) {
			l.b.Fatalf("%s not ready at %s within %s; last lines of %s:\n%s", p.name, url, timeout, p.logPath, p.tail(20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkAlive fails the benchmark if a Pinguin process has exited.
func (l *load) checkAlive() {
	for _, p := range l.pinguin {
		if p.exitedEarly() {
			l.died = p
			l.b.Fatal(p.exitReport())
		}
	}
}

// sleep waits d, watching that every Pinguin process stays up.
func (l *load) sleep(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		l.checkAlive()
		time.Sleep(min(250*time.Millisecond, time.Until(end)))
	}
	l.checkAlive()
}

// measure warms up for one interval, then reads a snapshot before and
// after the window and everything else the report needs while the
// processes still run.
func (l *load) measure() report {
	r := report{knobs: l.k, viaAPI: viaAPI, warmUp: l.k.interval + 2*time.Second}
	obs := l.observer()
	l.sleep(r.warmUp)
	if err := l.db.QueryRow(l.ctx, "SELECT count(*) FROM monitor_state").Scan(&r.warmChecked); err != nil {
		l.b.Fatalf("count monitors checked: %v", err)
	}
	r.loadStart = loadAvg()
	first, err := obs.snapshot(l.ctx)
	if err != nil {
		l.b.Fatalf("first snapshot: %v", err)
	}
	l.sleep(l.k.duration)
	second, err := obs.snapshot(l.ctx)
	if err != nil {
		l.b.Fatalf("second snapshot: %v", err)
	}
	own, background, err := pgProcesses(l.ctx, l.db)
	if err != nil {
		l.b.Fatal(err)
	}
	if err := r.fill(first, second, own, background); err != nil {
		l.b.Fatal(err)
	}
	l.finalFigures(&r, second.rows)
	return r
}

func (l *load) observer() *observer {
	postmaster, err := findPostmaster(l.ctx, l.db)
	if err != nil {
		l.b.Fatal(err)
	}
	return &observer{http: l.http, metricURLs: l.metrics, procs: l.pinguin, redis: l.redis, db: l.db, postmaster: postmaster}
}

// finalFigures reads peak memory, storage, log lines and the host's load.
func (l *load) finalFigures(r *report, rows int64) {
	for _, p := range l.pinguin {
		n, err := peakRSS(p.pid())
		if err != nil {
			l.b.Fatalf("peak RSS of %s: %v", p.name, err)
		}
		r.peak = append(r.peak, memFigure{p.name, n})
	}
	var err error
	if r.tables, err = readTables(l.ctx, l.db); err != nil {
		l.b.Fatal(err)
	}
	r.storedRows = rows
	for _, p := range l.pinguin {
		r.logLines = append(r.logLines, count{p.name, p.lines()})
	}
	r.loadEnd = loadAvg()
}

// stopPinguin stops the workers, the scheduler and the api, newest first,
// then shows the end of every log that is not empty (they log warnings and
// errors only).
func (l *load) stopPinguin() {
	for i := len(l.pinguin) - 1; i >= 0; i-- {
		l.stop(l.pinguin[i])
	}
	for _, p := range l.pinguin {
		if n := p.lines(); n > 0 {
			l.b.Logf("%s logged %d line(s) at warn and above; the last ones:\n%s", p.name, n, p.tail(10))
		}
	}
}

// bare runs the baseline against the same target at the same rate, with
// Pinguin stopped, so this process's CPU is the bare client's alone.
func (l *load) bare(r *report) {
	r.bareRate = r.expected()
	urlOf := func(i int) string { return fmt.Sprintf("http://%s/m/%d", l.target, i%l.k.monitors) }
	res, err := runBare(l.ctx, urlOf, r.bareRate, min(l.k.duration, 20*time.Second))
	if err != nil {
		l.b.Fatal(err)
	}
	r.bare = res
}
