package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Readiness is told whether the brokers can be reached; *metrics.Readiness
// is one, and so is a nil *metrics.Readiness (which ignores both calls).
type Readiness interface {
	SetConnected(ok bool)
	SetUnreachable(since time.Time, cause error)
}

// kafkaWarnEvery is how often, at most, the connector warns that it cannot
// reach Kafka, however many connection attempts fail meanwhile.
const kafkaWarnEvery = 30 * time.Second

// OutageWatch follows the connection attempts of every Kafka client of a run
// (the pipeline's admin, checkpoint and transactional clients, and the
// group membership), as a kgo hook, so that an outage is seen and said: kgo
// retries failed dials silently, and a live connector waiting for its next
// window would otherwise show nothing but a counter.
//
// From the first failed dial to the next successful one, whichever clients
// made them, the connector is not connected: /readyz answers 503 with the
// cause, and a warning "kafka brokers unreachable" is logged at once and
// then at most every kafkaWarnEvery with the number of failed attempts.
// The first successful dial after that logs how long Kafka was lost.
//
// The watch does nothing until Arm: while the pipeline starts it waits for
// the brokers itself, and says so.
type OutageWatch struct {
	logger *slog.Logger
	ready  Readiness // never nil
	now    func() time.Time
	every  time.Duration

	mu       sync.Mutex
	armed    bool
	down     bool      // the last dial failed
	since    time.Time // first failed dial of the outage
	failures int       // failed dials in the outage
	warned   bool      // the outage was announced
	lastWarn time.Time // last warning, across outages
	lastErr  error     // last failure, with its broker
}

// NewOutageWatch reports to logger and ready (nil for none). Attach it to
// every Kafka client of a run with kgo.WithHooks.
func NewOutageWatch(logger *slog.Logger, ready Readiness) *OutageWatch {
	if ready == nil {
		ready = noReadiness{}
	}
	return &OutageWatch{logger: logger, ready: ready, now: time.Now, every: kafkaWarnEvery}
}

type noReadiness struct{}

func (noReadiness) SetConnected(bool)               {}
func (noReadiness) SetUnreachable(time.Time, error) {}

// Arm starts watching: call it once the pipeline is connected.
func (w *OutageWatch) Arm() {
	w.mu.Lock()
	w.armed = true
	w.mu.Unlock()
}

// OnBrokerConnect implements kgo.HookBrokerConnect. kgo calls it after each
// connection attempt, once TLS and SASL are done or failed.
func (w *OutageWatch) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed)) {
		return // a request given up on, or a client closing: says nothing of the brokers
	}
	broker := net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
	now := w.now()
	var log func()

	w.mu.Lock()
	switch {
	case !w.armed:
	case err == nil && w.down:
		lost, failures, warned := now.Sub(w.since), w.failures, w.warned
		w.down, w.failures, w.warned, w.lastErr = false, 0, false, nil
		w.ready.SetConnected(true)
		if warned {
			log = func() {
				w.logger.Info("kafka brokers reachable again", "broker", broker,
					"unreachable_for", lost.Round(time.Millisecond).String(), "failed_attempts", failures)
			}
		}
	case err != nil:
		if !w.down {
			w.down, w.since, w.failures, w.warned = true, now, 0, false
		}
		w.failures++
		w.lastErr = fmt.Errorf("%s: %w", broker, err)
		w.ready.SetUnreachable(w.since, w.lastErr)
		if w.lastWarn.IsZero() || now.Sub(w.lastWarn) >= w.every {
			w.lastWarn, w.warned = now, true
			failures, lost := w.failures, now.Sub(w.since)
			log = func() {
				w.logger.Warn("kafka brokers unreachable", "broker", broker, "error", err.Error(),
					"failed_attempts", failures, "unreachable_for", lost.Round(time.Millisecond).String(),
					"next_warning_in", w.every.String())
			}
		}
	}
	w.mu.Unlock()
	if log != nil {
		log()
	}
}

// Unreachable reports whether the last dial failed and, if so, since when
// and the last failure (with its broker).
func (w *OutageWatch) Unreachable() (since time.Time, last error, down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.since, w.lastErr, w.down
}
