package freshchattest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Job statuses as the API spells them.
const (
	statusPending   = "PENDING"
	statusCompleted = "COMPLETED"
	statusFailed    = "FAILED"
)

type job struct {
	id          string
	event       *eventDef
	start, end  time.Time // end is inclusive
	forgetAt    time.Time // zero: never forgotten
	pendingLeft int
	fail        bool
	status      string
	legacy      bool      // answer the single "link" shape
	links       []*object // set on completion

	// Faults fixed at submission (see Faults).
	emptyLinksLeft int // GETs still answered without links once completed
	inProgressLeft int // GETs still answered with links IN_PROGRESS
	pendingStatus  string
	vanishAfter    int       // link bodies served before the job vanishes; 0 = never
	relapseLeft    int       // GETs still answered with links IN_PROGRESS again, once a body was served
	readyAt        time.Time // no completion before (ReportLatency, ReportTimePerRow)
	bodiesServed   int       // link bodies served
	vanished       bool
}

// relapsePolls is how many GETs a relapsing job answers with its links
// IN_PROGRESS again before they are finished once more.
const relapsePolls = 3

// errNoSuchEvent is validate's message for an unknown event name, which
// the API answers in its other error shape.
const errNoSuchEvent = "No matching event name"

// errorBody is the API's JSON error shape.
type errorBody struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

var statusNames = map[int]string{
	http.StatusBadRequest:          "BAD_REQUEST",
	http.StatusUnauthorized:        "UNAUTHORIZED",
	http.StatusNotFound:            "NOT_FOUND",
	http.StatusTooManyRequests:     "TOO_MANY_REQUESTS",
	http.StatusInternalServerError: "INTERNAL_SERVER_ERROR",
	http.StatusServiceUnavailable:  "SERVICE_UNAVAILABLE",
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // hrefs keep their literal '&'
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Code: code, Status: statusNames[code], Message: msg})
}

// api wraps an API route: it counts the request, injects the rate-limit and
// server-error faults (before authentication, as a gateway would), then
// checks the bearer token.
func (s *Server) api(counter *int, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		*counter++
		s.apiCalls++
		f, n := s.faults, s.apiCalls
		s.mu.Unlock()
		switch {
		case f.RateLimitEvery > 0 && n%f.RateLimitEvery == 0:
			w.Header().Set("Retry-After", strconv.FormatInt(f.retryAfterSeconds(), 10))
			writeError(w, http.StatusTooManyRequests, "rate limit exceeded, retry later")
			return
		case f.ServerErrorEvery > 0 && n%f.ServerErrorEvery == 0:
			writeError(w, http.StatusServiceUnavailable, "service temporarily unavailable")
			return
		}
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		next(w, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	s.mu.Lock()
	want := s.token
	s.mu.Unlock()
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want)) == 1
}

type submitRequest struct {
	Start            string `json:"start"`
	End              string `json:"end"`
	Event            string `json:"event"`
	Format           string `json:"format"`
	ShouldExcludePII *bool  `json:"should_exclude_pii"` // accepted and ignored
}

type linkBody struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type submitResponse struct {
	ID   string   `json:"id"`
	Link linkBody `json:"link"`
}

func parseUTC(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is required", field)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || !strings.HasSuffix(v, "Z") {
		return time.Time{}, fmt.Errorf("%s must be a UTC time like 2020-01-23T00:30:00.000Z, got %q", field, v)
	}
	return t, nil
}

