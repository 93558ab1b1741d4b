package cmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

// Fixed inputs of BenchmarkStagingFormats.
const (
	benchFormatsChunkSize = 1000
	// benchFormatsWorkTarget is the worker's peak RSS, in MiB, that a file
	// of a million records must stay under in every format.
	benchFormatsWorkTarget = 150
)

// benchFormatsLeads are the file sizes, in records, of each format.
var benchFormatsLeads = []int{100_000, 1_000_000}

// benchFormatCase is one sub-benchmark of BenchmarkStagingFormats.
type benchFormatCase struct {
	format importtest.FileFormat
	leads  int
}

func (c benchFormatCase) name() string {
	return fmt.Sprintf("format=%s/leads=%d", c.format, c.leads)
}

// benchFormatFileOptions returns the options of the generated files: the
// compact columns, about 230 bytes a record as JSON, and semicolons in
// CSV, as Excel saves it in locales with a decimal comma (pt-BR). It is
// not sent with the upload, so the worker detects it.
func benchFormatFileOptions() importtest.FileOptions {
	return importtest.FileOptions{
		GenerateOptions: importtest.GenerateOptions{Seed: benchLeadSeed},
		Columns:         importtest.CompactColumns,
		Delimiter:       ';',
	}
}

// BenchmarkStagingFormats runs the pipeline of BenchmarkPipeline on the
// same leads written as a JSON array, NDJSON, CSV and XLSX (shared
// strings), at 100,000 and 1,000,000 records, with ImportBatch:ChunkSize
// 1000. Every sub-benchmark starts fresh processes on an empty database,
// so each peak RSS belongs to one format and size. Generating the file
// and starting the processes are not timed.
//
// Metrics: stage_records/s, records/s and deliver_records/s mean what they
// mean in BenchmarkPipeline. file_MB is the file size in 10^6 bytes.
// work_peak_MiB and serve_peak_MiB are VmHWM. work_CPU_s is the user plus
// system CPU time of the worker during the timed part, in seconds. After
// the large file of each format, the benchmark logs how the peak RSS grew
// from the small file.
//
// Run it with the first command below. A -bench pattern picks formats or
// sizes, as the second one shows. Its parts are matched separately, and
// the $ keeps leads=100000 from also matching leads=1000000.
//
//	go test ./cmd -run '^$' -bench StagingFormats -benchtime 1x -timeout 60m
//	go test ./cmd -run '^$' -bench 'StagingFormats/format=csv/leads=100000$' -benchtime 1x
func BenchmarkStagingFormats(b *testing.B) {
	binary := benchBuildBinary(b)
	filesDir := b.TempDir()

	peaks := map[benchFormatCase]benchPeaks{}
	for _, format := range importtest.FileFormats {
		for _, leads := range benchFormatsLeads {
			c := benchFormatCase{format: format, leads: leads}
			b.Run(c.name(), func(b *testing.B) {
				b.StopTimer()

				// b.Run calls this function again with a larger b.N unless
				// -benchtime is 1x, so the file is generated only once.
				path := filepath.Join(filesDir, fmt.Sprintf("leads-%d%s", c.leads, c.format.Extension()))
				if _, err := os.Stat(path); err != nil {
					require.NoError(b, importtest.GenerateLeadsFileAs(path, c.format, c.leads, benchFormatFileOptions()))
				}

				peaks[c] = benchRunFormatCase(b, binary, c, path)
				benchLogFormatMemoryGrowth(b, c, peaks)
			})
		}
	}
}

