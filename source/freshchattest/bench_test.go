package freshchattest_test

import (
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// BenchmarkServeLink generates and serves one 200k-row link (4 hours at
// 50_000 rows per hour) per iteration, from a fresh simulator so the file is
// never already cached. It reports the zip size and the peak live heap seen
// while serving: the heap must stay flat (a few MB), whatever the row count.
func BenchmarkServeLink(b *testing.B) {
	const rowsPerHour, hours = 50_000, 4
	start := winStart
	end := start.Add(hours*time.Hour - time.Millisecond)
	var size int64
	peak := newHeapSampler()
	b.ReportAllocs()
	for b.Loop() {
		s := freshchattest.NewServer(freshchattest.Options{
			Now: newClock().Now, RowsPerHour: rowsPerHour, TempDir: b.TempDir(),
		})
		href := completed(b, s, submit(b, s, "Message-Sent", start, end)).hrefs()[0]
		resp, err := http.Get(href)
		require.NoError(b, err)
		n, err := io.Copy(io.Discard, resp.Body)
		require.NoError(b, err)
		require.NoError(b, resp.Body.Close())
		require.Equal(b, http.StatusOK, resp.StatusCode)
		size = n
		s.Close()
	}
	peak.stop()
	b.SetBytes(size)
	b.ReportMetric(float64(size), "zip-bytes")
	b.ReportMetric(rowsPerHour*hours, "rows")
	b.ReportMetric(float64(peak.max.Load())/(1<<20), "peak-heap-MB")
}

// heapSampler records the largest live heap seen every few milliseconds.
type heapSampler struct {
	max  atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func newHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{})}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > h.max.Load() {
				h.max.Store(v)
			}
			select {
			case <-h.done:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) stop() {
	close(h.done)
	h.wg.Wait()
}
