package barcode

// Verhoeff's decimal code (1969): the payload's digits, read from the right
// starting at position 1, are each permuted by p^position (p has order 8)
// and multiplied in the dihedral group D5; the check digit is the inverse
// of the product. It detects every single substitution and adjacent
// transposition and most twin and jump errors.
func verhoeffScheme() Scheme {
	return &scheme{
		name: "verhoeff", alphabet: digits, checkLen: 1, checkChars: digits,
		m: automaton{
			states: 10,
			// The product runs from the rightmost digit (position 1) on the
			// left to the leftmost on the right; read left to right, each
			// digit multiplies the interim product from the left.
			step: func(n, pos, st, sym int) int {
				return int(verhoeffD[verhoeffP[(n-pos)%8][sym]][st])
			},
			check: func(st int) string { return string(rune('0' + verhoeffInv[st])) },
		},
	}
}

// Read-only tables of Verhoeff's code, shared with openmrs-verhoeff.
var (
	// verhoeffD is the multiplication table of D5 (rotations 0-4, reflections 5-9).
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	// verhoeffP[i] is the permutation p applied i times; p = (0 1 5 8 9 4 2 7)(3 6).
	verhoeffP = verhoeffPowers()
	// verhoeffInv[x] is the inverse of x in D5.
	verhoeffInv = [10]uint8{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

func verhoeffPowers() [8][10]uint8 {
	p1 := [10]uint8{1, 5, 7, 6, 2, 8, 3, 0, 9, 4}
	var p [8][10]uint8
	for j := range p[0] {
		p[0][j] = uint8(j)
	}
	for i := 1; i < 8; i++ {
		for j := range p[i] {
			p[i][j] = p[i-1][p1[j]]
		}
	}
	return p
}
