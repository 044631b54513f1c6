package idcards

// removed at merge: the edit branch defines MaxNameRunes in the root
// package; this copy only lets the desk branch build on its own.

// MaxNameRunes is the longest name part (given or family name), in
// characters, that registration accepts and the card can print.
const MaxNameRunes = 50
