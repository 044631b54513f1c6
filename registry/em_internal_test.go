package registry

import (
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
)

// TestPlausibleEM: an EM estimate saying duplicates often carry another
// name is refused with the figure; the defaults pass.
func TestPlausibleEM(t *testing.T) {
	if err := plausibleEM(match.DefaultModel()); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	m := match.DefaultModel()
	m.Fields[match.FGiven].M = []float64{0.24, 0.01, 0.05, 0.03, 0.03, 0.64} // measured before the relatives' class
	err := plausibleEM(m)
	if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), "64% of duplicates have an entirely different given name") || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("got %v", err)
	}
}
