package registry

import (
	"context"
	"database/sql"
	"strings"
)

// Many rows in few statements: on PostgreSQL every statement is a round
// trip, so code that writes rows by the thousand (the matching index, the
// import's audit rows) binds them in multi-row statements. The SQL is the
// same on both engines.

// valuesPerStatement bounds the parameters bound into one statement of
// execValues and execIn (SQLite allows 32,766, PostgreSQL 65,535).
const valuesPerStatement = 3000

// execValues runs head + "(?,…),(?,…)…" + tail over args, cols values a
// row, as few statements as valuesPerStatement allows.
func execValues(ctx context.Context, tx *sql.Tx, head string, cols int, tail string, args []any) error {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	per := max(valuesPerStatement/cols, 1) * cols
	for i := 0; i < len(args); i += per {
		chunk := args[i:min(i+per, len(args))]
		q := head + row + strings.Repeat(","+row, len(chunk)/cols-1) + tail
		if _, err := tx.ExecContext(ctx, q, chunk...); err != nil {
			return err
		}
	}
	return nil
}

// execIn runs head + "(?,…)" + tail for the ids, as few statements as
// valuesPerStatement allows.
func execIn(ctx context.Context, tx *sql.Tx, head, tail string, ids []any) error {
	for i := 0; i < len(ids); i += valuesPerStatement {
		chunk := ids[i:min(i+valuesPerStatement, len(ids))]
		if _, err := tx.ExecContext(ctx, head+"(?"+strings.Repeat(",?", len(chunk)-1)+")"+tail, chunk...); err != nil {
			return err
		}
	}
	return nil
}
