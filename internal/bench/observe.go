package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// snapshot is everything the benchmark reads at one instant; the figures
// it prints are differences of two snapshots.
type snapshot struct {
	at       time.Time
	metrics  metrics                  // the scheduler's and workers' /metrics, merged
	cpu      map[string]time.Duration // CPU time of each Pinguin process, by name
	redisCPU time.Duration            // the whole Redis server's
	pg       pgCPU
	rows     int64 // rows in check_results
}

// pgCPU is the CPU time of a PostgreSQL server's processes.
type pgCPU struct {
	visible bool                  // false when its processes are not visible here
	total   time.Duration         // postmaster, its live children and its exited children
	perPID  map[int]time.Duration // live children
}

// observer takes snapshots.
type observer struct {
	http       *http.Client
	metricURLs []string   // /metrics of the scheduler and workers
	procs      []*process // Pinguin processes
	redis      redis.UniversalClient
	db         *pgx.Conn // on the bench database
	postmaster int       // 0 when PostgreSQL's processes are not visible
}

// snapshot reads everything now.
func (o *observer) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now(), metrics: newMetrics(), cpu: make(map[string]time.Duration)}
	for _, u := range o.metricURLs {
		if err := s.metrics.scrape(ctx, o.http, u); err != nil {
			return s, err
		}
	}
	for _, p := range o.procs {
		c, err := processCPU(p.pid())
		if err != nil {
			return s, fmt.Errorf("CPU of %s: %w", p.name, err)
		}
		s.cpu[p.name] = c
	}
	var err error
	if s.redisCPU, err = redisCPU(ctx, o.redis); err != nil {
		return s, err
	}
	if o.postmaster != 0 {
		if s.pg, err = postgresCPU(o.postmaster); err != nil {
			return s, err
		}
	}
	if err := o.db.QueryRow(ctx, "SELECT count(*) FROM check_results").Scan(&s.rows); err != nil {
		return s, fmt.Errorf("count check results: %w", err)
	}
	return s, nil
}

// redisCPU is the CPU time the Redis server has used (INFO cpu).
func redisCPU(ctx context.Context, client redis.UniversalClient) (time.Duration, error) {
	info, err := client.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO cpu: %w", err)
	}
	return parseRedisCPU(info)
}

// parseRedisCPU adds used_cpu_sys and used_cpu_user of an INFO reply.
func parseRedisCPU(info string) (time.Duration, error) {
	var total float64
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || (name != "used_cpu_sys" && name != "used_cpu_user") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("redis INFO %s=%q: %w", name, value, err)
		}
		total += v
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("redis INFO cpu lacks used_cpu_sys or used_cpu_user")
	}
	return time.Duration(total * float64(time.Second)), nil
}

// findPostmaster returns the pid of the postmaster serving conn: the parent
// of conn's backend. It returns 0 when that process is not visible here as
// a postgres process (another host, or another pid namespace).
func findPostmaster(ctx context.Context, conn *pgx.Conn) (int, error) {
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0, fmt.Errorf("read backend pid: %w", err)
	}
	b, err := readStat(backend)
	if err != nil || b.comm != "postgres" {
		return 0, nil
	}
	pm, err := readStat(b.ppid)
	if err != nil || pm.comm != "postgres" {
		return 0, nil
	}
	return pm.pid, nil
}

// postgresCPU reads the CPU time of the server whose postmaster is pid:
// the postmaster's own, its live children's (backends and background
// processes), and its exited children's, so that a backend that exits
// between two snapshots still counts.
func postgresCPU(postmaster int) (pgCPU, error) {
	pm, err := readStat(postmaster)
	if err != nil {
		return pgCPU{}, fmt.Errorf("postmaster: %w", err)
	}
	kids, err := children(postmaster)
	if err != nil {
		return pgCPU{}, err
	}
	c := pgCPU{visible: true, total: pm.cpu() + pm.childrenCPU(), perPID: make(map[int]time.Duration, len(kids))}
	for _, k := range kids {
		c.total += k.cpu()
		c.perPID[k.pid] = k.cpu()
	}
	return c, nil
}

// backendsCPU is the CPU time the backends pids used between two readings;
// a backend absent from the first started in between.
func backendsCPU(first, second pgCPU, pids []int) time.Duration {
	var d time.Duration
	for _, pid := range pids {
		d += second.perPID[pid] - first.perPID[pid]
	}
	return d
}

// pgProcesses lists a server's backends connected to conn's database
// (own) and its background processes (WAL writer, checkpointer, ...).
func pgProcesses(ctx context.Context, conn *pgx.Conn) (own, background []int, err error) {
	rows, err := conn.Query(ctx, `SELECT pid, datname IS NOT DISTINCT FROM current_database()
		FROM pg_stat_activity
		WHERE datname = current_database() OR backend_type <> 'client backend'`)
	if err != nil {
		return nil, nil, fmt.Errorf("list PostgreSQL processes: %w", err)
	}
	var pid int
	var isOwn bool
	_, err = pgx.ForEachRow(rows, []any{&pid, &isOwn}, func() error {
		if isOwn {
			own = append(own, pid)
		} else {
			background = append(background, pid)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list PostgreSQL processes: %w", err)
	}
	return own, background, nil
}

// table is the disk size of a table, indexes and TOAST included, and its
// row versions as PostgreSQL's statistics count them (they lag by about a
// second).
type table struct {
	name       string
	bytes      int64
	live, dead int64
	updates    int64 // rows updated since the database was made
	hotUpdates int64 // of which without touching an index
	isHyper    bool
}

// storedTables are the tables a check writes to.
var storedTables = []string{"check_results", "check_rollups_hourly", "monitor_state"}

// readTables measures storedTables; with TimescaleDB, a hypertable's size
// is that of all its chunks.
func readTables(ctx context.Context, conn *pgx.Conn) ([]table, error) {
	out := make([]table, 0, len(storedTables))
	for _, name := range storedTables {
		t := table{name: name}
		var err error
		if t.isHyper, err = isHypertable(ctx, conn, name); err != nil {
			return nil, err
		}
		size := "pg_total_relation_size(c.oid)"
		if t.isHyper {
			size = "hypertable_size(c.oid)"
		}
		err = conn.QueryRow(ctx, `SELECT `+size+`, coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0),
				coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_hot_upd, 0)
			FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
			WHERE c.oid = to_regclass($1)`, name).Scan(&t.bytes, &t.live, &t.dead, &t.updates, &t.hotUpdates)
		if err != nil {
			return nil, fmt.Errorf("measure table %s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// isHypertable reports whether table is a TimescaleDB hypertable.
func isHypertable(ctx context.Context, conn *pgx.Conn, table string) (bool, error) {
	var timescale bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')").Scan(&timescale)
	if err != nil || !timescale {
		return false, wrap("look for TimescaleDB", err)
	}
	var hyper bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
		WHERE hypertable_name = $1)`, table).Scan(&hyper)
	return hyper, wrap("look for hypertable "+table, err)
}

// wrap is fmt.Errorf("what: %w", err), or nil without an error.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
