package schemas

import "testing"

// BenchmarkAppend measures one realistic row per event: every schema column
// present in shuffled order, plus the extra columns the simulator serves.
func BenchmarkAppend(b *testing.B) {
	for _, ev := range Events() {
		b.Run(ev, func(b *testing.B) {
			s := mustLookup(b, ev)
			r := newSampleRow(b, s, 42)
			c, err := s.Converter(r.header)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				dst, err = c.Append(dst[:0], r.row)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(dst)), "record-bytes")
		})
	}
}
