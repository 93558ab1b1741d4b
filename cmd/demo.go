package cmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/jobs"
)

// demoClientID is the client the demo seeds.
const demoClientID = "demo"

type demoFlags struct {
	exit    bool
	verbose bool
	keep    bool
}

func newDemoCommand(flags *globalFlags, assets Assets) *cobra.Command {
	df := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a temporary SQLite database with a stand-in OmniFlow",
		Long: "Creates a temporary database and storage folder, starts the API, the worker and a stand-in " +
			"OmniFlow, uploads 1,000 sample leads through the HTTP API and shows the batch until it ends. " +
			"Then it keeps serving until Ctrl-C, or exits with --exit (status 0 only if the batch completed).",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, flags, df, assets)
		}),
	}
	cmd.Flags().BoolVar(&df.exit, "exit", false, "exit after the batch ends (non-zero unless it completed)")
	cmd.Flags().BoolVar(&df.verbose, "verbose", false, "show the service logs")
	cmd.Flags().BoolVar(&df.keep, "keep", false, "keep the temporary folder with the database")

	return cmd
}

func runDemo(cmd *cobra.Command, flags *globalFlags, df *demoFlags, assets Assets) error {
	out := cmd.OutOrStdout()
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()

	// The demo replaces the database, storage and OmniFlow settings with
	// its own, so only the checks of a tool apply to the environment and
	// the files.
	settings, err := loadSettings(cmd, flags, config.RoleTool)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "dataflow-demo-")
	if err != nil {
		return fmt.Errorf("creating demo folder: %w", err)
	}

	if !df.keep {
		defer os.RemoveAll(dir)
	}

	level := "Warning"
	if df.verbose {
		level = "Information"
	}

	settings.Logging.LogLevel.Default = level
	log, err := newLogger(settings)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	standInAddr, err := startDemoStandIn(ctx, &wg, log)
	if err != nil {
		return err
	}

	secret, err := randomSecret()
	if err != nil {
		return err
	}

	settings.Database.Provider = "sqlite"
	settings.ConnectionStrings.DataFlow = filepath.Join(dir, "dataflow.db")
	settings.ImportStorage.BasePath = filepath.Join(dir, "uploads")
	settings.OmniFlow.BaseUrl = "http://" + standInAddr
	settings.ImportBatch.PollIntervalSeconds = 0.5
	settings.ApplyMigrationsOnStartup = true
	settings.ClientSeed.Clients = []config.SeedClient{{Name: "Demo client", ClientIdentifier: demoClientID, Secret: secret}}

	a, err := buildApp(ctx, settings, log, appOptions{storage: true, worker: true})
	if err != nil {
		return err
	}
	defer a.close()

	if err := a.prepareSchema(ctx); err != nil {
		return err
	}

	if err := a.kernel.Seed(ctx); err != nil {
		return err
	}

	apiURL, err := startDemoAPI(ctx, &wg, a, assets.OpenAPI)
	if err != nil {
		return err
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		(&jobs.Runner{Log: log}).Run(ctx, a.kernel.Jobs()...)
	}()

	fmt.Fprintf(out, "DataFlow demo\n  folder:    %s\n  API:       %s\n  OmniFlow:  http://%s (stand-in)\n\n", dir, apiURL, standInAddr)

	status, err := uploadAndWatch(ctx, out, apiURL, secret, assets.SampleLeads)
	if err != nil {
		return err
	}

	if df.exit {
		if status != "Completed" {
			return fmt.Errorf("the demo batch ended %s", status)
		}

		return nil
	}

	samplePath := filepath.Join(dir, "leads-sample.json")
	if err := os.WriteFile(samplePath, assets.SampleLeads, 0o600); err != nil {
		return fmt.Errorf("writing the sample file: %w", err)
	}

	printTryMore(out, apiURL, secret, standInAddr, samplePath)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping")

	return nil
}

func startDemoStandIn(ctx context.Context, wg *sync.WaitGroup, log zerolog.Logger) (string, error) {
	ready := make(chan string, 1)
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfg := omniflow.StandInConfig{Latency: 60 * time.Millisecond, KeepRecords: false, Seed: 1}
		errs <- omniflow.RunStandIn(ctx, "127.0.0.1:0", cfg, log, func(addr string) { ready <- addr })
	}()

	select {
	case addr := <-ready:
		return addr, nil
	case err := <-errs:
		return "", fmt.Errorf("starting the OmniFlow stand-in: %w", err)
	case <-time.After(10 * time.Second):
		return "", errors.New("starting the OmniFlow stand-in: timed out")
	}
}

