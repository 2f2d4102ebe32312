// Package baseline is the yardstick of the end-to-end benchmark: a plain
// Freshchat → Kafka pipeline of the kind one writes first, measured over the
// same report and broker as the connector.
//
// It is deliberately typical, not tuned and not exactly-once: it asks the
// API for the report with the connector's own client (source.Client: the
// three requests it takes are not what is compared), then downloads each
// link whole into memory (io.ReadAll), opens the zip from a
// bytes.Reader, reads rows with encoding/csv without ReuseRecord, builds a
// map[string]any of typed values per row, encodes it with avro.Marshal and
// the event's hamba schema, and sends batches of records with ProduceSync on
// an idempotent (default) producer, without transactions, checkpoints or
// record headers. Values carry the same single-object framing as the
// connector's, so both topics pass the same check.
package baseline

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
)

// Config is one bounded run.
type Config struct {
	APIURL       string // Freshchat API base URL, ending in /v2
	Token        string
	Event        string
	From, To     time.Time // half-open window, one report
	Brokers      []string
	Topic        string
	Batch        int           // records per ProduceSync call
	PollInterval time.Duration // before the first report poll (source.ClientConfig.PollInterval)
}

// Run extracts the window's report into cfg.Topic and returns how many rows
// it produced.
func Run(ctx context.Context, cfg Config) (int, error) {
	s, err := schemas.Lookup(cfg.Event)
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, -1, -1, nil, cfg.Topic); err != nil {
		return 0, fmt.Errorf("creating %s: %w", cfg.Topic, err)
	}

	base, err := url.Parse(cfg.APIURL)
	if err != nil {
		return 0, fmt.Errorf("API URL: %w", err)
	}
	api, err := source.NewClient(source.ClientConfig{BaseURL: base, Token: cfg.Token, PollInterval: cfg.PollInterval})
	if err != nil {
		return 0, err
	}
	rep, err := api.Prepare(ctx, cfg.Event, source.Window{Start: cfg.From, End: cfg.To}, "")
	if err != nil {
		return 0, err
	}

	p := &producer{cl: cl, topic: cfg.Topic, batch: cfg.Batch, schema: s.Avro,
		prefix: sink.SingleObjectPrefix(s.Fingerprint), types: fieldTypes(s.Avro)}
	for _, l := range rep.Links {
		data, err := download(ctx, l.Href)
		if err != nil {
			return p.rows, err
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return p.rows, fmt.Errorf("reading zip: %w", err)
		}
		for _, f := range zr.File {
			if err := p.file(ctx, f); err != nil {
				return p.rows, fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	}
	return p.rows, p.flush(ctx)
}

func download(ctx context.Context, href string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// fieldType is how a column's cell becomes a Go value for avro.Marshal.
type fieldType int

const (
	typeString fieldType = iota
	typeBool
	typeInt
	typeLong
	typeDouble
	typeTimestamp
)

// fieldTypes maps each field of the record schema to its cell type.
func fieldTypes(schema avro.Schema) map[string]fieldType {
	out := map[string]fieldType{}
	for _, f := range schema.(*avro.RecordSchema).Fields() {
		t := f.Type()
		if u, ok := t.(*avro.UnionSchema); ok {
			t = u.Types()[len(u.Types())-1]
		}
		switch t.Type() {
		case avro.Boolean:
			out[f.Name()] = typeBool
		case avro.Int:
			out[f.Name()] = typeInt
		case avro.Long:
			out[f.Name()] = typeLong
			if ls, ok := t.(avro.LogicalTypeSchema); ok && ls.Logical() != nil && ls.Logical().Type() == avro.TimestampMillis {
				out[f.Name()] = typeTimestamp
			}
		case avro.Double:
			out[f.Name()] = typeDouble
		case avro.String:
			out[f.Name()] = typeString
		}
	}
	return out
}

func convert(t fieldType, cell string) (any, error) {
	if cell == "" && t != typeTimestamp {
		return nil, nil
	}
	switch t {
	case typeBool:
		return strconv.ParseBool(cell)
	case typeInt:
		return strconv.Atoi(cell)
	case typeLong:
		return strconv.ParseInt(cell, 10, 64)
	case typeDouble:
		return strconv.ParseFloat(cell, 64)
	case typeTimestamp:
		ts, err := time.Parse(time.RFC3339Nano, cell)
		if err != nil {
			ts, err = time.Parse("2006-01-02 15:04:05", cell)
		}
		return ts.UTC(), err
	}
	return cell, nil
}

// producer turns rows into records and sends them in batches.
type producer struct {
	cl     *kgo.Client
	topic  string
	batch  int
	schema avro.Schema
	prefix []byte
	types  map[string]fieldType

	pending []*kgo.Record
	rows    int
}

func (p *producer) file(ctx context.Context, f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\uFEFF"))
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		row := map[string]any{}
		extra := map[string]string{}
		for i, col := range header {
			t, known := p.types[col]
			if !known {
				extra[col] = rec[i]
				continue
			}
			v, err := convert(t, rec[i])
			if err != nil {
				return fmt.Errorf("column %s: %w", col, err)
			}
			row[col] = v
		}
		row[schemas.ExtraColumnsField] = extra
		body, err := avro.Marshal(p.schema, row)
		if err != nil {
			return err
		}
		var key []byte
		for _, k := range []string{"interaction_id", "conversation_id", "agent_id", "actor_id"} {
			if id, ok := row[k].(string); ok && id != "" {
				key = []byte(id)
				break
			}
		}
		p.pending = append(p.pending, &kgo.Record{Topic: p.topic, Key: key, Value: append(append([]byte{}, p.prefix...), body...)})
		p.rows++
		if len(p.pending) >= p.batch {
			if err := p.flush(ctx); err != nil {
				return err
			}
		}
	}
}

func (p *producer) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	if err := p.cl.ProduceSync(ctx, p.pending...).FirstErr(); err != nil {
		return fmt.Errorf("producing: %w", err)
	}
	p.pending = nil
	return nil
}
