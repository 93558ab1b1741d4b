package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// expectedType describes the accepted input of a field kind for error messages.
func expectedType(kind fieldKind) string {
	switch kind {
	case kindBool:
		return "a boolean (true or false)"
	case kindInt:
		return "a whole number such as 100"
	case kindUint:
		return "a non-negative whole number such as 100"
	case kindFloat:
		return "a number such as 30 or 1.5"
	case kindDuration:
		return "a duration such as 90s, 2m or 00:01:30 (hh:mm:ss)"
	default:
		return "a string"
	}
}

// convertValue converts a raw configuration value to the Go type of a leaf
// field. Raw values are strings from environment variables and overrides,
// float64, bool or string from JSON files, and typed values from the defaults.
// Strings are trimmed before they are parsed as numbers, booleans or durations,
// because .NET accepts surrounding spaces there too.
func convertValue(f *schemaField, raw any) (any, error) {
	switch f.kind {
	case kindString:
		return convertString(raw)
	case kindBool:
		return convertBool(raw)
	case kindInt, kindUint:
		return convertInteger(f, raw)
	case kindFloat:
		return convertFloat(f, raw)
	case kindDuration:
		return convertDuration(raw)
	default:
		return nil, fmt.Errorf("field kind %d is not a leaf", f.kind)
	}
}

var errWrongType = errors.New("wrong type")

func convertString(raw any) (any, error) {
	switch v := raw.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	default:
		return nil, errWrongType
	}
}

func convertBool(raw any) (any, error) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		s := strings.TrimSpace(v)
		switch {
		case strings.EqualFold(s, "true"):
			return true, nil
		case strings.EqualFold(s, "false"):
			return false, nil
		}
	}
	return nil, errWrongType
}

func convertInteger(f *schemaField, raw any) (any, error) {
	target := reflect.New(f.typ).Elem()

	switch v := raw.(type) {
	case string:
		s := strings.TrimSpace(v)
		if f.kind == kindUint {
			n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, f.typ.Bits())
			if err != nil {
				return nil, err
			}
			target.SetUint(n)
		} else {
			n, err := strconv.ParseInt(s, 10, f.typ.Bits())
			if err != nil {
				return nil, err
			}
			target.SetInt(n)
		}
	case float64:
		// JSON numbers arrive as float64. Only whole numbers inside the range
		// of the target type are accepted; 2^63 itself is out of range.
		if v != math.Trunc(v) || math.IsInf(v, 0) || v >= math.MaxInt64 || v < math.MinInt64 {
			return nil, errWrongType
		}
		n := int64(v)
		if f.kind == kindUint {
			if n < 0 || target.OverflowUint(uint64(n)) {
				return nil, errWrongType
			}
			target.SetUint(uint64(n))
		} else {
			if target.OverflowInt(n) {
				return nil, errWrongType
			}
			target.SetInt(n)
		}
	default:
		rv := reflect.ValueOf(raw)
		if !rv.IsValid() || rv.Type() != f.typ {
			return nil, errWrongType
		}
		return raw, nil
	}

	return target.Interface(), nil
}

func convertFloat(f *schemaField, raw any) (any, error) {
	var n float64

	switch v := raw.(type) {
	case float64:
		n = v
	case string:
		s := strings.TrimSpace(v)
		// ParseFloat also reads hexadecimal floats, "Inf" and "NaN", which .NET
		// rejects and which make no sense as a setting.
		if strings.ContainsAny(s, "xX_") {
			return nil, errWrongType
		}
		parsed, err := strconv.ParseFloat(s, f.typ.Bits())
		if err != nil {
			return nil, err
		}
		n = parsed
	default:
		rv := reflect.ValueOf(raw)
		if !rv.IsValid() || !rv.CanConvert(f.typ) || (rv.Kind() != reflect.Float32 && rv.Kind() != reflect.Float64) {
			return nil, errWrongType
		}
		n = rv.Float()
	}

	if math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, errWrongType
	}
	return reflect.ValueOf(n).Convert(f.typ).Interface(), nil
}

func convertDuration(raw any) (any, error) {
	switch v := raw.(type) {
	case time.Duration:
		return v, nil
	case string:
		return parseDuration(v)
	case float64:
		// A bare number has no unit. .NET would read 30 as 30 days, a reader
		// would guess seconds, so only 0 is accepted.
		if v == 0 {
			return time.Duration(0), nil
		}
	}
	return nil, errWrongType
}

// parseDuration reads Go duration syntax ("15s", "1h30m") and the .NET
// TimeSpan forms "hh:mm", "hh:mm:ss", "hh:mm:ss.fffffff", "d.hh:mm:ss" and
// "d:hh:mm:ss", each with an optional leading minus.
func parseDuration(raw string) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	if strings.Contains(s, ":") {
		return parseTimeSpan(s)
	}
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// maxTimeSpanDays keeps the day count inside what time.Duration can hold
// (about 292 years).
const maxTimeSpanDays = int64(math.MaxInt64 / int64(24*time.Hour))

func parseTimeSpan(s string) (time.Duration, error) {
	invalid := fmt.Errorf("invalid TimeSpan %q: expected [-][d.]hh:mm[:ss[.fffffff]]", s)

	negative := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.Split(s, ":")

	var days int64
	var err error
	switch len(parts) {
	case 4:
		if days, err = parseTimeSpanNumber(parts[0], maxTimeSpanDays); err != nil {
			return 0, invalid
		}
		parts = parts[1:]
	case 2, 3:
		if d, h, ok := strings.Cut(parts[0], "."); ok {
			if days, err = parseTimeSpanNumber(d, maxTimeSpanDays); err != nil {
				return 0, invalid
			}
			parts[0] = h
		}
	default:
		return 0, invalid
	}

	hours, errHours := parseTimeSpanNumber(parts[0], 23)
	minutes, errMinutes := parseTimeSpanNumber(parts[1], 59)
	if errHours != nil || errMinutes != nil {
		return 0, invalid
	}

	var seconds int64
	var fraction time.Duration
	if len(parts) == 3 {
		secondText, fractionText, hasFraction := strings.Cut(parts[2], ".")
		if seconds, err = parseTimeSpanNumber(secondText, 59); err != nil {
			return 0, invalid
		}
		if hasFraction {
			// TimeSpan fractions have at most 7 digits (100 ns ticks).
			if len(fractionText) == 0 || len(fractionText) > 7 {
				return 0, invalid
			}
			ticks, err := parseTimeSpanNumber(fractionText+strings.Repeat("0", 7-len(fractionText)), 9999999)
			if err != nil {
				return 0, invalid
			}
			fraction = time.Duration(ticks) * 100 * time.Nanosecond
		}
	}

	clock := time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute +
		time.Duration(seconds)*time.Second + fraction
	if days == maxTimeSpanDays && clock > time.Duration(math.MaxInt64-days*int64(24*time.Hour)) {
		return 0, fmt.Errorf("TimeSpan %q is longer than the maximum duration of about 292 years", s)
	}

	d := time.Duration(days)*24*time.Hour + clock
	if negative {
		d = -d
	}
	return d, nil
}

func parseTimeSpanNumber(s string, limit int64) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errWrongType
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > limit {
		return 0, errWrongType
	}
	return n, nil
}
