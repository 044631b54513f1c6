package barcode

// Placeholders until the scheme and symbol branches merge.
func All() []Scheme                           { return []Scheme{tmpLuhn{}} }
func Parse2D(s string) (string, string, bool) { return "", "", false }

type tmpLuhn struct{}

func (tmpLuhn) Name() string      { return "luhn" }
func (tmpLuhn) Alphabet() string  { return "0123456789" }
func (tmpLuhn) PayloadLen() int   { return 0 }
func (tmpLuhn) CheckLen() int     { return 1 }
func (tmpLuhn) Separator() string { return "" }
func (tmpLuhn) Check(p string) (string, error) {
	sum := 0
	for i := 0; i < len(p); i++ {
		d := int(p[len(p)-1-i] - '0')
		if d < 0 || d > 9 {
			return "", &CharError{Scheme: "luhn", Char: rune(p[len(p)-1-i]), Pos: len(p) - 1 - i}
		}
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(rune('0' + (10-sum%10)%10)), nil
}
func (l tmpLuhn) Validate(id string) error {
	if len(id) < 2 {
		return ErrLength
	}
	c, err := l.Check(id[:len(id)-1])
	if err != nil {
		return err
	}
	if c != id[len(id)-1:] {
		return ErrCheck
	}
	return nil
}

type Rate struct{ Detected, Total int }
type Rates struct{ Single, Adjacent, Twin, Jump Rate }

func DetectionRates(s Scheme, n int) Rates { return Rates{} }
