package worker

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/lifecycle"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/notify"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// NotifyStore is what the delivery loop needs of PostgreSQL.
type NotifyStore interface {
	ClaimDeliveries(ctx context.Context, worker string, n int, lease time.Duration) ([]alert.Delivery, error)
	FinishDelivery(ctx context.Context, id int64, worker string, o store.Outcome) (bool, error)
	ChannelsByID(ctx context.Context, ids []int64) (map[int64]alert.Channel, error)
	GetChannel(ctx context.Context, id int64) (alert.Channel, error)
	QueueReminders(ctx context.Context, limit int) (int64, error)
	CountDeliveries(ctx context.Context) (store.DeliveryCounts, error)
	Queued() <-chan struct{}
}

// NotifierConfig tunes a Notifier.
type NotifierConfig struct {
	Worker      string        // names this worker in leases
	Concurrency int           // deliveries in flight at most
	Timeout     time.Duration // one attempt at most
	MaxAttempts int           // attempts before a dead letter
	RetryBase   time.Duration // wait after the first failed attempt; doubles, up to maxRetryWait
	Poll        time.Duration // how often to look for deliveries other processes queued
	PublicURL   string        // base of the links in messages
	// Housekeeping is how often reminders are queued and the outbox
	// gauges refreshed; 15 s when zero.
	Housekeeping time.Duration
}

// maxRetryWait caps the backoff between attempts.
const maxRetryWait = time.Hour

// Notifier is the delivery loop: it sends the outbox's deliveries through
// their channels with bounded concurrency and a timeout per attempt, apart
// from the checks, so a slow or hanging provider never stalls them. Each
// claim holds a lease; a worker that dies mid-delivery leaves its lease to
// run out, and another worker sends the delivery again, with the same
// idempotency key (at-least-once, deduplicated by receivers that can).
type Notifier struct {
	cfg     NotifierConfig
	store   NotifyStore
	client  *http.Client
	logger  *slog.Logger
	metrics *notifyMetrics
	runner  lifecycle.Runner
	done    chan struct{} // a delivery finished: a slot is free
}

// NewNotifier builds a Notifier; client makes the providers' HTTP requests.
func NewNotifier(cfg NotifierConfig, st NotifyStore, client *http.Client, reg prometheus.Registerer, logger *slog.Logger) *Notifier {
	if cfg.Housekeeping <= 0 {
		cfg.Housekeeping = 15 * time.Second
	}
	return &Notifier{cfg: cfg, store: st, client: client, logger: logger,
		metrics: newNotifyMetrics(reg), done: make(chan struct{}, 1)}
}

// Start runs the delivery loop until Stop.
func (n *Notifier) Start(ctx context.Context) error { return n.runner.Start(ctx, n.loop) }

// Stop takes no more deliveries and waits for those in flight (each ends
// within the attempt timeout) to be sent and recorded.
func (n *Notifier) Stop() { n.runner.Stop() }

// finishTimeout bounds recording an attempt's outcome.
const finishTimeout = 15 * time.Second

// lease is how long a claimed delivery stays this worker's: loading its
// channel and the attempt (a timeout each), recording the outcome, and
// room for a busy machine.
func (n *Notifier) lease() time.Duration { return 2*n.cfg.Timeout + finishTimeout + 15*time.Second }

func (n *Notifier) loop(ctx context.Context) {
	slots := make(chan struct{}, n.cfg.Concurrency)
	var sends sync.WaitGroup
	defer sends.Wait()
	poll := time.NewTicker(n.cfg.Poll)
	defer poll.Stop()
	house := time.NewTicker(n.cfg.Housekeeping)
	defer house.Stop()
	n.housekeeping(ctx)
	failing := false
	for ctx.Err() == nil {
		if free := cap(slots) - len(slots); free > 0 {
			claimed, err := n.claim(ctx, free)
			switch {
			case err != nil && !failing:
				n.logger.ErrorContext(ctx, "claim notifications (will retry)", "err", err)
				failing = true
			case err == nil && failing:
				n.logger.InfoContext(ctx, "claim notifications recovered")
				failing = false
			}
			for _, c := range claimed {
				slots <- struct{}{}
				sends.Go(func() {
					defer func() {
						<-slots
						select {
						case n.done <- struct{}{}:
						default:
						}
					}()
					n.deliver(ctx, c)
				})
			}
			if len(claimed) == free {
				continue // there may be more due
			}
		}
		select {
		case <-ctx.Done():
		case <-n.store.Queued():
		case <-n.done:
		case <-poll.C:
		case <-house.C:
			n.housekeeping(ctx)
		}
	}
}

// claimed is a delivery with the channel to send it through.
type claimed struct {
	delivery alert.Delivery
	channel  alert.Channel
	err      error // the channel could not be loaded: the attempt fails with it
}

// claim takes up to max due deliveries and loads their channels. Once
// claimed, each delivery is attempted and its outcome recorded, even when
// the loop is stopping or its channel cannot be loaded (that is the
// attempt's error), so that nothing claimed waits for its lease to run out.
func (n *Notifier) claim(ctx context.Context, max int) ([]claimed, error) {
	ds, err := n.store.ClaimDeliveries(ctx, n.cfg.Worker, max, n.lease())
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.Timeout)
	defer cancel()
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ChannelID
	}
	channels, err := n.store.ChannelsByID(lctx, ids)
	out := make([]claimed, len(ds))
	for i, d := range ds {
		out[i].delivery = d
		switch ch, ok := channels[d.ChannelID]; {
		case err == nil && ok:
			out[i].channel = ch
		case err == nil:
			out[i].err = errChannelGone
		default:
			// One channel whose secrets cannot be opened must not hold
			// up the others: load them one by one.
			out[i].channel, out[i].err = n.store.GetChannel(lctx, d.ChannelID)
			if errors.Is(out[i].err, alert.ErrNotFound) {
				out[i].err = errChannelGone
			}
		}
	}
	return out, nil
}

