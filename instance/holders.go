package instance

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Holders returns every member of the lease's group, this instance
// included: what [Holders] answers for the group, asked through the
// lease's own client.
func (l *Lease) Holders(ctx context.Context) ([]Member, error) {
	return Holders(ctx, kadm.NewClient(l.cl), l.group)
}
