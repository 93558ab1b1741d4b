package cmd_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	dataflow "github.com/dataflow/dataflow/cmd"
	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
)

// Bounds and fixed inputs of BenchmarkPipeline.
const (
	benchBuildTimeout  = 5 * time.Minute
	benchReadyTimeout  = 30 * time.Second
	benchUploadTimeout = 5 * time.Minute
	// benchBatchTimeout bounds the wait for one batch, so 300,000 records at
	// 1,000 records/s would still finish.
	benchBatchTimeout = 10 * time.Minute
	benchPollInterval = 50 * time.Millisecond
	benchStopTimeout  = 45 * time.Second
	benchHTTPTimeout  = 30 * time.Second

	benchClientIdentifier = "bench-client"
	benchClientSecret     = "bench-secret-0123456789"
	benchLeadSeed         = 42

	// benchClockTicksPerSecond is USER_HZ, the unit of utime and stime in
	// /proc/<pid>/stat.
	// NOTE: assumed to be 100, the value `getconf CLK_TCK` prints on Linux
	// x86-64. Go cannot call sysconf(_SC_CLK_TCK) without cgo.
	benchClockTicksPerSecond = 100
)

// benchCase is one sub-benchmark: a chunk size and a file size.
type benchCase struct {
	chunkSize int
	leads     int
}

func (c benchCase) name() string {
	return fmt.Sprintf("chunk=%d/leads=%d", c.chunkSize, c.leads)
}

// benchPeaks are the peak resident set sizes of one sub-benchmark's
// processes, in MiB.
type benchPeaks struct {
	serve float64
	work  float64
}

// BenchmarkPipeline measures the whole pipeline through the real binary:
// a multipart upload to `serve`, then `work` staging the records in SQLite
// and delivering them to `omniflow-standin`, each a separate process on
// 127.0.0.1. Every sub-benchmark starts fresh processes on an empty
// database, so the peak RSS it reports belongs to its own file size. Only
// the upload and the wait for Completed are timed. Building, starting the
// processes and generating the leads file are not.
//
// Metrics: upload_MB/s (file bytes over the time from sending the request to
// receiving the 202, MB = 10^6 bytes), records/s (records over the time from the
// 202 to the first poll that saw Completed, polled every 50 ms),
// api_records/s (records over completedAt minus startedAt as the API reports
// them), stage_records/s and deliver_records/s (the same interval split at
// the first poll that saw totalRecords set, which happens once every record
// is staged), *_peak_MB (VmHWM in MiB) and *_CPU_s (user plus system CPU
// seconds each process spent during the timed part).
//
// Run it with:
//
//	go test ./cmd -run '^$' -bench Pipeline -benchtime 1x -timeout 20m
func BenchmarkPipeline(b *testing.B) {
	binary := benchBuildBinary(b)
	filesDir := b.TempDir()

	files := map[int]string{}
	peaks := map[benchCase]benchPeaks{}
	cases := []benchCase{{chunkSize: 100, leads: 100_000}, {chunkSize: 1000, leads: 100_000}, {chunkSize: 1000, leads: 300_000}}
	for _, c := range cases {
		b.Run(c.name(), func(b *testing.B) {
			b.StopTimer()

			path, ok := files[c.leads]
			if !ok {
				path = filepath.Join(filesDir, fmt.Sprintf("leads-%d.json", c.leads))
				require.NoError(b, importtest.GenerateLeadsFile(path, c.leads, importtest.GenerateOptions{Seed: benchLeadSeed}))
				files[c.leads] = path
			}

			peaks[c] = benchRunCase(b, binary, c, path)
		})
	}

	benchCheckMemoryGrowth(b, peaks)
}