// errChannelGone fails the deliveries of a deleted channel for good.
var errChannelGone = errors.New("the channel was deleted")

// deliver makes one attempt and records its outcome. It runs to its end
// even when the loop is stopped: the attempt is bounded by the timeout.
func (n *Notifier) deliver(ctx context.Context, c claimed) {
	ctx = context.WithoutCancel(ctx)
	d := c.delivery
	start := time.Now()
	err := c.err
	if err == nil {
		err = n.send(ctx, c)
	}
	n.metrics.duration.Observe(time.Since(start).Seconds())
	o := store.Outcome{Delivered: err == nil}
	result := "delivered"
	if err != nil {
		o.Error = err.Error()
		var de *notify.DeliveryError
		retryable := true
		if errors.As(err, &de) {
			o.Status, retryable = de.Status, de.Retryable
		}
		var fe *notify.FieldError
		if errors.As(err, &fe) || errors.Is(err, errChannelGone) {
			retryable = false // the channel's configuration is wrong, or it is gone: trying again cannot help
		}
		if retryable && d.Attempts < n.cfg.MaxAttempts {
			o.RetryAt = time.Now().Add(n.backoff(d.Attempts))
			result = "retry"
		} else {
			result = "dead"
		}
	}
	n.metrics.attempts.WithLabelValues(d.Kind, result).Inc()
	logger := n.logger.With("delivery", d.ID, "channel", d.ChannelID, "kind", d.Kind, "attempt", d.Attempts)
	switch result {
	case "retry":
		logger.WarnContext(ctx, "notification failed; will retry", "err", err, "retry_at", o.RetryAt.UTC())
	case "dead":
		logger.ErrorContext(ctx, "notification failed; gave up (dead letter)", "err", err)
	}
	fctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	mine, ferr := n.store.FinishDelivery(fctx, d.ID, n.cfg.Worker, o)
	switch {
	case ferr != nil:
		// The lease runs out and the delivery is tried again: a message
		// may be sent twice, with the same idempotency key.
		logger.ErrorContext(ctx, "record notification outcome", "err", ferr)
	case !mine:
		logger.WarnContext(ctx, "notification's lease ran out before its outcome was recorded; another worker took it")
	}
}

func (n *Notifier) send(ctx context.Context, c claimed) error {
	sender, err := notify.New(notify.Config{Type: c.channel.Type, Settings: c.channel.Settings, Secrets: c.channel.Secrets}, n.client)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	return sender.Send(ctx, n.event(c.delivery))
}

// event is what a delivery tells, for the providers.
func (n *Notifier) event(d alert.Delivery) notify.Event {
	p := d.Payload
	e := notify.Event{
		Kind: d.Kind, MonitorID: monitor.FormatID(d.MonitorID), MonitorName: p.MonitorName,
		Target: p.Target, Link: n.cfg.PublicURL + "/api/v1/monitors/" + monitor.FormatID(d.MonitorID),
		Error: p.Error, StatusCode: p.StatusCode, Since: p.Since, At: p.At,
		Duration:   time.Duration(p.DurationSeconds * float64(time.Second)),
		DeliveryID: d.IdempotencyKey,
	}
	if d.IncidentID != 0 {
		e.IncidentID = monitor.FormatID(d.IncidentID)
	}
	return e
}

// backoff is the wait after attempt number attempt failed: RetryBase
// doubled for each attempt before, at most maxRetryWait, less up to a
// tenth at random so that many deliveries failing at once do not retry
// in step.
func (n *Notifier) backoff(attempt int) time.Duration {
	wait := n.cfg.RetryBase
	for i := 1; i < attempt && wait < maxRetryWait; i++ {
		wait *= 2
	}
	wait = min(wait, maxRetryWait)
	return wait - time.Duration(rand.Int64N(int64(wait)/10+1))
}

// housekeeping queues due reminders and refreshes the outbox gauges.
func (n *Notifier) housekeeping(ctx context.Context) {
	if _, err := n.store.QueueReminders(ctx, 100); err != nil && ctx.Err() == nil {
		n.logger.WarnContext(ctx, "queue reminders", "err", err)
	}
	counts, err := n.store.CountDeliveries(ctx)
	if err != nil {
		return
	}
	n.metrics.pending.Set(float64(counts.Pending))
	n.metrics.dead.Set(float64(counts.Dead))
}

type notifyMetrics struct {
	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	pending  prometheus.Gauge
	dead     prometheus.Gauge
}

func newNotifyMetrics(reg prometheus.Registerer) *notifyMetrics {
	m := &notifyMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pinguin", Subsystem: "notifications",
			Name: "attempts_total", Help: "Attempts to send a notification, by kind and result (delivered, retry, dead)."},
			[]string{"kind", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "pinguin", Subsystem: "notifications",
			Name: "attempt_duration_seconds", Help: "Duration of attempts to send a notification.", Buckets: lagBuckets}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pinguin", Subsystem: "notifications",
			Name: "pending", Help: "Notifications waiting to be sent (all workers; refreshed every 15 s)."}),
		dead: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pinguin", Subsystem: "notifications",
			Name: "dead", Help: "Notifications given up on: dead letters, listed by GET /api/v1/deliveries?state=dead (refreshed every 15 s)."}),
	}
	reg.MustRegister(m.attempts, m.duration, m.pending, m.dead)
	return m
}
