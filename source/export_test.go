package source

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// RowsOfBody reads data as the body of a report's only link, as Open would
// after downloading it, without HTTP.
func RowsOfBody(ctx context.Context, data []byte) *Rows {
	ctx, cancel := context.WithCancel(ctx)
	rows := &Rows{
		ctx:    ctx,
		cancel: cancel,
		log:    slog.New(slog.DiscardHandler),
		id:     "rep-mem",
		nLinks: 1,
		link:   -1,
	}
	rows.pos.ReportID, rows.pos.Digest = rows.id, checkpoint.NewDigest
	rows.fetch = func(context.Context, int) (*linkBody, error) {
		return &linkBody{ReaderAt: bytes.NewReader(data), size: int64(len(data)), release: func() error { return nil }}, nil
	}
	rows.startAhead(0)
	return rows
}
