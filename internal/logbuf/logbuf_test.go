package logbuf_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
)

func TestWrittenWakesOnTheWriteThatCompletesTheText(t *testing.T) {
	var b logbuf.Buffer
	fmt.Fprint(&b, "msg=start\n")
	select {
	case <-b.Written("start"):
	default:
		t.Fatal("text already written: the channel must be closed at once")
	}

	done := b.Written(`msg="window committed"`)
	fmt.Fprint(&b, `level=INFO msg="window`)
	select {
	case <-done:
		t.Fatal("closed before the text was complete")
	default:
	}
	fmt.Fprint(&b, ` committed" rows=3`+"\n")
	select {
	case <-done:
	default:
		t.Fatal("not closed by the write that completed the text")
	}
}

func TestConcurrentWriters(t *testing.T) {
	var b logbuf.Buffer
	last := b.Written("writer 7 line 99\n")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Wait()
	<-last
	if got := len(b.String()); got < 8*100*len("writer 0 line 0\n") {
		t.Fatalf("%d bytes written, want every line", got)
	}
}
