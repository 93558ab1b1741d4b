package cmd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "github.com/mattn/go-sqlite3"    // registers the "sqlite3" database/sql driver
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
)

// postgresURLVariable names the variable whose PostgreSQL URL turns on the
// PostgreSQL runs of every scenario.
const postgresURLVariable = "DATAFLOW_TEST_POSTGRES"

// Bounds of the waits. They are generous because the race detector and a
// busy CI machine slow the processes down.
const (
	buildTimeout     = 5 * time.Minute
	readyTimeout     = 30 * time.Second
	batchTimeout     = 60 * time.Second
	commandTimeout   = 60 * time.Second
	stopTimeout      = 15 * time.Second
	pollInterval     = 50 * time.Millisecond
	httpTimeout      = 30 * time.Second
	processWaitDelay = 5 * time.Second
)

var (
	buildOnce   sync.Once
	buildDir    string
	buildBinary string
	buildErr    error
)

// TestMain removes the binary that the first end-to-end test built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}

	os.Exit(code)
}

// skipUnlessEndToEnd skips tests that build and start real processes under
// -short, and on systems without SIGTERM.
func skipUnlessEndToEnd(t *testing.T) {
	t.Helper()

	if testing.Short() {
		t.Skip("end-to-end tests build the binary and start processes; skipped under -short")
	}

	if runtime.GOOS == "windows" {
		t.Skip("end-to-end tests stop processes with SIGTERM, which Windows does not deliver")
	}
}

// dataflowBinary builds the dataflow binary once per test binary and returns
// its path.
func dataflowBinary(t *testing.T) string {
	t.Helper()

	buildOnce.Do(func() {
		repoRoot, err := filepath.Abs("..")
		if err != nil {
			buildErr = fmt.Errorf("resolving the repository root: %w", err)

			return
		}

		buildDir, err = os.MkdirTemp("", "dataflow-e2e-*")
		if err != nil {
			buildErr = fmt.Errorf("creating the build folder: %w", err)

			return
		}

		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()

		binary := filepath.Join(buildDir, "dataflow")
		args := []string{"build", "-o", binary}
		if raceEnabled() {
			// The processes then report their own data races, which the
			// stop check turns into test failures.
			args = append(args, "-race")
		}

		build := exec.CommandContext(ctx, "go", append(args, ".")...)
		build.Dir = repoRoot
		output, err := build.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building dataflow in %s: %w\n%s", repoRoot, err, output)

			return
		}

		buildBinary = binary
	})

	require.NoError(t, buildErr)

	return buildBinary
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}

	for _, setting := range info.Settings {
		if setting.Key == "-race" {
			return setting.Value == "true"
		}
	}

	return false
}

// baseEnvironment keeps only the variables a Go program needs, so that
// settings exported in the developer's shell (ConnectionStrings__DataFlow,
// DATAFLOW_CONFIG_DIR, ASPNETCORE_URLS...) cannot change what a test runs.
func baseEnvironment() []string {
	var env []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR"} {
		if value, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+value)
		}
	}

	return env
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process could take it before the child binds it; the child then
// fails to start, and the readiness wait reports its log.
func freePort(t testing.TB) int {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	port := listener.Addr().(*net.TCPAddr).Port
	require.NoError(t, listener.Close())

	return port
}

// randomHex returns n random bytes as lower-case hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()

	buf := make([]byte, n)
	_, err := rand.Read(buf)
	require.NoError(t, err)

	return hex.EncodeToString(buf)
}

// testDatabase is the database one scenario runs against.
type testDatabase struct {
	// name is the subtest name: sqlite or postgres.
	name string
	// provider is the Database:Provider value.
	provider string
	// connectionString is the ConnectionStrings:DataFlow value.
	connectionString string
	// driverName and dataSource open the same database with database/sql.
	driverName string
	dataSource string
}

// forEachDatabase runs body on a fresh SQLite file, and also on a fresh
// PostgreSQL schema when DATAFLOW_TEST_POSTGRES is set. The runs are
// parallel because they share no state.
func forEachDatabase(t *testing.T, body func(t *testing.T, db testDatabase)) {
	t.Helper()

	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		body(t, newSQLiteDatabase(t))
	})

	postgresURL := os.Getenv(postgresURLVariable)
	if postgresURL == "" {
		return
	}

	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		body(t, newPostgresDatabase(t, postgresURL))
	})
}

