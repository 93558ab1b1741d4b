package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSettingsListenAddresses(t *testing.T) {
	valid := []struct {
		urls string
		want []string
	}{
		{"http://0.0.0.0:5000", []string{":5000"}},
		{"http://*:5000", []string{":5000"}},
		{"http://+:5000", []string{":5000"}},
		{"http://[::]:5000", []string{":5000"}},
		{"http://localhost:8080", []string{"localhost:8080"}},
		{"HTTP://LocalHost:8080/", []string{"LocalHost:8080"}},
		{"http://127.0.0.1:5000;http://[::1]:5001", []string{"127.0.0.1:5000", "[::1]:5001"}},
		{" http://0.0.0.0:5000 ; ", []string{":5000"}},
		{"http://example.internal", []string{"example.internal:80"}},
		{"http://[::1]", []string{"[::1]:80"}},
		{"http://0.0.0.0:0", []string{":0"}},
	}
	for _, tc := range valid {
		s := &Settings{Urls: tc.urls}
		got, err := s.ListenAddresses()
		require.NoError(t, err, tc.urls)
		require.Equal(t, tc.want, got, tc.urls)
	}

	invalid := []struct {
		urls    string
		message string
	}{
		{"https://0.0.0.0:5001", "TLS terminates at the reverse proxy"},
		{"http://0.0.0.0:5000;https://0.0.0.0:5001", "https is not supported"},
		{"", "no listen URL"},
		{" ; ", "no listen URL"},
		{"0.0.0.0:5000", "missing scheme"},
		{"ftp://0.0.0.0:21", "unsupported scheme"},
		{"http://0.0.0.0:5000/api", "path base is not supported"},
		{"http://0.0.0.0:http", "invalid port"},
		{"http://0.0.0.0:70000", "invalid port"},
		{"http://:5000", "missing host"},
		{"http://::1:5000", "put it in brackets"},
		{"http://user@host:5000", "only scheme, host and port"},
	}
	for _, tc := range invalid {
		s := &Settings{Urls: tc.urls}
		_, err := s.ListenAddresses()
		require.ErrorContains(t, err, tc.message, tc.urls)
	}
}

func TestSettingsDerivedDurations(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		s := Defaults()

		require.Equal(t, 30*time.Minute, s.LockTimeoutDuration())
		require.Equal(t, 10*time.Minute, s.HeartbeatEvery())
		require.Equal(t, 5*time.Minute, s.WatchdogEvery())
		require.Equal(t, 30*time.Second, s.PollInterval())
		require.Equal(t, 30*time.Second, s.OmniFlowTimeout())
	})

	t.Run("LockTimeout overrides minutes", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.LockTimeout = 6 * time.Second

		require.Equal(t, 6*time.Second, s.LockTimeoutDuration())
		require.Equal(t, 2*time.Second, s.HeartbeatEvery())
		require.Equal(t, 3*time.Second, s.WatchdogEvery(), "a short lock timeout shortens the watchdog")
	})

	t.Run("fractional minutes", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.LockTimeoutMinutes = 0.5

		require.Equal(t, 30*time.Second, s.LockTimeoutDuration())
		require.Equal(t, 10*time.Second, s.HeartbeatEvery())
	})

	t.Run("heartbeat at least one second", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.LockTimeout = 2 * time.Second

		require.Equal(t, time.Second, s.HeartbeatEvery())
	})

	t.Run("heartbeat stays below short lock timeout", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.LockTimeout = 900 * time.Millisecond

		require.Equal(t, 300*time.Millisecond, s.HeartbeatEvery())
	})

	t.Run("explicit heartbeat and watchdog", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.HeartbeatInterval = 7 * time.Second
		s.ImportBatch.WatchdogInterval = time.Minute

		require.Equal(t, 7*time.Second, s.HeartbeatEvery())
		require.Equal(t, time.Minute, s.WatchdogEvery())
	})

	t.Run("huge values saturate", func(t *testing.T) {
		s := Defaults()
		s.ImportBatch.LockTimeoutMinutes = 1e300

		require.Equal(t, time.Duration(1<<63-1), s.LockTimeoutDuration())
	})
}

func TestWebhookRetrySchedule(t *testing.T) {
	s := Defaults()
	s.Webhooks.RetrySchedule = "5s, 00:05:00,2h"
	got, err := s.WebhookRetrySchedule()
	require.NoError(t, err)
	require.Equal(t, []time.Duration{5 * time.Second, 5 * time.Minute, 2 * time.Hour}, got)

	s.Webhooks.RetrySchedule = "5s,-1m"
	_, err = s.WebhookRetrySchedule()
	require.ErrorContains(t, err, `"-1m" is not a duration from 1s to 7 days`)

	for _, bad := range []string{",", " , ", "", "10000h"} {
		s.Webhooks.RetrySchedule = bad
		_, err = s.WebhookRetrySchedule()
		require.Error(t, err, bad)
	}
}