// validate checks a submit body the way the API documents it and returns
// the 400 message, or "" when the request is acceptable.
func validate(req submitRequest, now time.Time) (d *eventDef, start, end time.Time, msg string) {
	if req.Event == "" {
		return nil, start, end, "event is required"
	}
	if d = lookupEvent(req.Event); d == nil {
		return nil, start, end, errNoSuchEvent
	}
	if req.Format != "csv" {
		return nil, start, end, fmt.Sprintf("format must be \"csv\", got %q", req.Format)
	}
	var err error
	if start, err = parseUTC("start", req.Start); err != nil {
		return nil, start, end, err.Error()
	}
	if end, err = parseUTC("end", req.End); err != nil {
		return nil, start, end, err.Error()
	}
	switch {
	case end.Before(start):
		return nil, start, end, "end must not be earlier than start"
	case start.Before(now.AddDate(0, -15, 0)):
		return nil, start, end, "start must not be earlier than 15 months from the current date"
	case end.After(start.AddDate(0, 1, 0)):
		return nil, start, end, "end must not be later than a month from start"
	}
	return d, start, end, ""
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	now := s.now()
	d, start, end, msg := validate(req, now)
	if msg == errNoSuchEvent {
		// The API's other error shape, seen for an unknown event name.
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_code": 5, "message": "No matching event name"})
		return
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if id, ok := s.reusable(d, start.UTC(), end.UTC(), now); ok {
		writeJSON(w, http.StatusAccepted, submitResponse{ID: id, Link: linkBody{Rel: "extracts", Href: "/reports/raw/" + id}})
		return
	}
	j := &job{id: newUUID(), event: d, start: start.UTC(), end: end.UTC()}
	s.mu.Lock()
	f := s.faults
	if retry := s.submitBudget(now); retry > 0 {
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		writeError(w, http.StatusTooManyRequests, "submit budget exceeded, retry later")
		return
	}
	s.jobCount++
	rows := s.gen.count(d, j.start.UnixMilli(), j.end.UnixMilli()+1)
	j.fail = f.MaxReportRows > 0 && rows > int64(f.MaxReportRows)
	j.readyAt = now.Add(f.ReportLatency + time.Duration(rows)*f.ReportTimePerRow)
	j.status, j.pendingStatus = f.PendingStatus, f.PendingStatus
	j.pendingLeft = f.PendingPolls
	j.fail = j.fail || s.jobCount <= f.FailJobs
	j.emptyLinksLeft, j.inProgressLeft = f.EmptyLinksPolls, f.LinksInProgressPolls
	if s.jobCount <= f.VanishJobs {
		j.vanishAfter = f.VanishAfterLinks
	}
	if s.jobCount <= f.RelapseJobs {
		j.relapseLeft = relapsePolls
	}
	if s.faults.JobTTL > 0 {
		j.forgetAt = now.Add(s.faults.JobTTL)
	}
	s.jobs[j.id] = j
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, submitResponse{
		ID:   j.id,
		Link: linkBody{Rel: "extracts", Href: "/reports/raw/" + j.id},
	})
}

// reusable returns the id of a completed job of d for [start, end] that
// a submit may be answered with (Options.ReuseReports).
func (s *Server) reusable(d *eventDef, start, end, now time.Time) (string, bool) {
	if !s.reuse {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, j := range s.jobs {
		if j.event == d && j.start.Equal(start) && j.end.Equal(end) && j.status == statusCompleted &&
			!j.vanished && (j.forgetAt.IsZero() || now.Before(j.forgetAt)) {
			return id, true
		}
	}
	return "", false
}

type extractBody struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Status string    `json:"status"`
	Link   *linkBody `json:"link,omitempty"`
}