func newSQLiteDatabase(t *testing.T) testDatabase {
	t.Helper()

	path := filepath.Join(t.TempDir(), "dataflow.db")

	return testDatabase{
		name:             "sqlite",
		provider:         "sqlite",
		connectionString: path,
		driverName:       "sqlite3",
		dataSource:       "file:" + path + "?_busy_timeout=10000",
	}
}

// newPostgresDatabase creates the schema e2e_<random> and returns baseURL
// with that schema as the search path. The schema is dropped when the test
// ends, after the processes that use it were stopped.
func newPostgresDatabase(t *testing.T, baseURL string) testDatabase {
	t.Helper()

	schema := "e2e_" + randomHex(t, 8)

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()

	conn, err := pgx.Connect(ctx, baseURL)
	require.NoError(t, err, "connecting to %s (%s)", postgresURLVariable, redactURL(baseURL))
	defer conn.Close(context.Background())

	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()

		conn, err := pgx.Connect(ctx, baseURL)
		if err != nil {
			t.Errorf("connecting to drop schema %s: %v", schema, err)

			return
		}
		defer conn.Close(context.Background())

		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})

	parsed, err := url.Parse(baseURL)
	require.NoError(t, err)

	query := parsed.Query()
	query.Set("search_path", schema)
	parsed.RawQuery = query.Encode()

	return testDatabase{
		name:             "postgres",
		provider:         "postgres",
		connectionString: parsed.String(),
		driverName:       "pgx",
		dataSource:       parsed.String(),
	}
}

// redactURL hides the password of a URL for test messages.
func redactURL(raw string) string {
	parsed, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}

	return parsed.Redacted()
}

// outputLog is the combined stdout and stderr of a process: a file on disk
// plus an in-memory copy that waitFor watches.
type outputLog struct {
	mu      sync.Mutex
	file    *os.File
	data    bytes.Buffer
	changed chan struct{}
}

func newOutputLog(path string) (*outputLog, error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating process log %s: %w", path, err)
	}

	return &outputLog{file: file, changed: make(chan struct{})}, nil
}

// Write appends to the file and the copy, and wakes every waitFor.
func (o *outputLog) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()

	o.data.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})

	return o.file.Write(p)
}

// String returns everything written so far.
func (o *outputLog) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()

	return o.data.String()
}

// waitFor blocks until the output contains text, exited is closed, or the
// timeout passes. It reports whether the text appeared.
func (o *outputLog) waitFor(text string, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	for {
		o.mu.Lock()
		found := strings.Contains(o.data.String(), text)
		changed := o.changed
		o.mu.Unlock()

		if found {
			return true
		}

		select {
		case <-changed:
		case <-exited:
			return strings.Contains(o.String(), text)
		case <-deadline.C:
			return false
		}
	}
}

// process is a dataflow process started by a test.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *outputLog
	// exited is closed once the process has exited and its output is read.
	exited  chan struct{}
	waitErr error
}

// startProcess starts the binary with args and env in dir, logs its output
// when the test fails, and stops it when the test ends.
func startProcess(t *testing.T, name, dir string, env []string, args ...string) *process {
	t.Helper()

	output, err := newOutputLog(filepath.Join(t.TempDir(), name+".log"))
	require.NoError(t, err)

	cmd := exec.Command(dataflowBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnvironment(), env...)
	cmd.Stdout = output
	cmd.Stderr = output
	cmd.WaitDelay = processWaitDelay

	require.NoError(t, cmd.Start(), "starting %s", name)

	p := &process{name: name, cmd: cmd, output: output, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	// Cleanups run last-in first-out: the process stops first, then its
	// output is logged, so the log includes the shutdown.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- output of %s (%s) ---\n%s", name, strings.Join(args, " "), output.String())
		}

		_ = output.file.Close()
	})
	t.Cleanup(func() {
		p.stop(t)

		if strings.Contains(output.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race; see its output", name)
		}
	})

	return p
}

