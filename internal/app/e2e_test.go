package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

// stack is the three binaries' assemblies, started in-process against a
// database and Redis prefix of the test's own.
type stack struct {
	t       *testing.T
	logger  *slog.Logger
	shared  config.Shared
	api     *app.API
	base    string
	workers []*app.Worker
	scheds  []*app.Scheduler
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackLogging(t, testenv.Logger(t))
}

func newStackLogging(t *testing.T, logger *slog.Logger) *stack {
	t.Helper()
	t.Parallel()
	dbURL := testenv.Database(t)
	client, prefix := testenv.Redis(t)
	_ = client
	shared := config.Shared{
		DatabaseURL: dbURL, RedisURL: testenv.RedisURL(), RedisPrefix: prefix,
		LogLevel: "debug", LogFormat: "text", SchemaWait: time.Minute,
	}
	s := &stack{t: t, shared: shared, logger: logger}
	ctx := context.Background()
	a, err := app.NewAPI(ctx, config.API{Shared: shared, Addr: "127.0.0.1:0", AutoMigrate: true, AdminToken: adminToken},
		logger.With("component", "api"))
	if err != nil {
		t.Fatalf("new api: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start api: %v", err)
	}
	t.Cleanup(a.Stop)
	s.api, s.base = a, "http://"+a.Addr()
	return s
}

func (s *stack) startScheduler() *app.Scheduler {
	s.t.Helper()
	ctx := context.Background()
	sc, err := app.NewScheduler(ctx, config.Scheduler{
		Shared: s.shared, DispatchInterval: 50 * time.Millisecond, DispatchBatch: 1000,
		ReconcileInterval: time.Second, HousekeepingInterval: time.Hour,
		ResultsRetention: 24 * time.Hour, RollupsRetention: 24 * time.Hour,
	}, s.logger.With("component", "scheduler"))
	if err != nil {
		s.t.Fatalf("new scheduler: %v", err)
	}
	if err := sc.Start(ctx); err != nil {
		s.t.Fatalf("start scheduler: %v", err)
	}
	s.t.Cleanup(sc.Stop)
	s.scheds = append(s.scheds, sc)
	return sc
}

func (s *stack) startWorker(options ...func(*config.Worker)) *app.Worker {
	s.t.Helper()
	ctx := context.Background()
	cfg := config.Worker{
		Shared: s.shared, WorkerID: fmt.Sprintf("w%d", len(s.workers)+1), Concurrency: 50, BatchSize: 100,
		FlushInterval: 50 * time.Millisecond, BufferLimit: 10000, ConfigSweepInterval: time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
	for _, o := range options {
		o(&cfg)
	}
	w, err := app.NewWorker(ctx, cfg, s.logger.With("component", "worker"))
	if err != nil {
		s.t.Fatalf("new worker: %v", err)
	}
	if err := w.Start(ctx); err != nil {
		s.t.Fatalf("start worker: %v", err)
	}
	s.t.Cleanup(w.Stop)
	s.workers = append(s.workers, w)
	return w
}

func (s *stack) call(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return res.StatusCode, out
}

func (s *stack) createMonitor(body string) string {
	s.t.Helper()
	status, m := s.call("POST", "/api/v1/monitors", body)
	if status != http.StatusCreated {
		s.t.Fatalf("create monitor = %d %v", status, m)
	}
	return m["id"].(string)
}

// target is a local HTTP server that counts the requests it answers.
type target struct {
	*httptest.Server
	hits, failures atomic.Int64
	fail           atomic.Bool
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tg.hits.Add(1)
		if tg.fail.Load() {
			tg.failures.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (s *stack) countRows(id string) int64 {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.shared.DatabaseURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM check_results WHERE monitor_id = $1::bigint`, id).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// adminToken is given to the api as PINGUIN_ADMIN_TOKEN.
const adminToken = "pgn_e2e-test-admin-token-0123456789"

const wait = 30 * time.Second // generous: CI machines are small and busy

func TestMonitorIsCheckedAndHistoryAddsUp(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	w := s.startWorker()
	tg := newTarget(t)
	id := s.createMonitor(`{"name":"flip","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500}`)

	testenv.Eventually(t, wait, func() bool {
		_, m := s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "up"
	}, "monitor up")
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= 3 }, "three successful checks")
	tg.fail.Store(true)
	testenv.Eventually(t, wait, func() bool {
		_, m := s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "down" && m["last_error"] == "status 500, expected 200-299"
	}, "monitor down with the status error")
	testenv.Eventually(t, wait, func() bool { return tg.failures.Load() >= 2 }, "two failed checks")
	tg.fail.Store(false)
	testenv.Eventually(t, wait, func() bool {
		_, m := s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "up"
	}, "monitor up again")

	// Stop the worker: it finishes and writes every check it ran.
	s.scheds[0].Stop()
	w.Stop()
	hits, failures := tg.hits.Load(), tg.failures.Load()

	_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=1000", "")
	list := checks["checks"].([]any)
	if int64(len(list)) != hits {
		t.Fatalf("/checks lists %d checks, the target answered %d", len(list), hits)
	}
	var failed int64
	for _, c := range list {
		if !c.(map[string]any)["ok"].(bool) {
			failed++
		}
	}
	if failed != failures {
		t.Fatalf("/checks has %d failures, the target answered %d 500s", failed, failures)
	}
	for _, bucket := range []string{"1m", "1h"} {
		_, up := s.call("GET", "/api/v1/monitors/"+id+"/uptime?bucket="+bucket, "")
		want := 100 * float64(hits-failures) / float64(hits)
		if up["checks"] != float64(hits) || up["failures"] != float64(failures) {
			t.Fatalf("uptime %s: %v checks %v failures, want %d and %d", bucket, up["checks"], up["failures"], hits, failures)
		}
		if got := up["uptime_percent"].(float64); got < want-0.001 || got > want+0.001 {
			t.Fatalf("uptime %s: %v%%, want %.4f%%", bucket, got, want)
		}
	}
}

func TestTwoSchedulersDoNotDoubleDispatch(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startScheduler()
	s.startWorker()
	s.startWorker()
	tg := newTarget(t)
	start := time.Now()
	id := s.createMonitor(`{"name":"once","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500}`)
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= 5 }, "five checks")
	_, _ = s.call("PATCH", "/api/v1/monitors/"+id, `{"enabled":false}`)
	elapsed := time.Since(start)
	// One check per second at most: twice as many would mean every due
	// time was dispatched by both schedulers.
	if max := int64(elapsed/time.Second) + 2; tg.hits.Load() > max {
		t.Fatalf("%d checks in %s at a 1s interval, want at most %d", tg.hits.Load(), elapsed, max)
	}
}

