package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"15s", 15 * time.Second},
		{"2m", 2 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1.5s", 1500 * time.Millisecond},
		{"-5s", -5 * time.Second},
		{"0", 0},
		{" 90s ", 90 * time.Second},
		{"00:00:30", 30 * time.Second},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second},
		{"1:2:3", time.Hour + 2*time.Minute + 3*time.Second},
		{"00:05", 5 * time.Minute},
		{"00:00:01.5", 1500 * time.Millisecond},
		{"00:00:00.0000001", 100 * time.Nanosecond},
		{"2.03:00:00", 51 * time.Hour},
		{"2:03:00:00", 51 * time.Hour},
		{"-00:00:10", -10 * time.Second},
	}
	for _, tc := range valid {
		got, err := parseDuration(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}

	invalid := []string{"", "30", "abc", "5x", "24:00:00", "00:60:00", "00:00:60", "00:00:00.12345678", "00:00:00.", "1:2:3:4:5", "-", ":", "00:-1:00", "999999999.00:00:00"}
	for _, in := range invalid {
		_, err := parseDuration(in)
		require.Error(t, err, in)
	}
}

func TestConvertValue(t *testing.T) {
	field := func(key string) *schemaField {
		f, _ := lookupKey(key)
		require.NotNil(t, f, key)
		return f
	}

	t.Run("integers", func(t *testing.T) {
		chunk := field("importbatch:chunksize")
		for raw, want := range map[any]int{"42": 42, " +7 ": 7, 100.0: 100, -3.0: -3, 5: 5} {
			got, err := convertValue(chunk, raw)
			require.NoError(t, err, raw)
			require.Equal(t, want, got, raw)
		}
		for _, raw := range []any{"4.5", 4.5, "0x10", "1_000", true, "", "9e3"} {
			_, err := convertValue(chunk, raw)
			require.Error(t, err, raw)
		}
	})

	t.Run("int64", func(t *testing.T) {
		got, err := convertValue(field("importstorage:maxfilesizemb"), "2048")
		require.NoError(t, err)
		require.Equal(t, int64(2048), got)
	})

	t.Run("floats", func(t *testing.T) {
		poll := field("importbatch:pollintervalseconds")
		for raw, want := range map[any]float64{"1.5": 1.5, "30": 30, 2.0: 2, " 3 ": 3} {
			got, err := convertValue(poll, raw)
			require.NoError(t, err, raw)
			require.Equal(t, want, got, raw)
		}
		for _, raw := range []any{"NaN", "Inf", "-inf", "0x1p4", "abc", false} {
			_, err := convertValue(poll, raw)
			require.Error(t, err, raw)
		}
	})

	t.Run("booleans", func(t *testing.T) {
		enabled := field("dataretention:enablecleanup")
		for raw, want := range map[any]bool{"True": true, "FALSE": false, true: true, " false ": false} {
			got, err := convertValue(enabled, raw)
			require.NoError(t, err, raw)
			require.Equal(t, want, got, raw)
		}
		for _, raw := range []any{"1", "yes", 1.0, "on"} {
			_, err := convertValue(enabled, raw)
			require.Error(t, err, raw)
		}
	})

	t.Run("strings from JSON scalars", func(t *testing.T) {
		name := field("urls")
		for raw, want := range map[any]string{"x": "x", 12.0: "12", 1.5: "1.5", true: "true"} {
			got, err := convertValue(name, raw)
			require.NoError(t, err, raw)
			require.Equal(t, want, got, raw)
		}
	})

	t.Run("durations from JSON numbers", func(t *testing.T) {
		delay := field("importbatch:unavailabledelay")
		got, err := convertValue(delay, 0.0)
		require.NoError(t, err)
		require.Equal(t, time.Duration(0), got)

		_, err = convertValue(delay, 30.0)
		require.Error(t, err, "a bare number has no unit")
	})
}

func TestLookupKey(t *testing.T) {
	f, name := lookupKey("clientseed:clients:3:secret")
	require.NotNil(t, f)
	require.Equal(t, "ClientSeed:Clients:3:Secret", name)
	require.Equal(t, "true", f.secret)

	for _, key := range []string{"clientseed:clients", "clientseed:clients:0", "importbatch", "importbatch:chunksize:x", "path", "", "clientseed:clients::name"} {
		f, _ := lookupKey(key)
		require.Nil(t, f, key)
	}
}
