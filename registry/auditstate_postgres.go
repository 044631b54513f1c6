package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The audit-state triggers (auditstate.go) on PostgreSQL: the same three
// per protected table, calling one trigger function, audit_state_note
// (migrations/postgres/0013a_audit_state.sql), with the table and its key
// column as arguments. Their text is what pg_get_triggerdef prints, so
// missingTriggers compares like with like.

// queryerIsPG reports whether q reads a PostgreSQL registry: only there is
// idcards_dialect() defined (on SQLite the query fails, harmlessly, also
// inside a transaction).
func queryerIsPG(ctx context.Context, q queryer) bool {
	var d string
	return q.QueryRowContext(ctx, `SELECT idcards_dialect()`).Scan(&d) == nil && d == "postgres"
}

func pgStateTriggers(t protectedTable, cols []string) [][2]string {
	call := fmt.Sprintf(`FOR EACH ROW EXECUTE FUNCTION audit_state_note('%s', '%s')`, t.name, t.key)
	of := ""
	if len(t.skip) > 0 {
		var watched []string
		for _, c := range cols {
			if !slices.Contains(t.skip, c) {
				watched = append(watched, c)
			}
		}
		of = " OF " + strings.Join(watched, ", ")
	}
	def := func(suffix, event string) [2]string {
		name := "audit_state_" + t.name + "_" + suffix
		return [2]string{name, fmt.Sprintf(`CREATE TRIGGER %s AFTER %s ON %s %s`, name, event, t.name, call)}
	}
	return [][2]string{def("ins", "INSERT"), def("upd", "UPDATE"+of), def("del", "DELETE")}
}

// pgStateTriggersQuery lists the audit-state triggers as name, definition
// (without the schema, as pgStateTriggers writes them).
const pgStateTriggersQuery = `SELECT t.tgname::text, replace(pg_get_triggerdef(t.oid), ' ON ' || current_schema() || '.', ' ON ')
	FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE 'audit_state_%'`

// pgTriggerTable is the table of audit_state_TABLE_(ins|upd|del).
func pgTriggerTable(name string) string {
	t := strings.TrimPrefix(name, "audit_state_")
	if i := strings.LastIndexByte(t, '_'); i > 0 {
		t = t[:i]
	}
	return t
}

// pgCanonOfOld is the query that turns a trigger's note of an old row
// (to_jsonb(OLD)::text, migration 0018) into the row's canonical text, the
// same text canonOne builds from the table.
func pgCanonOfOld(t protectedTable, cols []string) string {
	return `SELECT ` + canonExpr(t, cols) + ` FROM jsonb_populate_record(NULL::` + quoteIdent(t.name) + `, CAST(? AS jsonb))`
}
