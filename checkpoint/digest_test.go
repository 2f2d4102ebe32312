package checkpoint_test

import (
	"testing"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// TestDigestSeesEveryByte changes each byte of a row in turn (and each bit
// of it): the digest must change every time.
func TestDigestSeesEveryByte(t *testing.T) {
	row := []string{"2026-11-24T10:00:00.000Z", "cceda03e-774e-402d-b368-f21e4d4fc6a6", `José "Pepe", Müller`, "", "true"}
	base := checkpoint.NewDigest.AddRow(row)
	for fi, f := range row {
		for bi := range len(f) {
			for bit := range 8 {
				b := []byte(f)
				b[bi] ^= 1 << bit
				changed := append([]string(nil), row...)
				changed[fi] = string(b)
				if checkpoint.NewDigest.AddRow(changed) == base {
					t.Fatalf("field %d byte %d bit %d changed but the digest did not", fi, bi, bit)
				}
			}
		}
	}
}

func BenchmarkDigestAddRow(b *testing.B) {
	row := []string{"Billing", "intelliAssign", "false", "AGENT", "Technical, Escalations", "Ingrid Silva",
		"2026-11-23T16:00:33.703Z", "cceda03e-774e-402d-b368-f21e4d4fc6a6", "983601076-1795056369394",
		"5fb7427c-27df-4cbf-aee9-481066d72ac5", "f2254ce0-70eb-4948-83a5-ea26c14d194a",
		"7aaf4dc3-609f-450c-9fb6-8f4f30de3f55", "964c40ab-88ae-49d7-991d-446adcd37f39"}
	d := checkpoint.NewDigest
	b.ReportAllocs()
	for b.Loop() {
		d = d.AddRow(row)
	}
	_ = d
}