// BenchmarkWorkerInProcess runs the worker inside the benchmark process,
// through the same command line as `dataflow work`, so that Go's CPU profiler
// can see it. The stand-in and serve stay separate processes. The benchmark
// exists for profiling, and its figures are not the published ones:
//
//	go test ./cmd -run '^$' -bench WorkerInProcess -benchtime 1x -cpuprofile cpu.out
//	go tool pprof -top -cum -focus 'imports.\(\*Worker\).Run' cmd.test cpu.out
//
// Samples taken while the worker is inside SQLite (cgo) are charged to the
// Go function that called it. perf's call graphs of the real binary did not
// link SQLite's frames to their Go callers.
func BenchmarkWorkerInProcess(b *testing.B) {
	binary := benchBuildBinary(b)
	filesDir := b.TempDir()

	const leads = 100_000
	path := filepath.Join(filesDir, "leads.json")
	require.NoError(b, importtest.GenerateLeadsFile(path, leads, importtest.GenerateOptions{Seed: benchLeadSeed}))

	for _, chunkSize := range []int{100, 1000} {
		b.Run(fmt.Sprintf("chunk=%d", chunkSize), func(b *testing.B) {
			b.StopTimer()

			stack := benchStartStack(b, binary, chunkSize, true)
			benchStartWorkerInProcess(b, stack)

			var total benchImportResult
			for range b.N {
				b.StartTimer()
				result := stack.importFile(b, path, leads)
				b.StopTimer()

				stack.checkDelivered(b, result.batchID, leads)
				total.add(result)
			}

			records := float64(leads) * float64(b.N)
			b.ReportMetric(records/total.endToEnd.Seconds(), "records/s")
			b.ReportMetric(records/total.apiDuration.Seconds(), "api_records/s")
			b.ReportMetric(records/total.staging.Seconds(), "stage_records/s")
			b.ReportMetric(records/total.delivery.Seconds(), "deliver_records/s")
		})
	}
}

// benchStartWorkerInProcess runs `dataflow work` in a goroutine with the
// stack's settings, and stops it with SIGTERM to this process when the
// benchmark ends, as an operator stops the real binary.
//
// NOTE: the worker also reads the rest of the test process's environment, so
// DataFlow variables exported in the shell apply to it, unlike to the
// child processes.
func benchStartWorkerInProcess(b *testing.B, stack *benchStack) {
	for _, setting := range stack.settings {
		name, value, _ := strings.Cut(setting, "=")
		b.Setenv(name, value)
	}

	// The command line is read from os.Args.
	savedArgs := os.Args
	os.Args = []string{"dataflow", "work", "--config-dir", stack.configDir}
	b.Cleanup(func() { os.Args = savedArgs })

	exited := make(chan struct{})
	var exitCode int
	go func() {
		defer close(exited)
		exitCode = dataflow.Execute(dataflow.Assets{})
	}()

	stack.workExited = exited
	stack.workFailure = func() string { return fmt.Sprintf("the in-process worker returned exit code %d", exitCode) }

	b.Cleanup(func() {
		select {
		case <-exited:
			return
		default:
		}

		// While this channel is registered, SIGTERM cannot end the test
		// process, even if the worker unregistered its own handler just
		// before the signal arrived.
		guard := make(chan os.Signal, 1)
		signal.Notify(guard, syscall.SIGTERM)
		defer signal.Stop(guard)

		require.NoError(b, syscall.Kill(os.Getpid(), syscall.SIGTERM))
		select {
		case <-exited:
		case <-time.After(benchStopTimeout):
			b.Errorf("the in-process worker did not stop within %s of SIGTERM", benchStopTimeout)
		}
	})
}

// benchCheckMemoryGrowth fails the benchmark when a process's peak RSS grows
// with the file size. The worker and the API stream the file, so tripling
// the records may only add allocator and SQLite page-cache slack.
func benchCheckMemoryGrowth(b *testing.B, peaks map[benchCase]benchPeaks) {
	small, okSmall := peaks[benchCase{chunkSize: 1000, leads: 100_000}]
	large, okLarge := peaks[benchCase{chunkSize: 1000, leads: 300_000}]
	if !okSmall || !okLarge {
		return // a -bench filter skipped one of the two cases
	}

	// The allowance is 25% plus 16 MiB. A process that held the whole file or
	// every record would grow by the extra 200,000 records, about 73 MB of
	// JSON at 365 bytes a record, and more once decoded.
	limit := func(base float64) float64 { return base*1.25 + 16 }
	if large.serve > limit(small.serve) {
		b.Errorf("serve peak RSS grew with the file size: %.1f MiB at 300,000 leads against %.1f MiB at 100,000; "+
			"look for code in the upload path that buffers the file", large.serve, small.serve)
	}

	if large.work > limit(small.work) {
		b.Errorf("work peak RSS grew with the file size: %.1f MiB at 300,000 leads against %.1f MiB at 100,000; "+
			"look for code in staging or delivery that keeps every record", large.work, small.work)
	}
}