// stop sends SIGTERM, waits up to stopTimeout, then kills the process.
func (p *process) stop(t *testing.T) {
	t.Helper()

	if p.hasExited() {
		return
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("sending SIGTERM to %s: %v", p.name, err)
	}

	if p.waitExit(stopTimeout) {
		if code := p.exitCode(); code != 0 {
			t.Errorf("%s exited with code %d after SIGTERM; a requested stop must exit 0", p.name, code)
		}

		return
	}

	t.Errorf("%s did not exit within %s of SIGTERM; killing it", p.name, stopTimeout)
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitExit reports whether the process exited within timeout.
func (p *process) waitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// exitCode returns the exit status after the process exited, or -1 when a
// signal killed it.
func (p *process) exitCode() int {
	<-p.exited

	return p.cmd.ProcessState.ExitCode()
}

// waitForOutput fails the test unless the process prints text within timeout.
func (p *process) waitForOutput(t *testing.T, text string, timeout time.Duration) {
	t.Helper()

	if !p.output.waitFor(text, p.exited, timeout) {
		state := "still running"
		if p.hasExited() {
			state = fmt.Sprintf("exited with %v", p.waitErr)
		}

		t.Fatalf("%s did not print %q within %s (%s)", p.name, text, timeout, state)
	}
}

// commandResult is the outcome of a command that runs to its end.
type commandResult struct {
	stdout   string
	stderr   string
	exitCode int
	elapsed  time.Duration
}

// runDataflow runs a one-shot dataflow command and fails the test when it
// does not end within timeout.
func runDataflow(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) commandResult {
	t.Helper()

	return runDataflowWithInput(t, dir, env, timeout, nil, args...)
}

// runDataflowWithInput is runDataflow with stdin, when not nil, as the
// standard input.
func runDataflowWithInput(t *testing.T, dir string, env []string, timeout time.Duration, stdin io.Reader, args ...string) commandResult {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, dataflowBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnvironment(), env...)
	cmd.Stdin = stdin
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = processWaitDelay

	start := time.Now()
	err := cmd.Run()
	result := commandResult{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}

	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("dataflow %s did not end within %s\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), timeout, result.stdout, result.stderr)
	case errors.As(err, &exitErr):
		result.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running dataflow %s: %v", strings.Join(args, " "), err)
	}

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- dataflow %s: exit %d after %s ---\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), result.exitCode, result.elapsed.Round(time.Millisecond), result.stdout, result.stderr)
		}
	})

	return result
}

// httpClient sends every request of the tests. Its timeout bounds each call.
var httpClient = &http.Client{Timeout: httpTimeout}

// waitHealthy polls baseURL/health until it returns 200, failing the test
// when the process exits first or readyTimeout passes.
func waitHealthy(t *testing.T, p *process, baseURL string) {
	t.Helper()

	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()

	for {
		response, err := httpClient.Get(baseURL + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, response.Body)
			_ = response.Body.Close()

			if response.StatusCode == http.StatusOK {
				return
			}
		}

		select {
		case <-p.exited:
			t.Fatalf("%s exited with %v before %s/health returned 200", p.name, p.waitErr, baseURL)
		case <-deadline.C:
			t.Fatalf("%s/health of %s did not return 200 within %s (last error: %v)", baseURL, p.name, readyTimeout, err)
		case <-ticker.C:
		}
	}
}

// credentials are one API client's X-Client-Id and X-Client-Secret.
type credentials struct {
	id     string
	secret string
}

// The clients every stack seeds. Secrets are at least 16 characters long,
// which `serve` requires.
var (
	clientAlpha = credentials{id: "e2e-alpha", secret: "alpha-secret-0123456789abcdef"}
	clientBeta  = credentials{id: "e2e-beta", secret: "beta-secret-0123456789abcdef"}
)

// seedEnvironment returns the ClientSeed variables of clients, at indexes
// from first on.
func seedEnvironment(first int, clients ...credentials) []string {
	var env []string
	for i, client := range clients {
		prefix := "ClientSeed__Clients__" + strconv.Itoa(first+i) + "__"
		env = append(env,
			prefix+"Name="+client.id+" test client",
			prefix+"ClientIdentifier="+client.id,
			prefix+"Secret="+client.secret,
		)
	}

	return env
}

// stackOptions changes how newStack starts the processes.
type stackOptions struct {
	// chunkSize is ImportBatch:ChunkSize, and 0 means 100.
	chunkSize int
	// standInArgs are extra omniflow-standin flags, such as --fail-first 8.
	standInArgs []string
	// env are extra variables for serve and work, added last so they win.
	env []string
	// deferWorker leaves the worker to a later startWorker call.
	deferWorker bool
}

// stack is a running DataFlow: the OmniFlow stand-in, serve and work, all
// sharing one database and one storage folder.
type stack struct {
	db          testDatabase
	root        string
	storagePath string
	// configDir is an empty folder, so no appsettings file takes part.
	configDir  string
	workDir    string
	env        []string
	apiURL     string
	standInURL string
	standIn    *process
	serve      *process
	worker     *process
	sqlDB      *sql.DB
}

