package records

import (
	"math"
	"strconv"
	"time"
)

// Cell values become text as a spreadsheet shows them, without the noise
// of binary floating point and without locale decoration:
//
//   - Numbers keep at most 15 significant digits, as Excel shows them, so
//     41800000.009999998 is "41800000.01" and 0.1+0.2 is "0.3". They are
//     written in plain notation ("5511999998888"); only magnitudes of
//     1e21 and above, or below 1e-9, use an exponent ("1.5E+25").
//   - A format with decimal places ("0.00", "#,##0.0#") sets how many
//     decimals are written, rounding half away from zero on the 15-digit
//     value as Excel does. Leading zeros of formats such as "00000" are
//     kept. Thousands separators, currency symbols, colours and other
//     literals are left out, and a negative number always gets a '-'.
//   - A percent format writes value*100 with the format's decimals and a
//     '%' ("0.0%" on 0.1234 is "12.3%").
//   - A date format writes ISO 8601: "YYYY-MM-DD" when the format shows no
//     time and the serial is a whole day, else "YYYY-MM-DDTHH:MM:SS"
//     rounded to the second. A format that shows only a time writes
//     "HH:MM:SS" for serials under 1 (a time of day), and an elapsed-time
//     format such as "[h]:mm" writes the total hours ("36:00:00").
//
// NOTE: scaling by trailing commas ("0.0,," shows millions) is not
// applied, and neither are fraction or scientific formats. Those cells are
// written as General numbers, which keeps their value.

// maxSerial is 9999-12-31 in the 1900 date system, the last day Excel can
// show as a date. The 1904 system counts offset1904 days less.
const (
	maxSerial  = 2958465
	offset1904 = 1462
)

// appendCellNumber appends the text of a numeric cell value, or v as
// written in the sheet when it is not a finite number.
func appendCellNumber(dst []byte, v string, format *cellFormat, date1904 bool) []byte {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, v...)
	}

	if format.date {
		if out, ok := appendSerial(dst, f, format, date1904); ok {
			return out
		}
	}

	return appendDecimal(dst, f, format.section(f))
}

// appendDecimal writes f in the decimal format d.
func appendDecimal(dst []byte, f float64, d *decimalFormat) []byte {
	neg := f < 0
	if neg {
		f = -f
	}

	// digits is the value to 15 significant digits, without trailing zeros,
	// and point is the number of digits before the decimal point. The
	// value is 0.digits * 10^point.
	var scratch [32]byte
	digits, point := significantDigits(scratch[:0], f)
	point += 2 * d.percent

	if !d.fixed {
		if len(digits) > 0 && (point > 21 || point < -8) {
			return appendScientific(dst, neg, digits, point)
		}

		return appendPlain(dst, neg, digits, point, 1, 0, len(digits)-point, d.percent)
	}

	digits, point = roundDigits(digits, point, point+d.maxDec)

	return appendPlain(dst, neg, digits, point, max(d.minInt, 1), d.minDec, d.maxDec, d.percent)
}

// significantDigits returns the decimal digits of f > 0 rounded to 15
// significant digits, without trailing zeros, and the position of the
// decimal point. Zero has no digits.
func significantDigits(buf []byte, f float64) ([]byte, int) {
	if f == 0 {
		return buf[:0], 0
	}

	// 'e' with 14 decimals gives "d.dddddddddddddde±xx".
	buf = strconv.AppendFloat(buf[:0], f, 'e', 14, 64)
	mark := 0
	for mark < len(buf) && buf[mark] != 'e' {
		mark++
	}

	exp := 0
	for _, c := range buf[mark+2:] {
		exp = exp*10 + int(c-'0')
	}

	if buf[mark+1] == '-' {
		exp = -exp
	}

	digits := append(buf[:1], buf[2:mark]...)
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}

	return digits, exp + 1
}

// roundDigits rounds 0.digits * 10^point to keep digits in total, half
// away from zero.
func roundDigits(digits []byte, point, keep int) ([]byte, int) {
	if keep >= len(digits) {
		return digits, point
	}

	if keep < 0 {
		return digits[:0], point
	}

	up := digits[keep] >= '5'
	digits = digits[:keep]
	if up {
		i := keep - 1
		for i >= 0 && digits[i] == '9' {
			i--
		}

		if i < 0 {
			// All nines: 0.999 rounds to 1.000 with the point one further.
			digits = append(digits[:0], '1')
			point++
		} else {
			digits[i]++
			digits = digits[:i+1]
		}
	}

	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}

	return digits, point
}

