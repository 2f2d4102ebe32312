package schemas

// parseTimestamp parses a created_at cell into milliseconds since the Unix
// epoch, truncating sub-millisecond digits (towards the past, like
// time.Time.UnixMilli). Surrounding spaces are ignored. Accepted:
//
//	2020-09-14T10:00:00Z             RFC 3339 / ISO 8601, 'T' or ' ' between date and time
//	2020-09-14T10:00:00.123456789Z   1 to 9 fractional digits
//	2020-09-14T15:30:00.000+05:30    zone Z, ±hh:mm, ±hhmm or ±hh
//	2020-09-14 10:00:00.0            no zone: UTC
//
// It never allocates; the whole accepted grammar is handled here, so there
// is no slower time.Parse path.
func parseTimestamp(s string) (int64, error) {
	s = trimSpace(s)
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, errTimestamp
	}
	year, ok := atoiFixed(s[0:4])
	month, ok2 := atoiFixed(s[5:7])
	day, ok3 := atoiFixed(s[8:10])
	hour, ok4 := atoiFixed(s[11:13])
	minute, ok5 := atoiFixed(s[14:16])
	sec, ok6 := atoiFixed(s[17:19])
	if !(ok && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, errTimestamp
	}
	rest := s[19:]

	var nanos int64
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		frac := rest[1:n]
		if len(frac) == 0 || len(frac) > 9 {
			return 0, errTimestamp
		}
		nanos, _ = atoiFixed(frac)
		for i := len(frac); i < 9; i++ {
			nanos *= 10
		}
		rest = rest[n:]
	}

	var offset int64 // seconds east of UTC
	switch {
	case rest == "" || rest == "Z":
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		var hh, mm int64
		var okh, okm bool
		switch {
		case len(z) == 2:
			hh, okh = atoiFixed(z)
			okm = true
		case len(z) == 4:
			hh, okh = atoiFixed(z[0:2])
			mm, okm = atoiFixed(z[2:4])
		case len(z) == 5 && z[2] == ':':
			hh, okh = atoiFixed(z[0:2])
			mm, okm = atoiFixed(z[3:5])
		}
		if !okh || !okm || hh > 23 || mm > 59 {
			return 0, errTimestamp
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, errTimestamp
	}

	secs := daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + sec - offset
	return secs*1000 + nanos/1_000_000, nil
}

// atoiFixed parses a non-empty string made only of ASCII digits (at most 18).
func atoiFixed(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
