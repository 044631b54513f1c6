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
// supervisor, who decides. The supervisor's commands stay in the
// conflict's detail (idcards sync conflicts).
func conflictAdvice(c idcards.SyncConflict) string {
	what := c.Summary
	if what == "" {
		what = truncate(c.Detail, 300)
	}
	what = strings.TrimRight(what, ". ")
	if c.Kind == idcards.ConflictLookalike {
		return fmt.Sprintf("OPENMRS MAY ALREADY HAVE THIS PERSON: %s. Ask the patient now if they were seen here before (an earlier visit, a clinic card or book) and tell the supervisor (sync conflict %d). Until it is decided, this record is not sent to OpenMRS; its ID and card are valid either way.", what, c.ID)
	}
	return fmt.Sprintf("OPENMRS DISAGREES ABOUT %s: %s. Tell IT (sync conflict %d): until it is settled, visits filed under this ID in OpenMRS may reach another chart.", c.Identifier, what, c.ID)
}