// newStack migrates the database and starts the stand-in, serve and,
// unless deferred, work. Everything stops when the test ends.
func newStack(t *testing.T, db testDatabase, opts stackOptions) *stack {
	t.Helper()

	root := t.TempDir()
	s := &stack{
		db:          db,
		root:        root,
		storagePath: filepath.Join(root, "data", "storage", "uploads"),
		workDir:     filepath.Join(root, "work"),
	}
	s.configDir = filepath.Join(root, "config")
	require.NoError(t, os.MkdirAll(s.configDir, 0o750))
	require.NoError(t, os.MkdirAll(s.workDir, 0o750))

	chunkSize := opts.chunkSize
	if chunkSize == 0 {
		chunkSize = 100
	}

	standInPort := freePort(t)
	apiPort := freePort(t)
	s.standInURL = fmt.Sprintf("http://127.0.0.1:%d", standInPort)
	s.apiURL = fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	s.env = append([]string{
		"ConnectionStrings__DataFlow=" + db.connectionString,
		"Database__Provider=" + db.provider,
		"ImportStorage__BasePath=" + s.storagePath,
		"OmniFlow__BaseUrl=" + s.standInURL,
		"Urls=" + s.apiURL,
		"ApplyMigrationsOnStartup=true",
		"ImportBatch__PollIntervalSeconds=0.2",
		"ImportBatch__ChunkSize=" + strconv.Itoa(chunkSize),
		"OmniFlow__RetryBaseDelay=50ms",
		"ImportBatch__UnavailableDelay=200ms",
		"Logging__LogLevel__Default=Debug",
		// Tests upload faster than a client would; the rate limit test
		// sets its own limit.
		"RateLimit__RequestsPerMinute=100000",
		// Several workers run at once, so each takes a free port.
		"Metrics__Address=127.0.0.1:0",
	}, seedEnvironment(0, clientAlpha, clientBeta)...)
	s.env = append(s.env, opts.env...)

	migrate := runDataflow(t, s.workDir, s.env, commandTimeout, "--config-dir", s.configDir, "migrate", "up")
	require.Equal(t, 0, migrate.exitCode, "migrate up failed:\n%s", migrate.stderr)

	standInArgs := append([]string{"omniflow-standin", "--listen", fmt.Sprintf("127.0.0.1:%d", standInPort), "--log-level", "Debug"},
		opts.standInArgs...)
	s.standIn = startProcess(t, "omniflow-standin", s.workDir, nil, standInArgs...)
	waitHealthy(t, s.standIn, s.standInURL)

	s.serve = startProcess(t, "serve", s.workDir, s.env, "--config-dir", s.configDir, "serve")
	waitHealthy(t, s.serve, s.apiURL)

	s.openDatabase(t)

	if !opts.deferWorker {
		s.startWorker(t)
	}

	return s
}

// startWorker starts `work` and waits until its loop runs.
func (s *stack) startWorker(t *testing.T) {
	t.Helper()

	require.Nil(t, s.worker, "the worker is already running")

	s.worker = startProcess(t, "work", s.workDir, s.env, "--config-dir", s.configDir, "work")
	s.worker.waitForOutput(t, "worker started", readyTimeout)
}

// openDatabase opens the stack's database with database/sql. The handle
// lives as long as the test that created the stack, so subtests share it.
func (s *stack) openDatabase(t *testing.T) {
	t.Helper()

	db, err := sql.Open(s.db.driverName, s.db.dataSource)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	s.sqlDB = db
}

// rebind turns ? placeholders into $1, $2... for PostgreSQL.
func (s *stack) rebind(query string) string {
	if s.db.driverName != "pgx" {
		return query
	}

	var out strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			out.WriteString("$" + strconv.Itoa(n))

			continue
		}

		out.WriteRune(r)
	}

	return out.String()
}

// exec runs one statement on the stack's database.
func (s *stack) exec(t *testing.T, query string, args ...any) int64 {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	result, err := s.sqlDB.ExecContext(ctx, s.rebind(query), args...)
	require.NoError(t, err, "running %s", query)

	affected, err := result.RowsAffected()
	require.NoError(t, err)

	return affected
}

// itemRow is one row of ImportItems.
type itemRow struct {
	sequence     int
	status       string
	leadID       sql.NullString
	errorMessage sql.NullString
}