// benchRunFormatCase starts the stack for one case, imports the file b.N
// times and reports the metrics averaged over the runs.
func benchRunFormatCase(b *testing.B, binary string, c benchFormatCase, path string) benchPeaks {
	stack := benchStartStack(b, binary, benchFormatsChunkSize, false)

	var total benchImportResult
	for range b.N {
		workCPU := stack.work.cpuSeconds(b)

		b.StartTimer()
		result := stack.importFile(b, path, c.leads)
		b.StopTimer()

		result.workCPU = stack.work.cpuSeconds(b) - workCPU
		stack.checkDelivered(b, result.batchID, c.leads)
		total.add(result)
	}

	peaks := benchPeaks{serve: stack.serve.peakRSSMiB(b), work: stack.work.peakRSSMiB(b)}

	records := float64(c.leads) * float64(b.N)
	b.ReportMetric(records/total.staging.Seconds(), "stage_records/s")
	b.ReportMetric(records/total.endToEnd.Seconds(), "records/s")
	b.ReportMetric(records/total.delivery.Seconds(), "deliver_records/s")
	b.ReportMetric(float64(total.fileBytes)/1e6/float64(b.N), "file_MB")
	b.ReportMetric(peaks.work, "work_peak_MiB")
	b.ReportMetric(peaks.serve, "serve_peak_MiB")
	b.ReportMetric(total.workCPU/float64(b.N), "work_CPU_s")

	return peaks
}

// benchLogFormatMemoryGrowth logs, after the largest file of a format, how
// the peak RSS of work and serve changed from the smallest file, and a
// worker peak over benchFormatsWorkTarget. It logs from the sub-benchmark
// because Go prints the log of a benchmark that has sub-benchmarks only
// with -v. It does not fail the benchmark: ten times the records may add
// SQLite page cache and allocator slack, while a process that held the
// file or every record would grow by hundreds of MiB.
func benchLogFormatMemoryGrowth(b *testing.B, c benchFormatCase, peaks map[benchFormatCase]benchPeaks) {
	smallest, largest := benchFormatsLeads[0], benchFormatsLeads[len(benchFormatsLeads)-1]
	if c.leads != largest {
		return
	}

	large := peaks[c]
	if large.work >= benchFormatsWorkTarget {
		b.Logf("work peak RSS is %.1f MiB at %d leads, over the target of %d MiB", large.work, largest, benchFormatsWorkTarget)
	}

	small, ok := peaks[benchFormatCase{format: c.format, leads: smallest}]
	if !ok {
		return // a -bench pattern skipped the smallest file
	}

	b.Logf("peak RSS from %d to %d leads: work %.1f -> %.1f MiB (%+.1f MiB), serve %.1f -> %.1f MiB (%+.1f MiB)",
		smallest, largest, small.work, large.work, large.work-small.work, small.serve, large.serve, large.serve-small.serve)
}

// BenchmarkWorkerFormatsInProcess runs the worker inside the benchmark
// process, as BenchmarkWorkerInProcess does, on the files of
// BenchmarkStagingFormats, so that Go's CPU and heap profilers see the
// reader of each format. Its figures are not the published ones:
//
//	go test ./cmd -run '^$' -bench 'WorkerFormatsInProcess/format=xlsx/leads=1000000$' -benchtime 1x \
//	  -cpuprofile /tmp/cpu.out -o /tmp/cmd.test
//	go tool pprof -top -cum -focus 'imports.\(\*batchRun\).stage' /tmp/cmd.test /tmp/cpu.out
//
// A profile covers every sub-benchmark that runs, so pick one with the
// pattern.
func BenchmarkWorkerFormatsInProcess(b *testing.B) {
	binary := benchBuildBinary(b)
	filesDir := b.TempDir()

	for _, format := range importtest.FileFormats {
		for _, leads := range benchFormatsLeads {
			c := benchFormatCase{format: format, leads: leads}
			b.Run(c.name(), func(b *testing.B) {
				b.StopTimer()

				path := filepath.Join(filesDir, fmt.Sprintf("leads-%d%s", c.leads, c.format.Extension()))
				if _, err := os.Stat(path); err != nil {
					require.NoError(b, importtest.GenerateLeadsFileAs(path, c.format, c.leads, benchFormatFileOptions()))
				}

				stack := benchStartStack(b, binary, benchFormatsChunkSize, true)
				benchStartWorkerInProcess(b, stack)

				var total benchImportResult
				for range b.N {
					b.StartTimer()
					result := stack.importFile(b, path, c.leads)
					b.StopTimer()

					stack.checkDelivered(b, result.batchID, c.leads)
					total.add(result)
				}

				records := float64(c.leads) * float64(b.N)
				b.ReportMetric(records/total.staging.Seconds(), "stage_records/s")
				b.ReportMetric(records/total.endToEnd.Seconds(), "records/s")
			})
		}
	}
}