// benchRunCase starts the stack for one case, imports the file b.N times
// and reports the metrics averaged over the runs.
func benchRunCase(b *testing.B, binary string, c benchCase, leadsPath string) benchPeaks {
	stack := benchStartStack(b, binary, c.chunkSize, false)

	var total benchImportResult
	for range b.N {
		serveCPU := stack.serve.cpuSeconds(b)
		workCPU := stack.work.cpuSeconds(b)
		standInCPU := stack.standIn.cpuSeconds(b)

		b.StartTimer()
		result := stack.importFile(b, leadsPath, c.leads)
		b.StopTimer()

		result.serveCPU = stack.serve.cpuSeconds(b) - serveCPU
		result.workCPU = stack.work.cpuSeconds(b) - workCPU
		result.standInCPU = stack.standIn.cpuSeconds(b) - standInCPU
		stack.checkDelivered(b, result.batchID, c.leads)
		total.add(result)
	}

	peaks := benchPeaks{serve: stack.serve.peakRSSMiB(b), work: stack.work.peakRSSMiB(b)}
	standInPeak := stack.standIn.peakRSSMiB(b)

	records := float64(c.leads) * float64(b.N)
	b.ReportMetric(float64(total.fileBytes)/1e6/total.upload.Seconds(), "upload_MB/s")
	b.ReportMetric(records/total.endToEnd.Seconds(), "records/s")
	b.ReportMetric(records/total.apiDuration.Seconds(), "api_records/s")
	b.ReportMetric(records/total.staging.Seconds(), "stage_records/s")
	b.ReportMetric(records/total.delivery.Seconds(), "deliver_records/s")
	b.ReportMetric(peaks.serve, "serve_peak_MB")
	b.ReportMetric(peaks.work, "work_peak_MB")
	b.ReportMetric(standInPeak, "standin_peak_MB")
	b.ReportMetric(total.serveCPU/float64(b.N), "serve_CPU_s")
	b.ReportMetric(total.workCPU/float64(b.N), "work_CPU_s")
	b.ReportMetric(total.standInCPU/float64(b.N), "standin_CPU_s")

	return peaks
}

// benchImportResult is what one upload and its processing took.
type benchImportResult struct {
	batchID   string
	fileBytes int64
	// upload runs from sending the request to receiving the 202.
	upload time.Duration
	// endToEnd runs from the 202 to the first poll that saw Completed.
	endToEnd time.Duration
	// apiDuration is completedAt minus startedAt as the API reports them.
	apiDuration time.Duration
	// staging runs from startedAt to the first poll that saw totalRecords
	// set, and delivery runs from there to completedAt.
	staging    time.Duration
	delivery   time.Duration
	serveCPU   float64
	workCPU    float64
	standInCPU float64
}

func (r *benchImportResult) add(other benchImportResult) {
	r.fileBytes += other.fileBytes
	r.upload += other.upload
	r.endToEnd += other.endToEnd
	r.apiDuration += other.apiDuration
	r.staging += other.staging
	r.delivery += other.delivery
	r.serveCPU += other.serveCPU
	r.workCPU += other.workCPU
	r.standInCPU += other.standInCPU
}

// benchStack is the stand-in, serve and work processes of one case, with
// their shared SQLite file and upload folder.
type benchStack struct {
	standIn *benchProcess
	serve   *benchProcess
	// work is nil when the worker runs inside the benchmark process.
	work       *benchProcess
	apiURL     string
	standInURL string
	client     *http.Client
	// settings are the configuration variables every process gets, and
	// configDir is the empty folder passed as --config-dir.
	settings  []string
	configDir string
	// workExited is closed when the worker stops, and workFailure describes
	// why.
	workExited  <-chan struct{}
	workFailure func() string
}

