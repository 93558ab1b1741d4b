package imports

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
)

// maxDryRunIssues bounds the records a dry run reports one by one.
const maxDryRunIssues = 100

// dryRunIssue is one record that would not be sent.
type dryRunIssue struct {
	Sequence   int    `json:"sequence"`
	SourceLine *int   `json:"sourceLine"`
	Status     string `json:"status"`
	Message    string `json:"message"`
}

// dryRunResponse is the 200 body of POST /imports?validate=only.
type dryRunResponse struct {
	DryRun         bool   `json:"dryRun"`
	Valid          bool   `json:"valid"`
	FileName       string `json:"fileName"`
	FileType       string `json:"fileType"`
	FileSizeBytes  int64  `json:"fileSizeBytes"`
	Checksum       string `json:"checksum"`
	TotalRecords   int    `json:"totalRecords"`
	ValidRecords   int    `json:"validRecords"`
	ErrorRecords   int    `json:"errorRecords"`
	SkippedRecords int    `json:"skippedRecords"`
	// Issues lists the first records that would end Error or Skipped.
	Issues []dryRunIssue `json:"issues"`
	// FileError is the reason the whole file would fail, null when it can
	// be read.
	FileError *string `json:"fileError"`
}

// dryRun reads and checks the uploaded file as the worker would, and
// reports what would happen. Nothing is stored and nothing is sent; the
// caller removes the file.
func (h *handlers) dryRun(c echo.Context, b Batch) error {
	f, err := os.Open(b.UploadPath)
	if err != nil {
		return fmt.Errorf("opening uploaded file: %w", err)
	}
	defer f.Close()

	resp := dryRunResponse{DryRun: true, FileName: b.FileName, FileType: b.FileType, FileSizeBytes: b.FileSizeBytes,
		Checksum: b.Checksum, Issues: []dryRunIssue{}}
	total, err := h.reading.scan(f, b, h.now().UTC(), func(item Item) error {
		switch item.Status {
		case ItemError:
			resp.ErrorRecords++
		case ItemSkipped:
			resp.SkippedRecords++
		default:
			resp.ValidRecords++

			return nil
		}

		if len(resp.Issues) < maxDryRunIssues {
			resp.Issues = append(resp.Issues, dryRunIssue{Sequence: item.Sequence, SourceLine: item.SourceLine, Status: item.Status,
				Message: *item.ErrorMessage})
		}

		return nil
	})

	var fileErr *FileError
	switch {
	case errors.As(err, &fileErr):
		message := fileErr.Error()
		resp.FileError = &message
	case err != nil:
		return err
	}

	resp.TotalRecords = total
	resp.Valid = resp.FileError == nil && resp.ErrorRecords == 0

	return c.JSON(http.StatusOK, resp)
}