// startDemoAPI serves on 127.0.0.1:5000, or on a free port when 5000 is taken.
func startDemoAPI(ctx context.Context, wg *sync.WaitGroup, a *app, openAPI []byte) (string, error) {
	addr := "127.0.0.1:5000"
	if l, err := net.Listen("tcp", addr); err != nil {
		addr = "127.0.0.1:0"
	} else {
		_ = l.Close()
	}

	srv := a.httpServer(openAPI)
	ready := make(chan string, 1)
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- srv.Serve(ctx, []string{addr}, 5*time.Second, func(bound []string) { ready <- bound[0] })
	}()

	select {
	case bound := <-ready:
		return "http://" + bound, nil
	case err := <-errs:
		return "", err
	}
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating demo secret: %w", err)
	}

	return base64.RawURLEncoding.EncodeToString(b), nil
}

type demoStatus struct {
	Status           string  `json:"status"`
	TotalRecords     int     `json:"totalRecords"`
	ProcessedRecords int     `json:"processedRecords"`
	ImportedRecords  int     `json:"importedRecords"`
	FailedRecords    int     `json:"failedRecords"`
	SkippedRecords   int     `json:"skippedRecords"`
	ErrorSummary     *string `json:"errorSummary"`
}

// uploadAndWatch uploads the sample through the API and prints progress
// until the batch ends. It returns the final status.
func uploadAndWatch(ctx context.Context, out io.Writer, apiURL, secret string, sample []byte) (string, error) {
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, _ := form.CreateFormFile("file", "leads-sample.json")
	_, _ = part.Write(sample)
	_ = form.WriteField("originDefault", "dataflow-demo")
	_ = form.WriteField("requestedBy", "dataflow demo")
	_ = form.Close()

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/imports", &body)
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("X-Client-Id", demoClientID)
	req.Header.Set("X-Client-Secret", secret)

	var accepted struct {
		BatchID  string `json:"batchId"`
		Location string `json:"location"`
	}
	if err := doJSON(req, http.StatusAccepted, &accepted); err != nil {
		return "", fmt.Errorf("uploading the sample: %w", err)
	}

	fmt.Fprintf(out, "Uploaded leads-sample.json (%d bytes): batch %s\n", len(sample), accepted.BatchID)

	last := ""
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}

		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+accepted.Location, nil)
		req.Header.Set("X-Client-Id", demoClientID)
		req.Header.Set("X-Client-Secret", secret)

		var st demoStatus
		if err := doJSON(req, http.StatusOK, &st); err != nil {
			return "", fmt.Errorf("reading batch status: %w", err)
		}

		line := fmt.Sprintf("  %-20s %d/%d records processed", st.Status, st.ProcessedRecords, st.TotalRecords)
		if line != last {
			fmt.Fprintln(out, line)
			last = line
		}

		switch st.Status {
		case "Completed", "CompletedWithErrors", "Failed", "Cancelled":
			fmt.Fprintf(out, "%s: %d/%d records imported", st.Status, st.ImportedRecords, st.TotalRecords)
			if st.FailedRecords > 0 || st.SkippedRecords > 0 {
				fmt.Fprintf(out, ", %d failed, %d skipped", st.FailedRecords, st.SkippedRecords)
			}

			fmt.Fprintln(out)
			if st.ErrorSummary != nil {
				fmt.Fprintf(out, "  error summary: %s\n", *st.ErrorSummary)
			}

			return st.Status, nil
		}
	}
}

func doJSON(req *http.Request, want int, into any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}

	return json.Unmarshal(data, into)
}

func printTryMore(out io.Writer, apiURL, secret, standIn, samplePath string) {
	fmt.Fprintf(out, `
Try more while the demo runs (Ctrl-C stops it):

  curl -s -X POST %[1]s/imports \
    -H 'X-Client-Id: %[2]s' -H 'X-Client-Secret: %[3]s' \
    -F 'file=@%[5]s' -F 'originDefault=site'

  curl -s %[1]s/imports/BATCH_ID -H 'X-Client-Id: %[2]s' -H 'X-Client-Secret: %[3]s'

  curl -s http://%[4]s/__standin/stats
`, apiURL, demoClientID, secret, standIn, samplePath)
}
