package termview

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrNoTerminal means a confirmation was needed but nobody can be asked:
// standard input is not a terminal.
var ErrNoTerminal = errors.New("standard input is not a terminal")

// Confirm asks question and reports whether the operator agreed. It
// returns ErrNoTerminal when nobody can be asked.
type Confirm func(question string) (bool, error)

// AskOn is a Confirm that asks on out and reads the answer from in, which
// must be a terminal.
func AskOn(in *os.File, out io.Writer) Confirm {
	return func(question string) (bool, error) {
		fi, err := in.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false, ErrNoTerminal
		}
		return AskYes(in, out, question)
	}
}

// AskYes writes question with a [y/N] hint and reads one line from in: y
// or yes (any case) agrees; anything else, or no line at all (Ctrl-D),
// does not.
func AskYes(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(out)
		return false, nil
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}
