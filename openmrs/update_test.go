package openmrs_test

// letterName spells i in letters (0 = "A", 25 = "Z", 26 = "BA"): test
// patients' names may not hold digits.
func letterName(i int) string {
	s := string(rune('A' + i%26))
	for i /= 26; i > 0; i /= 26 {
		s = string(rune('A'+i%26)) + s
	}
	return s
}
