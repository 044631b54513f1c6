package barcode

// Damm's algorithm (2004): the interim digit starts at 0 and becomes
// dammTable[interim][digit] for each payload digit; the check is the final
// interim digit. The table is a totally anti-symmetric quasigroup of order
// 10 with a zero diagonal, so the code detects every single substitution
// and every adjacent transposition.
func dammScheme() Scheme {
	return &scheme{
		name: "damm", alphabet: digits, checkLen: 1, checkChars: digits,
		m: automaton{
			states: 10,
			step:   func(n, pos, st, sym int) int { return int(dammTable[st][sym]) },
			check:  func(st int) string { return string(rune('0' + st)) },
		},
	}
}

// dammTable is the read-only quasigroup from Damm's thesis (as published
// with the algorithm).
var dammTable = [10][10]uint8{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}
