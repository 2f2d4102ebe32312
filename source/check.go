package source

import (
	"context"
	"errors"
)

// CheckReportID is the report [Client.Check] asks for: one that never
// exists, so the API answers 404 once it has accepted the token.
const CheckReportID = "00000000-0000-0000-0000-000000000000"

// Check asks the API for a report that does not exist, the cheapest
// authenticated request: a 404 (or, unexpectedly, the report) means the API
// is reachable and accepts the token, and Check returns nil. Otherwise it
// returns the request's error after the client's retries: an [*APIError]
// with status 401 or 403 when the token is refused (see [TokenRefused]),
// a [Retryable] error when the API cannot be reached or fails.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.Get(ctx, CheckReportID)
	if err == nil || errors.Is(err, ErrReportNotFound) {
		return nil
	}
	return err
}

// TokenRefused reports whether err holds an API answer 401 or 403: the
// token is missing, wrong, revoked, or lacks permission.
func TokenRefused(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == 401 || ae.StatusCode == 403)
}