// benchStartStack migrates a new SQLite database, then starts the stand-in
// and serve, each on a free port of 127.0.0.1, and work unless
// inProcessWorker is set.
func benchStartStack(b *testing.B, binary string, chunkSize int, inProcessWorker bool) *benchStack {
	dir := b.TempDir()
	configDir := filepath.Join(dir, "config")
	require.NoError(b, os.Mkdir(configDir, 0o750))

	apiPort := freePort(b)
	standInPort := freePort(b)
	s := &benchStack{
		apiURL:     fmt.Sprintf("http://127.0.0.1:%d", apiPort),
		standInURL: fmt.Sprintf("http://127.0.0.1:%d", standInPort),
		client:     &http.Client{Timeout: benchHTTPTimeout},
	}

	s.configDir = configDir
	s.settings = []string{
		"ConnectionStrings__DataFlow=" + filepath.Join(dir, "dataflow.db"),
		"Database__Provider=sqlite",
		"ApplyMigrationsOnStartup=true",
		"Metrics__Address=127.0.0.1:0",
		"Urls=" + s.apiURL,
		"ImportStorage__BasePath=" + filepath.Join(dir, "uploads"),
		"ImportStorage__MaxFileSizeMb=1024",
		"ImportBatch__PollIntervalSeconds=0.1",
		"ImportBatch__ChunkSize=" + strconv.Itoa(chunkSize),
		"OmniFlow__BaseUrl=" + s.standInURL,
		"Logging__LogLevel__Default=Warning",
		"ClientSeed__Clients__0__Name=Benchmark client",
		"ClientSeed__Clients__0__ClientIdentifier=" + benchClientIdentifier,
		"ClientSeed__Clients__0__Secret=" + benchClientSecret,
	}
	env := append(baseEnvironment(), s.settings...)
	configFlag := []string{"--config-dir", configDir}

	benchRunCommand(b, binary, dir, env, append([]string{"migrate", "up"}, configFlag...)...)

	s.standIn = benchStartProcess(b, "omniflow-standin", binary, dir, env,
		"omniflow-standin", "--listen", fmt.Sprintf("127.0.0.1:%d", standInPort), "--log-level", "Warning")
	s.waitReady(b, s.standIn, s.standInURL+"/__standin/stats")

	s.serve = benchStartProcess(b, "serve", binary, dir, env, append([]string{"serve"}, configFlag...)...)
	s.waitReady(b, s.serve, s.apiURL+"/ready")

	if inProcessWorker {
		return s
	}

	// The worker has no HTTP endpoint, so a worker that fails to start shows
	// up as an exit while the batch is awaited.
	s.work = benchStartProcess(b, "work", binary, dir, env, append([]string{"work"}, configFlag...)...)
	s.workExited = s.work.exited
	s.workFailure = func() string { return fmt.Sprintf("%v\n%s", s.work.waitErr, s.work.logTail()) }

	return s
}

// waitReady polls url until it returns 200, the process exits or
// benchReadyTimeout passes.
func (s *benchStack) waitReady(b *testing.B, p *benchProcess, url string) {
	b.Helper()

	deadline := time.NewTimer(benchReadyTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(benchPollInterval)
	defer ticker.Stop()

	for {
		resp, err := s.client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}

		select {
		case <-p.exited:
			b.Fatalf("%s exited before %s returned 200: %v\n%s", p.name, url, p.waitErr, p.logTail())
		case <-deadline.C:
			b.Fatalf("%s did not return 200 on %s within %s (last error: %v)\n%s", p.name, url, benchReadyTimeout, err, p.logTail())
		case <-ticker.C:
		}
	}
}

// importFile uploads the file and waits for its batch to complete.
func (s *benchStack) importFile(b *testing.B, path string, leads int) benchImportResult {
	b.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), benchUploadTimeout)
	defer cancel()

	batchID, size, uploadTime, err := s.upload(ctx, path)
	require.NoError(b, err)
	accepted := time.Now()

	status, stagedSeen, completedSeen := s.waitCompleted(b, batchID)
	require.Equal(b, "Completed", status.Status, "batch %s ended with summary %v", batchID, status.ErrorSummary)
	require.Equal(b, leads, status.TotalRecords)
	require.Equal(b, leads, status.ImportedRecords)
	require.Zero(b, status.FailedRecords)
	require.Equal(b, size, status.FileSizeBytes)
	require.NotNil(b, status.StartedAt)
	require.NotNil(b, status.CompletedAt)
	require.False(b, stagedSeen.IsZero(), "no poll saw totalRecords set before Completed")

	// stagedSeen is a poll time, so it is later than the real end of staging.
	// The cap keeps delivery from going negative when the last chunks ran
	// between two polls.
	staged := stagedSeen
	if staged.After(*status.CompletedAt) {
		staged = *status.CompletedAt
	}

	return benchImportResult{
		batchID:     batchID,
		fileBytes:   size,
		upload:      uploadTime,
		endToEnd:    completedSeen.Sub(accepted),
		apiDuration: status.CompletedAt.Sub(*status.StartedAt),
		staging:     staged.Sub(*status.StartedAt),
		delivery:    status.CompletedAt.Sub(staged),
	}
}