// items returns the ImportItems rows of a batch by sequence.
func (s *stack) items(t *testing.T, batchID string) []itemRow {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	rows, err := s.sqlDB.QueryContext(ctx, s.rebind(
		`SELECT "Sequence", "Status", "LeadId", "ErrorMessage" FROM "ImportItems" WHERE "BatchId" = ? ORDER BY "Sequence"`), batchID)
	require.NoError(t, err)
	defer rows.Close()

	var out []itemRow
	for rows.Next() {
		var row itemRow
		require.NoError(t, rows.Scan(&row.sequence, &row.status, &row.leadID, &row.errorMessage))
		out = append(out, row)
	}

	require.NoError(t, rows.Err())

	return out
}

// batchRow is the part of an ImportBatches row that the API does not show.
type batchRow struct {
	uploadPath   string
	pauseCount   int
	attemptCount int
}

func (s *stack) batchRow(t *testing.T, batchID string) batchRow {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var row batchRow
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(
		`SELECT "UploadPath", "PauseCount", "AttemptCount" FROM "ImportBatches" WHERE "Id" = ?`), batchID).
		Scan(&row.uploadPath, &row.pauseCount, &row.attemptCount)
	require.NoError(t, err, "loading batch %s", batchID)

	return row
}

// apiResponse is a response with its body read.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// apiError is the JSON body of every API error.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r apiResponse) apiError(t *testing.T) apiError {
	t.Helper()

	var body apiError
	require.NoError(t, json.Unmarshal(r.body, &body), "decoding error body %s", r.body)

	return body
}

// uploadAccepted is the 202 body of POST /imports.
type uploadAccepted struct {
	BatchID        string  `json:"batchId"`
	Status         string  `json:"status"`
	PolicyDecision string  `json:"policyDecision"`
	ScheduledFor   *string `json:"scheduledFor"`
	Location       string  `json:"location"`
}

// batchStatus is the body of GET /imports/{batchId}.
type batchStatus struct {
	BatchID          string  `json:"batchId"`
	Status           string  `json:"status"`
	FileName         string  `json:"fileName"`
	FileType         string  `json:"fileType"`
	FileSizeBytes    int64   `json:"fileSizeBytes"`
	Checksum         string  `json:"checksum"`
	TotalRecords     int     `json:"totalRecords"`
	ProcessedRecords int     `json:"processedRecords"`
	ImportedRecords  int     `json:"importedRecords"`
	FailedRecords    int     `json:"failedRecords"`
	SkippedRecords   int     `json:"skippedRecords"`
	ErrorSummary     *string `json:"errorSummary"`
	OriginDefault    *string `json:"originDefault"`
}

// formPart is one part of a multipart upload. A part with a fileName is a
// file part.
type formPart struct {
	name     string
	fileName string
	content  []byte
}

// send performs one API request with the client's credentials, when given.
func (s *stack) send(t *testing.T, request *http.Request, client *credentials) apiResponse {
	t.Helper()

	if client != nil {
		request.Header.Set("X-Client-Id", client.id)
		request.Header.Set("X-Client-Secret", client.secret)
	}

	response, err := httpClient.Do(request)
	require.NoError(t, err, "%s %s", request.Method, request.URL)
	defer response.Body.Close()

	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return apiResponse{status: response.StatusCode, header: response.Header, body: body}
}

// postMultipart sends POST /imports with the parts in order.
func (s *stack) postMultipart(t *testing.T, client *credentials, parts ...formPart) apiResponse {
	t.Helper()

	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	for _, part := range parts {
		var target io.Writer
		var err error
		if part.fileName != "" {
			target, err = writer.CreateFormFile(part.name, part.fileName)
		} else {
			target, err = writer.CreateFormField(part.name)
		}

		require.NoError(t, err)
		_, err = target.Write(part.content)
		require.NoError(t, err)
	}

	require.NoError(t, writer.Close())

	request, err := http.NewRequest(http.MethodPost, s.apiURL+"/imports", &body)
	require.NoError(t, err)
	request.Header.Set("Content-Type", writer.FormDataContentType())

	return s.send(t, request, client)
}

