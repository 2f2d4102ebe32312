package cli

import (
	"context"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/status"
)

// serveStatus makes the metrics server's GET /status answer status.Live.
func (t *telemetry) serveStatus(cfg *config.Config, p *pipeline.Pipeline) {
	if t == nil {
		return
	}
	t.srv.SetStatus(func(ctx context.Context) any {
		return status.Live(ctx, cfg, p.Committed(), p.Member(), t.m, time.Now().UTC())
	})
}
