package imports

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/storage"
)

func TestPathInside(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "uploads")
	outside := filepath.Join(root, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(base, "batch"), 0o750))
	require.NoError(t, os.MkdirAll(outside, 0o750))
	require.NoError(t, os.Symlink(outside, filepath.Join(base, "linked-folder")))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "target.csv"), nil, 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "target.csv"), filepath.Join(base, "batch", "link.csv")))

	cases := []struct {
		name   string
		path   string
		inside bool
	}{
		{"file in a batch folder", filepath.Join(base, "batch", "leads.csv"), true},
		{"file in folders that do not exist", filepath.Join(base, "old", "batch", "leads.csv"), true},
		{"link inside to a file outside", filepath.Join(base, "batch", "link.csv"), true},
		{"storage folder itself", base, false},
		{"dot-dot out of the folder", filepath.Join(base, "batch", "..", "..", "outside", "target.csv"), false},
		{"sibling with the same prefix", base + "-old/leads.csv", false},
		{"folder linked outside", filepath.Join(base, "linked-folder", "target.csv"), false},
		{"other absolute path", filepath.Join(outside, "target.csv"), false},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inside, err := pathInside(base, tc.path)
			require.NoError(t, err)
			assert.Equal(t, tc.inside, inside, "path %s", tc.path)
		})
	}

	t.Run("base reached through a link", func(t *testing.T) {
		linkedBase := filepath.Join(root, "uploads-link")
		require.NoError(t, os.Symlink(base, linkedBase))

		inside, err := pathInside(linkedBase, filepath.Join(base, "batch", "leads.csv"))
		require.NoError(t, err)
		assert.True(t, inside)
	})
}

func TestWorkerRemoveFile(t *testing.T) {
	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	logs := &logBuffer{}
	w := &Worker{storage: files}
	log := zerolog.New(logs)

	t.Run("deletes the file of its own folder", func(t *testing.T) {
		id := database.NewUUID()
		saved, err := files.Save(id.String(), "leads.csv", bytesReader([]byte("phoneNumber\n1\n")), 0)
		require.NoError(t, err)

		w.removeFile(Batch{ID: id, UploadPath: saved.Path}, log)

		assert.NoFileExists(t, saved.Path)
		assert.NoDirExists(t, files.BatchDir(id.String()))
	})

	t.Run("keeps another batch's file", func(t *testing.T) {
		other := database.NewUUID()
		saved, err := files.Save(other.String(), "leads.csv", bytesReader([]byte("phoneNumber\n1\n")), 0)
		require.NoError(t, err)

		w.removeFile(Batch{ID: database.NewUUID(), UploadPath: saved.Path}, log)

		assert.FileExists(t, saved.Path, "a row pointing at another batch's file must not delete it")
	})

	t.Run("keeps a file outside the storage folder", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "leads.csv")
		require.NoError(t, os.WriteFile(outside, []byte("phoneNumber\n1\n"), 0o600))

		w.removeFile(Batch{ID: database.NewUUID(), UploadPath: outside}, log)

		assert.FileExists(t, outside)
		assert.NotEmpty(t, logs.lineWith(`"level":"warn"`, "outside its batch folder", `"upload_path":"`+outside+`"`))
	})
}