// upload posts the file as multipart/form-data, streaming it from disk
// through a pipe, and returns the batch id, the file size and the time from
// sending the request to receiving the 202.
func (s *benchStack) upload(ctx context.Context, path string) (string, int64, time.Duration, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", 0, 0, fmt.Errorf("opening the leads file: %w", err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return "", 0, 0, fmt.Errorf("reading the size of the leads file: %w", err)
	}

	fileName := filepath.Base(path)
	body, bodyWriter := io.Pipe()
	form := multipart.NewWriter(bodyWriter)

	// A known length makes the client send Content-Length, as curl -F does,
	// instead of chunked transfer encoding, which the server would also
	// have to decode.
	length, err := benchFormLength(form.Boundary(), fileName, info.Size())
	if err != nil {
		return "", 0, 0, err
	}

	written := make(chan error, 1)
	go func() {
		err := benchWriteForm(form, struct{ io.Reader }{file}, fileName)
		_ = bodyWriter.CloseWithError(err)
		written <- err
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+"/imports", body)
	if err != nil {
		_ = body.CloseWithError(err)
		<-written

		return "", 0, 0, fmt.Errorf("building the upload request: %w", err)
	}

	req.ContentLength = length
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("X-Client-Id", benchClientIdentifier)
	req.Header.Set("X-Client-Secret", benchClientSecret)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Do(req)
	elapsed := time.Since(start)
	_ = body.Close() // unblocks the writer when the request failed early
	writeErr := <-written
	if err != nil {
		return "", 0, 0, fmt.Errorf("uploading %s: %w", path, err)
	}
	defer resp.Body.Close()

	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, 0, fmt.Errorf("reading the upload response: %w", err)
	}

	if resp.StatusCode != http.StatusAccepted {
		return "", 0, 0, fmt.Errorf("uploading %s: got status %d, expected 202: %s", path, resp.StatusCode, payload)
	}

	if writeErr != nil {
		return "", 0, 0, fmt.Errorf("writing the multipart body: %w", writeErr)
	}

	var accepted struct {
		BatchID string `json:"batchId"`
	}
	if err := json.Unmarshal(payload, &accepted); err != nil {
		return "", 0, 0, fmt.Errorf("decoding the 202 body %q: %w", payload, err)
	}

	if accepted.BatchID == "" {
		return "", 0, 0, fmt.Errorf("missing batchId in the 202 body %q", payload)
	}

	return accepted.BatchID, info.Size(), elapsed, nil
}

// benchFormLength returns the byte length of the form that benchWriteForm
// writes with boundary around a file of fileSize bytes.
func benchFormLength(boundary, fileName string, fileSize int64) (int64, error) {
	var counter benchByteCounter
	form := multipart.NewWriter(&counter)
	if err := form.SetBoundary(boundary); err != nil {
		return 0, fmt.Errorf("setting the multipart boundary %q: %w", boundary, err)
	}

	if err := benchWriteForm(form, strings.NewReader(""), fileName); err != nil {
		return 0, err
	}

	return counter.n + fileSize, nil
}

// benchByteCounter is an io.Writer that only counts bytes.
type benchByteCounter struct{ n int64 }

func (c *benchByteCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))

	return len(p), nil
}

