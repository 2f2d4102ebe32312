package termview_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/termview"
)

func TestAskYes(t *testing.T) {
	cases := []struct {
		input   string
		want    bool
		wantErr error
	}{
		{input: "y\n", want: true},
		{input: "YES\n", want: true},
		{input: " yes \r\n", want: true},
		{input: "y", want: true}, // last line without a newline
		{input: "n\n"},
		{input: "\n"},
		{input: "sure\n"},
		{input: ""}, // Ctrl-D: no answer is no
	}
	for _, tc := range cases {
		t.Run(tc.input, func(t *testing.T) {
			var out bytes.Buffer
			got, err := termview.AskYes(strings.NewReader(tc.input), &out, "Reset X?")
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.want, got)
			assert.Contains(t, out.String(), "Reset X? [y/N] ")
		})
	}
}

func TestAskYesReadError(t *testing.T) {
	broken := errors.New("read failed")
	_, err := termview.AskYes(failingReader{broken}, &bytes.Buffer{}, "Q?")
	assert.ErrorIs(t, err, broken)
}

func TestAskOnRefusesANonTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("yes\n")
	require.NoError(t, err)
	var out bytes.Buffer
	ok, err := termview.AskOn(f, &out)("Reset X?")
	assert.ErrorIs(t, err, termview.ErrNoTerminal, "a file is not a terminal, whatever it holds")
	assert.False(t, ok)
	assert.Empty(t, out.String(), "nothing is asked when nobody can answer")
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }
