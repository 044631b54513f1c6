package match

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone returns raw in E.164 form ("+256772123456"), reading a
// number without a country code ("0772 123456") as one of defaultRegion
// (ISO 3166 code such as "UG"; the site setting phone_country).
// It returns "" when raw is not a possible phone number of that region or
// has no country code and no region is given.
func NormalizePhone(raw, defaultRegion string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region == "" && !strings.HasPrefix(raw, "+") {
		return ""
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

// ValidRegion reports whether code is a region phonenumbers knows ("UG",
// "KE", ...), for checking the phone_country setting.
func ValidRegion(code string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(code)]
}

// phoneKey is what matching compares: the last nine digits of the number
// (E.164 when it normalises, else its digits as written). Nine digits are
// the national number in most of Africa and South Asia, so
// "+256 772 123456", "0772123456" and "256772123456" agree whether or not
// a default country is set. Fewer than six digits is no phone.
func phoneKey(raw, region string) string {
	src := raw
	if e := NormalizePhone(raw, region); e != "" {
		src = e
	}
	return lastDigits(src, 9)
}

// phoneKeyFast is phoneKey without the phonenumbers parse, for stored
// records compared in bulk: same answer whenever the stored number carries
// its trunk 0 or country code, as desk entries do.
func phoneKeyFast(raw string) string { return lastDigits(raw, 9) }

func lastDigits(s string, n int) string {
	var d [32]byte
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if k == len(d) {
				copy(d[:], d[1:])
				k--
			}
			d[k] = s[i]
			k++
		}
	}
	if k < 6 {
		return ""
	}
	if k > n {
		return string(d[k-n : k])
	}
	return string(d[:k])
}