// benchContentTypes are the media types that the form gives for each file
// name extension, as a browser would.
var benchContentTypes = map[string]string{
	".json":   "application/json",
	".ndjson": "application/x-ndjson",
	".csv":    "text/csv",
	".xlsx":   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// benchWriteForm writes the text fields, then content as the file part, and
// closes the form.
func benchWriteForm(form *multipart.Writer, content io.Reader, fileName string) error {
	contentType, ok := benchContentTypes[filepath.Ext(fileName)]
	if !ok {
		contentType = "application/octet-stream"
	}

	for _, field := range [][2]string{{"fileName", fileName}, {"contentType", contentType}, {"requestedBy", "benchmark"}} {
		if err := form.WriteField(field[0], field[1]); err != nil {
			return fmt.Errorf("writing form field %s: %w", field[0], err)
		}
	}

	part, err := form.CreateFormFile("file", fileName)
	if err != nil {
		return fmt.Errorf("creating the file part: %w", err)
	}

	// The caller hides *os.File's WriterTo, so io.CopyBuffer reads 1 MiB at a
	// time instead of falling back to io.Copy's 32 KiB buffer.
	if _, err := io.CopyBuffer(part, content, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("copying the leads file into the form: %w", err)
	}

	return form.Close()
}

// benchBatchStatus is the part of GET /imports/{id} the benchmark checks.
type benchBatchStatus struct {
	Status          string     `json:"status"`
	FileSizeBytes   int64      `json:"fileSizeBytes"`
	StartedAt       *time.Time `json:"startedAt"`
	CompletedAt     *time.Time `json:"completedAt"`
	TotalRecords    int        `json:"totalRecords"`
	ImportedRecords int        `json:"importedRecords"`
	FailedRecords   int        `json:"failedRecords"`
	ErrorSummary    *string    `json:"errorSummary"`
}

// waitCompleted polls the batch every benchPollInterval until it reaches a
// final status. It returns the last status, the time of the first poll that
// saw totalRecords set and the time of the poll that saw the final status.
func (s *benchStack) waitCompleted(b *testing.B, batchID string) (benchBatchStatus, time.Time, time.Time) {
	b.Helper()

	deadline := time.NewTimer(benchBatchTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(benchPollInterval)
	defer ticker.Stop()

	var stagedSeen time.Time
	for {
		status, err := s.batchStatus(batchID)
		now := time.Now()
		require.NoError(b, err)

		if stagedSeen.IsZero() && status.TotalRecords > 0 {
			stagedSeen = now
		}

		switch status.Status {
		case "Completed", "CompletedWithErrors", "Failed", "Cancelled":
			return status, stagedSeen, now
		}

		select {
		case <-s.workExited:
			b.Fatalf("work exited while batch %s was %s: %s", batchID, status.Status, s.workFailure())
		case <-deadline.C:
			b.Fatalf("batch %s is still %s after %s", batchID, status.Status, benchBatchTimeout)
		case <-ticker.C:
		}
	}
}

func (s *benchStack) batchStatus(batchID string) (benchBatchStatus, error) {
	req, err := http.NewRequest(http.MethodGet, s.apiURL+"/imports/"+batchID, nil)
	if err != nil {
		return benchBatchStatus{}, fmt.Errorf("building the status request: %w", err)
	}

	req.Header.Set("X-Client-Id", benchClientIdentifier)
	req.Header.Set("X-Client-Secret", benchClientSecret)

	resp, err := s.client.Do(req)
	if err != nil {
		return benchBatchStatus{}, fmt.Errorf("getting batch %s: %w", batchID, err)
	}
	defer resp.Body.Close()

	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return benchBatchStatus{}, fmt.Errorf("reading batch %s: %w", batchID, err)
	}

	if resp.StatusCode != http.StatusOK {
		return benchBatchStatus{}, fmt.Errorf("getting batch %s: got status %d, expected 200: %s", batchID, resp.StatusCode, payload)
	}

	var status benchBatchStatus
	if err := json.Unmarshal(payload, &status); err != nil {
		return benchBatchStatus{}, fmt.Errorf("decoding batch %s: %w", batchID, err)
	}

	return status, nil
}

// checkDelivered checks in the stand-in's statistics that every record of
// the batch arrived exactly once.
func (s *benchStack) checkDelivered(b *testing.B, batchID string, leads int) {
	b.Helper()

	resp, err := s.client.Get(s.standInURL + "/__standin/stats")
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)

	var stats omniflow.Stats
	require.NoError(b, json.NewDecoder(resp.Body).Decode(&stats))

	batch, ok := stats.Batches[batchID]
	require.True(b, ok, "the stand-in saw no request for batch %s", batchID)
	require.EqualValues(b, leads, batch.RecordsAccepted)
	require.EqualValues(b, leads, batch.DistinctSequences)
	require.Zero(b, batch.DuplicateSequenceCount)
}

// benchProcess is a dataflow subcommand running as a child process, with
// its combined output in a log file.
type benchProcess struct {
	name    string
	command *exec.Cmd
	logPath string
	exited  chan struct{}
	// waitErr is set before exited is closed.
	waitErr error
}

