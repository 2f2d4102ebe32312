package bench

import (
	"fmt"
	"time"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Plan is the simulator density and the window that hold the rows of one
// benchmark run: the simulator serves exactly RowsPerHour rows per event
// and UTC hour, so a window of whole hours starting on an hour holds
// RowsPerHour × Window.Hours() rows.
type Plan struct {
	RowsPerHour int
	Window      time.Duration
}

// Rows is how many rows the planned window holds.
func (p Plan) Rows() int { return p.RowsPerHour * int(p.Window/time.Hour) }

// windowHours are the windows tried, longest first: divisors of a day, so
// that one connector window (FRESHCHAT_WINDOW=24h) covers the whole range.
var windowHours = [...]int{24, 12, 8, 6, 4, 3, 2, 1}

// PlanRows returns the longest window of windowHours that holds exactly rows
// rows at a density the simulator accepts (at most MaxRowsPerHour). When no
// window divides rows evenly, it returns a 24h window at rows/24 rounded to
// the nearest integer, which holds within 12 rows of the request.
func PlanRows(rows int) (Plan, error) {
	const maxRows = 24 * freshchattest.MaxRowsPerHour
	if rows < 1 || rows > maxRows {
		return Plan{}, fmt.Errorf("rows must be between 1 and %d (24h at the simulator's densest), got %d", maxRows, rows)
	}
	for _, h := range windowHours {
		if rows%h == 0 && rows/h <= freshchattest.MaxRowsPerHour {
			return Plan{RowsPerHour: rows / h, Window: time.Duration(h) * time.Hour}, nil
		}
	}
	return Plan{RowsPerHour: max(1, (rows+12)/24), Window: 24 * time.Hour}, nil
}
