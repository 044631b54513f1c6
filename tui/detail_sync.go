package tui

import (
	"fmt"
	"strings"

	"github.com/idcards/idcards"
)

// conflictAdvice is the block shown for an open sync conflict over the
// patient: what it is and what the clerk does now. A look-alike is a
// person OpenMRS may already hold under another record (registered there
// before idcards, or by another department): the patient is the one who
// can say, so the clerk asks while they are here and tells the
// supervisor, who decides — at this desk with o when settleHere, else with
// the commands in the conflict's detail (idcards sync conflicts).
func conflictAdvice(c idcards.SyncConflict, settleHere bool) string {
	what := c.Summary
	if what == "" {
		what = truncate(c.Detail, 300)
	}
	what = strings.TrimRight(what, ". ")
	if c.Kind == idcards.ConflictLookalike {
		next := fmt.Sprintf("tell the supervisor (sync conflict %d)", c.ID)
		if settleHere {
			next = "press o to record the answer (a supervisor decides)"
		}
		return fmt.Sprintf("OPENMRS MAY ALREADY HAVE THIS PERSON: %s. Ask the patient now if they were seen here before (an earlier visit, a clinic card or book) and %s. Until it is decided, this record is not sent to OpenMRS; its ID and card are valid either way.", what, next)
	}
	return fmt.Sprintf("OPENMRS DISAGREES ABOUT %s: %s. Tell IT (sync conflict %d): until it is settled, visits filed under this ID in OpenMRS may reach another chart.", c.Identifier, what, c.ID)
}
