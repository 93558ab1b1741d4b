package cmd_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2ERateLimitAcrossReplicas runs two serve processes on one database:
// the per-minute upload limit holds across them because the counter lives
// in the database.
func TestE2ERateLimitAcrossReplicas(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{deferWorker: true, env: []string{"RateLimit__RequestsPerMinute=3"}})

		secondURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		second := startProcess(t, "serve-2", s.workDir, append(append([]string{}, s.env...), "Urls="+secondURL),
			"--config-dir", s.configDir, "serve")
		waitHealthy(t, second, secondURL)

		statuses := []int{}
		remaining := []string{}
		for i := range 4 {
			target := s.apiURL
			if i%2 == 1 {
				target = secondURL
			}

			response := postFile(t, s, target, clientAlpha, fmt.Sprintf(`[{"phoneNumber":"%d"}]`, i))
			statuses = append(statuses, response.status)
			remaining = append(remaining, response.header.Get("X-RateLimit-Remaining"))
			require.Equal(t, "3", response.header.Get("X-RateLimit-Limit"))
			if response.status == http.StatusTooManyRequests {
				require.NotEmpty(t, response.header.Get("Retry-After"))
				require.Equal(t, "rate_limited", response.apiError(t).Code)
			}
		}

		// NOTE: a minute boundary between the uploads would reset the
		// count; the four uploads take well under a second.
		require.Equal(t, []int{202, 202, 202, 429}, statuses)
		require.Equal(t, []string{"2", "1", "0", "0"}, remaining)

		// Another client has its own count.
		response := postFile(t, s, secondURL, clientBeta, `[{"phoneNumber":"9"}]`)
		require.Equal(t, http.StatusAccepted, response.status)
	})
}

// TestE2EAuthThrottling checks that guessing a client's secret is cut off
// after ten failures in a minute, even for the right secret.
func TestE2EAuthThrottling(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{deferWorker: true})
		wrong := credentials{id: clientAlpha.id, secret: "wrong-secret-0123456789"}

		for i := range 10 {
			response := s.getBatch(t, &wrong, "00000000-0000-0000-0000-000000000000", nil)
			require.Equal(t, http.StatusUnauthorized, response.status, "attempt %d", i+1)
		}

		response := s.getBatch(t, &wrong, "00000000-0000-0000-0000-000000000000", nil)
		require.Equal(t, http.StatusTooManyRequests, response.status)
		require.Equal(t, "too_many_failed_attempts", response.apiError(t).Code)
		require.NotEmpty(t, response.header.Get("Retry-After"))

		response = s.getBatch(t, &clientAlpha, "00000000-0000-0000-0000-000000000000", nil)
		require.Equal(t, http.StatusTooManyRequests, response.status, "the right secret waits too, or guessing would go on")

		response = s.getBatch(t, &clientBeta, "00000000-0000-0000-0000-000000000000", nil)
		require.Equal(t, http.StatusNotFound, response.status, "other clients are not affected")
	})
}

// postFile uploads content as leads.json to the API at baseURL.
func postFile(t *testing.T, s *stack, baseURL string, client credentials, content string) apiResponse {
	t.Helper()

	saved := s.apiURL
	s.apiURL = baseURL
	defer func() { s.apiURL = saved }()

	return s.postMultipart(t, &client, formPart{name: "file", fileName: "leads.json", content: []byte(content)})
}

// TestE2EAuthThrottlingParallel sends wrong secrets in parallel: no more
// than ten of them may have their secret checked.
func TestE2EAuthThrottlingParallel(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{deferWorker: true})
		wrong := credentials{id: clientAlpha.id, secret: "wrong-secret-0123456789"}

		statuses := make(chan int, 30)
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- s.getBatch(t, &wrong, "00000000-0000-0000-0000-000000000000", nil).status
			}()
		}
		wg.Wait()
		close(statuses)

		counts := map[int]int{}
		for status := range statuses {
			counts[status]++
		}

		require.LessOrEqual(t, counts[http.StatusUnauthorized], 10, "statuses: %v", counts)
		require.Equal(t, 30, counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests], "statuses: %v", counts)
	})
}
