package printing_test

import (
	"fmt"

	"github.com/idcards/idcards/printing"
)

func ExampleGroupMRN() {
	fmt.Println(printing.GroupMRN("KLA0001234"))
	fmt.Println(printing.GroupMRN("KLA000123-4"))
	// Output:
	// KLA 000 1234
	// KLA 00 0123-4
}

func ExampleLayoutSheet() {
	for _, name := range printing.Layouts() {
		s, _ := printing.LayoutSheet(name)
		fmt.Printf("%s: %.2f × %.2f mm, %d cards per page\n", name, s.PageW, s.PageH, len(s.Slots))
	}
	// Output:
	// card: 85.60 × 53.98 mm, 1 cards per page
	// a4: 210.00 × 297.00 mm, 10 cards per page
	// letter: 215.90 × 279.40 mm, 8 cards per page
}