// appendPlain writes 0.digits * 10^point without an exponent, with at
// least minInt integer digits and between minDec and maxDec decimals.
func appendPlain(dst []byte, neg bool, digits []byte, point, minInt, minDec, maxDec, percent int) []byte {
	if neg && len(digits) > 0 {
		dst = append(dst, '-')
	}

	intDigits := max(point, 0)
	for i := intDigits; i < minInt; i++ {
		dst = append(dst, '0')
	}

	for i := range intDigits {
		dst = append(dst, digitAt(digits, i))
	}

	decimals := max(minDec, min(maxDec, len(digits)-point))
	if decimals > 0 {
		dst = append(dst, '.')
		for i := range decimals {
			dst = append(dst, digitAt(digits, point+i))
		}
	}

	for range percent {
		dst = append(dst, '%')
	}

	return dst
}

func digitAt(digits []byte, i int) byte {
	if i < 0 || i >= len(digits) {
		return '0'
	}

	return digits[i]
}

// appendScientific writes 0.digits * 10^point as Excel's General format
// does for very large or small numbers, such as "1.5E+25".
func appendScientific(dst []byte, neg bool, digits []byte, point int) []byte {
	if neg {
		dst = append(dst, '-')
	}

	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}

	exp := point - 1
	dst = append(dst, 'E')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}

	if exp < 10 {
		dst = append(dst, '0')
	}

	return strconv.AppendInt(dst, int64(exp), 10)
}

// appendSerial writes a date serial as ISO 8601. ok is false for serials
// no date can show (negative or after 9999), which are written as numbers.
//
// In the 1900 date system serial 1 is 1900-01-01 and serial 60 is
// 1900-02-29, a day that did not exist but that Excel counts. So serials
// from 61 on are one day behind a plain count of days from 1899-12-31.
// In the 1904 system serial 0 is 1904-01-01.
func appendSerial(dst []byte, f float64, format *cellFormat, date1904 bool) ([]byte, bool) {
	last := float64(maxSerial)
	if date1904 {
		last -= offset1904
	}

	if f < 0 || f >= last+1 {
		return dst, false
	}

	seconds := int64(math.Round(f * 86400))
	days, clock := seconds/86400, seconds%86400

	if format.elapsed {
		dst = appendTwoDigits(dst, seconds/3600)
		dst = append(dst, ':')
		dst = appendTwoDigits(dst, clock/60%60)
		dst = append(dst, ':')

		return appendTwoDigits(dst, clock%60), true
	}

	// A time of day, or day 0 of the 1900 system, which Excel shows as the
	// impossible 1900-01-00: only the time is meaningful.
	if days == 0 && (!format.hasDate || !date1904) {
		if !format.hasTime && clock == 0 {
			return dst, false
		}

		return appendClock(dst, clock), true
	}

	var day time.Time
	switch {
	case date1904:
		day = time.Date(1904, 1, 1+int(days), 0, 0, 0, 0, time.UTC)
	case days < 60:
		day = time.Date(1899, 12, 31+int(days), 0, 0, 0, 0, time.UTC)
	case days == 60:
		day = time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC)
	default:
		day = time.Date(1899, 12, 30+int(days), 0, 0, 0, 0, time.UTC)
	}

	year, month, dayOfMonth := day.Date()
	if !date1904 && days == 60 {
		dayOfMonth = 29
	}

	dst = strconv.AppendInt(dst, int64(year), 10)
	dst = append(dst, '-')
	dst = appendTwoDigits(dst, int64(month))
	dst = append(dst, '-')
	dst = appendTwoDigits(dst, int64(dayOfMonth))
	if !format.hasTime && clock == 0 {
		return dst, true
	}

	dst = append(dst, 'T')

	return appendClock(dst, clock), true
}

// appendClock writes seconds since midnight as HH:MM:SS.
func appendClock(dst []byte, clock int64) []byte {
	dst = appendTwoDigits(dst, clock/3600)
	dst = append(dst, ':')
	dst = appendTwoDigits(dst, clock/60%60)
	dst = append(dst, ':')

	return appendTwoDigits(dst, clock%60)
}

func appendTwoDigits(dst []byte, n int64) []byte {
	if n < 10 {
		dst = append(dst, '0')
	}

	return strconv.AppendInt(dst, n, 10)
}