func TestCheckingResumesAfterRedisLosesEverything(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	tg := newTarget(t)
	id := s.createMonitor(`{"name":"flush","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500}`)
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= 2 }, "first checks")
	tg.fail.Store(true)
	testenv.Eventually(t, wait, func() bool {
		_, m := s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "down"
	}, "monitor down")
	_, before := s.call("GET", "/api/v1/monitors/"+id, "")

	// The equivalent of FLUSHDB for this test's keys (a real FLUSHDB would
	// wipe the keys of tests running in parallel).
	client, err := app.RedisClient(s.shared.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	testenv.DeleteKeys(t, client, s.shared.RedisPrefix)
	flushed := tg.hits.Load()

	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= flushed+3 }, "checks after the flush")
	// The live state was rebuilt from PostgreSQL: still down since the
	// same moment, not "down since the flush".
	_, after := s.call("GET", "/api/v1/monitors/"+id, "")
	if after["status"] != "down" || after["status_since"] != before["status_since"] {
		t.Fatalf("after flush: status %v since %v, want down since %v", after["status"], after["status_since"], before["status_since"])
	}
}

func TestPauseIntervalChangeAndDeleteTakeEffect(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	tg := newTarget(t)
	id := s.createMonitor(`{"name":"changes","url":"` + tg.URL + `","interval_seconds":60,"timeout_ms":500}`)
	// Interval 60s -> 1s: checks come every second straight away, not
	// after the minute the first due time may be away.
	at := tg.hits.Load()
	if status, _ := s.call("PATCH", "/api/v1/monitors/"+id, `{"interval_seconds":1}`); status != 200 {
		t.Fatalf("patch interval = %d", status)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return tg.hits.Load() >= at+3 }, "three checks within seconds of the interval change")

	// Pause: checks stop.
	if status, _ := s.call("PATCH", "/api/v1/monitors/"+id, `{"enabled":false}`); status != 200 {
		t.Fatalf("pause = %d", status)
	}
	settled := func() int64 {
		// At most one check already in flight may land after the pause.
		n := tg.hits.Load()
		testenv.Eventually(t, wait, func() bool {
			before := tg.hits.Load()
			deadline := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(deadline) {
				if tg.hits.Load() != before {
					return false
				}
				time.Sleep(50 * time.Millisecond)
			}
			return true
		}, "checks stop")
		return tg.hits.Load() - n
	}
	if extra := settled(); extra > 1 {
		t.Fatalf("%d checks after pause, want at most 1 in flight", extra)
	}
	// Resume, then delete: checks stop again and the monitor is gone.
	s.call("PATCH", "/api/v1/monitors/"+id, `{"enabled":true}`)
	at = tg.hits.Load()
	testenv.Eventually(t, 10*time.Second, func() bool { return tg.hits.Load() >= at+2 }, "checks after resume")
	if status, _ := s.call("DELETE", "/api/v1/monitors/"+id, ""); status != http.StatusNoContent {
		t.Fatalf("delete = %d", status)
	}
	if extra := settled(); extra > 1 {
		t.Fatalf("%d checks after delete, want at most 1 in flight", extra)
	}
	if status, _ := s.call("GET", "/api/v1/monitors/"+id, ""); status != 404 {
		t.Fatalf("get after delete = %d", status)
	}
}