type reportBody struct {
	ID       string    `json:"id"`
	Status   string    `json:"status"`
	Interval string    `json:"interval"`
	Links    any       `json:"links,omitempty"` // []extractBody; an empty one is sent as []
	Link     *linkBody `json:"link,omitempty"`
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	now := s.now()
	s.mu.Lock()
	j := s.jobs[id]
	if j != nil && (j.vanished || !j.forgetAt.IsZero() && !now.Before(j.forgetAt)) {
		delete(s.jobs, id)
		j = nil
	}
	if j == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("report %q not found", id))
		return
	}
	if j.status == j.pendingStatus {
		switch {
		case j.pendingLeft > 0:
			j.pendingLeft--
		case now.Before(j.readyAt):
		case j.fail:
			j.status = statusFailed
		default:
			s.complete(j, now)
		}
	}
	body := reportBody{ID: j.id, Status: j.status, Interval: javaTimestamp(j.start) + "_" + javaTimestamp(j.end)}
	switch {
	case j.status != statusCompleted:
	case j.emptyLinksLeft > 0:
		// Completed, but its files are not attached yet.
		j.emptyLinksLeft--
		body.Links = []extractBody{}
	case j.inProgressLeft > 0 || j.relapseLeft > 0 && j.bodiesServed > 0:
		if j.inProgressLeft > 0 {
			j.inProgressLeft--
		} else {
			j.relapseLeft--
		}
		var links []extractBody
		for _, o := range j.links {
			links = append(links, extractBody{
				From:   time.UnixMilli(o.from).UTC().Format(time.RFC3339Nano),
				To:     time.UnixMilli(o.to - 1).UTC().Format(time.RFC3339Nano),
				Status: "IN_PROGRESS",
			})
		}
		body.Links = links
	default:
		origin := s.origin(r)
		ttl := s.faults.LinkTTL
		var links []extractBody
		for _, o := range j.links {
			link := linkBody{Rel: "extraction", Href: s.signedURL(origin, o.key, now, ttl)}
			if j.legacy {
				body.Link = &link
				continue
			}
			links = append(links, extractBody{
				From:   time.UnixMilli(o.from).UTC().Format(time.RFC3339Nano),
				To:     time.UnixMilli(o.to - 1).UTC().Format(time.RFC3339Nano),
				Status: statusCompleted,
				Link:   &link,
			})
		}
		if links != nil {
			body.Links = links
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// submitBudget records a submit at now and returns 0, or, when
// Faults.SubmitsPerMinute submits were accepted in the last minute, records
// nothing and returns how long until the oldest of them is a minute old.
// Called with s.mu held.
func (s *Server) submitBudget(now time.Time) time.Duration {
	n := s.faults.SubmitsPerMinute
	if n <= 0 {
		return 0
	}
	cut := 0
	for cut < len(s.submitTimes) && !now.Before(s.submitTimes[cut].Add(time.Minute)) {
		cut++
	}
	s.submitTimes = s.submitTimes[cut:]
	if len(s.submitTimes) >= n {
		return s.submitTimes[0].Add(time.Minute).Sub(now)
	}
	s.submitTimes = append(s.submitTimes, now)
	return 0
}

// complete ends job j at now: its window [start, end] is split into
// LinksPerReport sub-periods (one with LegacyLinkShape), each becoming a
// file holding the rows with created_at <= now. Called with s.mu held.
func (s *Server) complete(j *job, now time.Time) {
	f := s.faults
	n := int64(f.LinksPerReport)
	j.legacy = f.LegacyLinkShape
	if j.legacy {
		n = 1
	}
	shape := newShape(f)
	start := j.start.UnixMilli()
	span := j.end.UnixMilli() - start + 1 // end is inclusive
	cutoff := now.UnixMilli() + 1         // rows with created_at <= now
	for k := range n {
		o := &object{
			key:         fmt.Sprintf("reports/%s/%d-of-%d%s", j.id, k+1, n, shape.ext()),
			event:       j.event,
			from:        start + k*span/n,
			to:          start + (k+1)*span/n,
			modTime:     now.UTC().Truncate(time.Second),
			shape:       shape,
			headerDrift: f.HeaderDrift,
			job:         j,
		}
		o.rowsTo = min(o.to, cutoff)
		o.etag = s.etag(o)
		j.links = append(j.links, o)
		s.objects[o.key] = o
	}
	j.status = statusCompleted
}

// etag is o's strong ETag: a hash of everything its bytes depend on.
func (s *Server) etag(o *object) string {
	key := fmt.Sprintf("%s|%d|%d|%d|%d|%+v",
		o.event.name, o.from, o.rowsTo, s.gen.rowsPerHour, o.modTime.Unix(), o.shape)
	if o.headerDrift {
		key += "|header-drift"
	}
	return fmt.Sprintf("%q", fmt.Sprintf("%016x", stringSeed(key)))
}

// javaTimestamp formats t the way java.sql.Timestamp prints it:
// "2020-09-14 10:00:00.0", the fraction in milliseconds with trailing zeros
// trimmed.
func javaTimestamp(t time.Time) string {
	t = t.UTC()
	frac := strconv.Itoa(t.Nanosecond()/int(time.Millisecond) + 1000)[1:]
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		frac = "0"
	}
	return t.Format("2006-01-02 15:04:05") + "." + frac
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return uuid(hi, lo)
}
