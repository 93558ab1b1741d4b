package importtest

// A CPF is nine base digits and two check digits. Validators reject the ten
// bases whose digits are all equal (000000000, 111111111, ...) even though
// their check digits compute, so the generator never uses them.
const (
	cpfBaseCount   = 1_000_000_000
	repdigitStep   = 111_111_111
	cpfUsableBases = cpfBaseCount - 10

	// cpfStride is prime and does not divide cpfUsableBases
	// (2·3²·5·11·73·101·137), so ordinal·cpfStride + offset visits every
	// usable base once before it repeats.
	cpfStride = 479_001_599
)

// cpfBase maps a lead ordinal to a nine-digit CPF base. Distinct ordinals
// below cpfUsableBases give distinct bases, and the result is never a
// repdigit.
func cpfBase(ordinal, offset uint64) uint64 {
	// Reducing first keeps the product below 2^64.
	rank := ((ordinal%cpfUsableBases)*cpfStride + offset) % cpfUsableBases

	// Turn the rank among non-repdigit bases into the base itself: each
	// repdigit at or below the running value pushes it one further. The
	// repdigits are visited in ascending order, so one pass is enough.
	base := rank
	for k := range uint64(10) {
		if k*repdigitStep <= base {
			base++
		}
	}
	return base
}

// formatCPF appends the two check digits to a nine-digit base and formats the
// result as 000.000.000-00.
func formatCPF(base uint64) string {
	var digits [11]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte(base % 10)
		base /= 10
	}
	digits[9] = cpfCheckDigit(digits[:9])
	digits[10] = cpfCheckDigit(digits[:10])

	var text [14]byte
	position := 0
	for i, digit := range digits {
		switch i {
		case 3, 6:
			text[position] = '.'
			position++
		case 9:
			text[position] = '-'
			position++
		}
		text[position] = '0' + digit
		position++
	}
	return string(text[:])
}

// cpfCheckDigit computes the check digit that follows digits. Weights run
// from len(digits)+1 down to 2, and a remainder below 2 gives 0.
func cpfCheckDigit(digits []byte) byte {
	sum := 0
	weight := len(digits) + 1
	for _, digit := range digits {
		sum += int(digit) * weight
		weight--
	}
	remainder := sum % 11
	if remainder < 2 {
		return 0
	}
	return byte(11 - remainder)
}