// upload posts a file and requires 202. It returns the decoded body.
func (s *stack) upload(t *testing.T, client credentials, fileName string, content []byte, fields ...formPart) uploadAccepted {
	t.Helper()

	parts := append([]formPart{{name: "file", fileName: fileName, content: content}}, fields...)
	response := s.postMultipart(t, &client, parts...)
	require.Equal(t, http.StatusAccepted, response.status, "POST /imports answered %s", response.body)

	var accepted uploadAccepted
	require.NoError(t, json.Unmarshal(response.body, &accepted), "decoding %s", response.body)
	require.NotEmpty(t, accepted.BatchID)
	require.Equal(t, accepted.Location, response.header.Get("Location"), "the Location header must equal the location field")

	return accepted
}

// getBatch sends GET /imports/{batchId}.
func (s *stack) getBatch(t *testing.T, client *credentials, batchID string, header http.Header) apiResponse {
	t.Helper()

	request, err := http.NewRequest(http.MethodGet, s.apiURL+"/imports/"+batchID, nil)
	require.NoError(t, err)
	for name, values := range header {
		request.Header[name] = values
	}

	return s.send(t, request, client)
}

func (s *stack) batchStatus(t *testing.T, client credentials, batchID string) batchStatus {
	t.Helper()

	response := s.getBatch(t, &client, batchID, nil)
	require.Equal(t, http.StatusOK, response.status, "GET /imports/%s answered %s", batchID, response.body)

	var status batchStatus
	require.NoError(t, json.Unmarshal(response.body, &status), "decoding %s", response.body)

	return status
}

// finalStatuses are the batch statuses a batch never leaves.
var finalStatuses = []string{"Completed", "CompletedWithErrors", "Failed", "Cancelled"}

// waitForBatch polls the batch until it reaches a final status and returns
// it with every ProcessedRecords value seen on the way.
func (s *stack) waitForBatch(t *testing.T, client credentials, batchID string) (batchStatus, []int) {
	t.Helper()

	deadline := time.NewTimer(batchTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()

	var workerExited <-chan struct{}
	if s.worker != nil {
		workerExited = s.worker.exited
	}

	var progress []int
	for {
		status := s.batchStatus(t, client, batchID)
		progress = append(progress, status.ProcessedRecords)
		if slices.Contains(finalStatuses, status.Status) {
			return status, progress
		}

		select {
		case <-deadline.C:
			t.Fatalf("batch %s is still %s after %s (%d of %d records processed)",
				batchID, status.Status, batchTimeout, status.ProcessedRecords, status.TotalRecords)
		case <-workerExited:
			t.Fatalf("the worker exited with %v while batch %s was %s", s.worker.waitErr, batchID, status.Status)
		case <-ticker.C:
		}
	}
}

// standInStats fetches GET /__standin/stats.
func (s *stack) standInStats(t *testing.T) omniflow.Stats {
	t.Helper()

	response, err := httpClient.Get(s.standInURL + "/__standin/stats")
	require.NoError(t, err)
	defer response.Body.Close()

	require.Equal(t, http.StatusOK, response.StatusCode)

	var stats omniflow.Stats
	require.NoError(t, json.NewDecoder(response.Body).Decode(&stats))

	return stats
}

// standInRecords fetches GET /__standin/batches/{id}/records and returns
// its status and, when 200, the records the stand-in accepted for the batch.
func (s *stack) standInRecords(t *testing.T, batchID string) (int, []omniflow.StoredRecord) {
	t.Helper()

	response, err := httpClient.Get(s.standInURL + "/__standin/batches/" + batchID + "/records")
	require.NoError(t, err)
	defer response.Body.Close()

	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	if response.StatusCode != http.StatusOK {
		return response.StatusCode, nil
	}

	var records []omniflow.StoredRecord
	require.NoError(t, json.Unmarshal(body, &records), "decoding %s", body)

	return response.StatusCode, records
}

// generateLeads writes n fake leads to a temporary file and returns the
// file's content and its records, decoded.
func generateLeads(t *testing.T, n int, opts importtest.GenerateOptions) ([]byte, []map[string]any) {
	t.Helper()

	path := filepath.Join(t.TempDir(), "leads.json")
	require.NoError(t, importtest.GenerateLeadsFile(path, n, opts))

	content, err := os.ReadFile(path)
	require.NoError(t, err)

	var records []map[string]any
	require.NoError(t, json.Unmarshal(content, &records))
	require.Len(t, records, n)

	return content, records
}

// decodeRecord decodes one record the stand-in kept.
func decodeRecord(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()

	var record map[string]any
	require.NoError(t, json.Unmarshal(raw, &record), "decoding record %s", raw)

	return record
}