func TestPostgresOutageLosesNoResults(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	w := s.startWorker()
	tg := newTarget(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, s.createMonitor(fmt.Sprintf(`{"name":"m%d","url":"%s","interval_seconds":1,"timeout_ms":500}`, i, tg.URL)))
	}
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= 10 }, "first checks")

	// Cut the test database off: refuse new connections, end existing ones.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	dbName := dbNameOf(t, s.shared.DatabaseURL)
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS false")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dbName + "' AND pid <> pg_backend_pid()")
	during := tg.hits.Load()
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= during+10 }, "checks while PostgreSQL is unreachable")
	exec("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS true")

	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= during+20 }, "checks after PostgreSQL is back")
	for _, sc := range s.scheds {
		sc.Stop()
	}
	w.Stop()
	var rows int64
	for _, id := range ids {
		rows += s.countRows(id)
	}
	if rows != tg.hits.Load() {
		t.Fatalf("%d results stored, the target answered %d checks", rows, tg.hits.Load())
	}
}

func dbNameOf(t *testing.T, url string) string {
	t.Helper()
	i := strings.LastIndex(url, "/")
	name, _, _ := strings.Cut(url[i+1:], "?")
	return name
}

func TestFirstStartCreatesAndLogsOneAdminToken(t *testing.T) {
	t.Parallel()
	dbURL := testenv.Database(t)
	_, prefix := testenv.Redis(t)
	shared := config.Shared{DatabaseURL: dbURL, RedisURL: testenv.RedisURL(), RedisPrefix: prefix,
		LogLevel: "info", LogFormat: "text", SchemaWait: time.Minute}
	start := func() string {
		var logs strings.Builder
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		a, err := app.NewAPI(context.Background(), config.API{Shared: shared, Addr: "127.0.0.1:0", AutoMigrate: true}, logger)
		if err != nil {
			t.Fatal(err)
		}
		a.Stop()
		return logs.String()
	}
	first := start()
	i := strings.Index(first, "token=pgn_")
	if i < 0 || !strings.Contains(first, "created the first admin API token") {
		t.Fatalf("first start logged no token:\n%s", first)
	}
	token, _, _ := strings.Cut(first[i+len("token="):], "\n")
	if second := start(); strings.Contains(second, "token=") {
		t.Fatalf("second start logged a token again:\n%s", second)
	}
	// The logged token works.
	a, err := app.NewAPI(context.Background(), config.API{Shared: shared, Addr: "127.0.0.1:0", AutoMigrate: true}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/api/v1/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the logged token: %v %v", res, err)
	}
	res.Body.Close()
}

func TestBlockedPrivateTargetIsRecorded(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(func(c *config.Worker) { c.BlockPrivateTargets = true })
	tg := newTarget(t)
	id := s.createMonitor(`{"name":"internal","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500}`)
	var m map[string]any
	testenv.Eventually(t, wait, func() bool {
		_, m = s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "down"
	}, "monitor down")
	_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=1", "")
	c := checks["checks"].([]any)[0].(map[string]any)
	if c["error_kind"] != "blocked" || !strings.HasPrefix(c["error"].(string), "blocked target: 127.0.0.1") {
		t.Fatalf("check = %v", c)
	}
	if tg.hits.Load() != 0 {
		t.Fatalf("the private target got %d requests", tg.hits.Load())
	}
}

// syncBuffer is a bytes.Buffer several goroutines may write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	s := newStackLogging(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s.startScheduler()
	s.startWorker()
	tg := newTarget(t)
	tg.fail.Store(true)
	const secretHeader = "Bearer header-secret-7f3a9c"
	id := s.createMonitor(`{"name":"s","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"headers":{"Authorization":"` + secretHeader + `"}}`)
	testenv.Eventually(t, wait, func() bool { return tg.failures.Load() >= 2 }, "failing checks")
	// A wrong token, a bad request and a change, to run the error paths.
	req, _ := http.NewRequest("GET", s.base+"/api/v1/monitors", nil)
	req.Header.Set("Authorization", "Bearer pgn_wrong-token-for-the-log-test")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	s.call("PATCH", "/api/v1/monitors/"+id, `{"interval_seconds":0}`)
	s.call("PATCH", "/api/v1/monitors/"+id, `{"enabled":false}`)
	for _, w := range s.workers {
		w.Stop()
	}
	out := logs.String()
	if len(out) == 0 {
		t.Fatal("nothing was logged")
	}
	for _, secret := range []string{adminToken, "header-secret-7f3a9c", "wrong-token-for-the-log-test"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the logs contain %q:\n%s", secret, out)
		}
	}
}
