// Package termview draws what the connector shows people on a terminal,
// and asks them: the live progress of a bounded run, redrawn in place, a
// yes/no confirmation, and counts with thousands separators.
package termview

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/pipeline"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressView redraws a per-event progress table in place on a terminal.
type progressView struct {
	w     io.Writer
	lines int // lines drawn last time, to move the cursor back over them
}

// draw replaces the previous frame with one for ps.
func (v *progressView) draw(ps []pipeline.Progress) {
	frame := renderProgress(ps)
	if v.lines > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA", v.lines) // cursor up over the last frame
	}
	for _, line := range frame {
		fmt.Fprintf(v.w, "\x1b[2K%s\n", line) // clear the line, then draw
	}
	v.lines = len(frame)
}

// renderProgress lays out one frame: a line per event and a total.
func renderProgress(ps []pipeline.Progress) []string {
	// ETA is the whole backfill's estimate (pipeline.EstimateBackfill):
	// the total's is the longest, since the events run at once. AHEAD
	// counts the reports submitted for windows after the one being read.
	const row = "%-30s %13s %12s %11s  %-24s %5s  %s"
	lines := []string{fmt.Sprintf(row, "EVENT", "WINDOWS", "ROWS", "RATE", "PROGRESS", "AHEAD", "ETA")}
	var rows, windows, left int64
	var rate float64
	var eta time.Duration
	ahead := 0
	for _, p := range ps {
		rows, windows, left, rate = rows+p.Rows, windows+p.Windows, left+p.WindowsLeft, rate+p.Rate
		eta, ahead = max(eta, p.ETA), ahead+p.ReportsAhead
		lines = append(lines, fmt.Sprintf(row, p.Event,
			fmt.Sprintf("%d/%d", p.Windows, p.Windows+p.WindowsLeft), Digits(p.Rows),
			Digits(int64(p.Rate))+"/s", bar(p.Percent, 16)+fmt.Sprintf(" %5.1f%%", p.Percent), fmt.Sprint(p.ReportsAhead), formatETA(p.ETA)))
	}
	total := 100.0
	if windows+left > 0 {
		total = 100 * float64(windows) / float64(windows+left)
	}
	lines = append(lines, fmt.Sprintf(row, "total",
		fmt.Sprintf("%d/%d", windows, windows+left), Digits(rows), Digits(int64(rate))+"/s",
		bar(total, 16)+fmt.Sprintf(" %5.1f%%", total), fmt.Sprint(ahead), formatETA(eta)))
	return lines
}

func bar(percent float64, width int) string {
	full := int(percent / 100 * float64(width))
	full = min(max(full, 0), width)
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}

func formatETA(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.Round(time.Second).String()
}

// Digits writes n with thousands separators: 1234567 → 1,234,567.
func Digits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Progressing is what ShowProgress shows: *pipeline.Pipeline is one.
type Progressing interface {
	Progress() []pipeline.Progress
}

// ShowProgress draws p's progress on w, a table with a line per event and
// a total, and redraws it in place every interval until stop is called,
// then draws a last frame. It does nothing when w is not a terminal.
func ShowProgress(w io.Writer, p Progressing, interval time.Duration) (stop func()) {
	if !IsTerminal(w) {
		return func() {}
	}
	v := &progressView{w: w}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				v.draw(p.Progress())
				return
			case <-t.C:
				v.draw(p.Progress())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Time is t in RFC 3339 in UTC with milliseconds when there are any.
func Time(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999Z07:00")
}