// benchStartProcess starts binary with args in dir and stops it when the
// benchmark ends.
func benchStartProcess(b *testing.B, name, binary, dir string, env []string, args ...string) *benchProcess {
	b.Helper()

	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(b, err)

	command := exec.Command(binary, args...)
	command.Dir = dir
	command.Env = env
	command.Stdout = logFile
	command.Stderr = logFile
	require.NoError(b, command.Start(), "starting %s", name)
	_ = logFile.Close() // the child has its own descriptor

	p := &benchProcess{name: name, command: command, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = command.Wait()
		close(p.exited)
	}()

	b.Cleanup(func() { p.stop(b) })

	return p
}

// stop sends SIGTERM and waits for a clean exit, then kills the process
// after benchStopTimeout. The worker may take up to its ShutdownTimeout
// (30s by default) to finish a chunk in flight.
func (p *benchProcess) stop(b *testing.B) {
	select {
	case <-p.exited:
		return
	default:
	}

	_ = p.command.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(benchStopTimeout):
		_ = p.command.Process.Kill()
		<-p.exited
		b.Errorf("%s did not stop within %s of SIGTERM and was killed\n%s", p.name, benchStopTimeout, p.logTail())
	}
}

// logTail returns the last 4 KiB of the process output.
func (p *benchProcess) logTail() string {
	content, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.logPath, err)
	}

	const tail = 4 << 10
	if len(content) > tail {
		content = content[len(content)-tail:]
	}

	return string(content)
}

// peakRSSMiB reads VmHWM, the peak resident set size since the process
// started, from /proc/<pid>/status.
func (p *benchProcess) peakRSSMiB(b *testing.B) float64 {
	b.Helper()

	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.command.Process.Pid))
	require.NoError(b, err, "reading the status of %s", p.name)
	defer f.Close()

	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "VmHWM:")
		if !ok {
			continue
		}

		kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 64)
		require.NoError(b, err, "parsing VmHWM %q of %s", value, p.name)

		return kib / 1024
	}

	require.NoError(b, scanner.Err())
	b.Fatalf("no VmHWM line in /proc/%d/status of %s", p.command.Process.Pid, p.name)

	return 0
}

// cpuSeconds reads the user plus system CPU time of the process from
// /proc/<pid>/stat.
func (p *benchProcess) cpuSeconds(b *testing.B) float64 {
	b.Helper()

	content, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.command.Process.Pid))
	require.NoError(b, err, "reading the CPU time of %s", p.name)

	// The command name in brackets may contain spaces, so the fields are
	// counted after its closing bracket: utime and stime are fields 14 and 15
	// of the line, so 12 and 13 after the name.
	end := strings.LastIndexByte(string(content), ')')
	require.Positive(b, end, "unexpected /proc/<pid>/stat content of %s", p.name)
	fields := strings.Fields(string(content[end+1:]))
	require.Greater(b, len(fields), 12, "too few fields in /proc/<pid>/stat of %s", p.name)

	user, err := strconv.ParseFloat(fields[11], 64)
	require.NoError(b, err)
	system, err := strconv.ParseFloat(fields[12], 64)
	require.NoError(b, err)

	return (user + system) / benchClockTicksPerSecond
}

// benchRunCommand runs a dataflow command to completion and fails the
// benchmark with its output when it fails.
func benchRunCommand(b *testing.B, binary, dir string, env []string, args ...string) {
	b.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), benchReadyTimeout)
	defer cancel()

	command := exec.CommandContext(ctx, binary, args...)
	command.Dir = dir
	command.Env = env
	output, err := command.CombinedOutput()
	require.NoError(b, err, "dataflow %s failed:\n%s", strings.Join(args, " "), output)
}

// benchBuildBinary builds dataflow from the repository root into a
// temporary folder.
func benchBuildBinary(b *testing.B) string {
	b.Helper()

	root, err := filepath.Abs("..")
	require.NoError(b, err)

	ctx, cancel := context.WithTimeout(context.Background(), benchBuildTimeout)
	defer cancel()

	binary := filepath.Join(b.TempDir(), "dataflow")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, ".")
	build.Dir = root
	output, err := build.CombinedOutput()
	require.NoError(b, err, "building dataflow in %s:\n%s", root, output)

	return binary
}
